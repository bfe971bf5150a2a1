//! A RabbitMQ connection ready for one role: its channel set up (confirms
//! for the publisher, the prefetch for the consumer) and the topology
//! declared.

use std::time::Duration;

use lapin::options::{BasicQosOptions, ConfirmSelectOptions};
use lapin::{Channel, Connection};
use tokio::time::{Instant, timeout, timeout_at};

use crate::amqp::{Role, connect, error};
use crate::{AmqpConfig, QueueError, redact_url, topology};

/// One connection and the channel we use on it.
pub(crate) struct Link {
    pub(crate) connection: Connection,
    pub(crate) channel: Channel,
}

impl Link {
    /// Connects, opens a channel set up for `role` and declares the
    /// topology, all within `connect_timeout`.
    pub(crate) async fn open(config: &AmqpConfig, role: Role) -> Result<Self, QueueError> {
        let deadline = Instant::now() + config.connect_timeout;
        let connection = connect(config, role, deadline).await?;
        let setup = async {
            let channel = connection
                .create_channel()
                .await
                .map_err(|err| error(&err, config, "opening a channel"))?;
            match role {
                Role::Publisher => channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await
                    .map_err(|err| error(&err, config, "enabling publisher confirms"))?,
                Role::Consumer => channel
                    .basic_qos(config.prefetch.max(1), BasicQosOptions::default())
                    .await
                    .map_err(|err| error(&err, config, "setting the prefetch"))?,
                Role::Migration => {}
            }
            topology::declare(&channel, config).await?;
            Ok(channel)
        };
        // On failure, dropping `connection` closes it.
        let Ok(channel) = timeout_at(deadline, setup).await else {
            return Err(QueueError::Unavailable(format!(
                "{} accepted the connection but did not set up the queues within {:?}",
                redact_url(&config.url),
                config.connect_timeout,
            )));
        };
        Ok(Self {
            connection,
            channel: channel?,
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Closes gracefully, giving up after `limit`: this runs on shutdown,
    /// which a hung broker must not hold up.
    pub(crate) async fn close(&self, limit: Duration) {
        let close = async {
            // Failures only mean it is already closed.
            let _ = self.channel.close(200, "OK".into()).await;
            let _ = self.connection.close(200, "OK".into()).await;
        };
        let _ = timeout(limit, close).await;
    }
}
