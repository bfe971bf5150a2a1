//! The queues adpipe declares on RabbitMQ, and the replacement of classic
//! queues that an adpipe from before quorum queues left behind.

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};
use tokio::time::{Instant, timeout};

use crate::amqp::{self, Role, error};
use crate::{AmqpConfig, QueueError};

/// Both queues are quorum queues: durable and replicated, RabbitMQ's
/// recommended type since 3.8, and the only one with a delivery limit. The
/// dead-letter queue first, so that a rejected message never finds it
/// missing. Arguments must be the same in every declaration, or RabbitMQ
/// answers PRECONDITION_FAILED.
pub(crate) async fn declare(channel: &Channel, config: &AmqpConfig) -> Result<(), QueueError> {
    for (queue, arguments) in queues(config) {
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                arguments,
            )
            .await
            .map_err(|err| declare_error(&err, config, &queue))?;
    }
    Ok(())
}

/// The dead-letter queue and the work queue, with their arguments.
fn queues(config: &AmqpConfig) -> [(String, FieldTable); 2] {
    let dead = config.dead_letter_queue();
    let mut work = quorum();
    work.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    work.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(dead.as_str().into()),
    );
    work.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(i64::from(config.delivery_limit)),
    );
    [(dead, quorum()), (config.queue.clone(), work)]
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

/// RabbitMQ's answer to declaring a quorum queue where a classic one of
/// that name exists: "inequivalent arg 'x-queue-type' …".
fn is_other_queue_type(err: &lapin::Error) -> bool {
    err.to_string().contains("x-queue-type")
}

fn declare_error(err: &lapin::Error, config: &AmqpConfig, queue: &str) -> QueueError {
    if is_other_queue_type(err) {
        return QueueError::Protocol(format!(
            "queue {queue:?} exists as a classic queue (made by an adpipe from before quorum \
             queues); stop every adpipe api and worker and run `adpipe migrate`, which replaces \
             it: the ads whose ids it holds are still pending in the database and are \
             published again"
        ));
    }
    match error(err, config, &format!("declaring queue {queue:?}")) {
        QueueError::Protocol(text) => QueueError::Protocol(format!(
            "{text}; if the queue exists with other settings, delete it (adpipe declares it \
             again) or use another queue name"
        )),
        other => other,
    }
}

/// Replaces classic queues of adpipe's names by quorum queues, for
/// `adpipe migrate`, and declares the topology. Refuses while anything
/// consumes from a classic one (a worker of the earlier version still
/// running). The ids in a replaced queue are dropped: the database is the
/// source of truth, and the sweep publishes every pending ad again once the
/// queue is empty (or its lease has run out). Returns a line per replaced
/// queue.
pub async fn migrate_classic_queues(config: &AmqpConfig) -> Result<Vec<String>, QueueError> {
    let deadline = Instant::now() + config.connect_timeout;
    let connection = amqp::connect(config, Role::Migration, deadline).await?;
    let outcome = timeout(config.connect_timeout * 4, replace(&connection, config)).await;
    let _ = timeout(config.connect_timeout, connection.close(200, "OK".into())).await;
    outcome.unwrap_or_else(|_| {
        Err(QueueError::Unavailable(format!(
            "RabbitMQ did not finish replacing the queues within {:?}",
            config.connect_timeout * 4
        )))
    })
}

async fn replace(connection: &Connection, config: &AmqpConfig) -> Result<Vec<String>, QueueError> {
    let mut replaced = Vec::new();
    // The work queue first: it names the dead-letter queue.
    for (queue, arguments) in queues(config).into_iter().rev() {
        // Each probe on a channel of its own: a refused declare closes it.
        let channel = open_channel(connection, config).await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let existing = match channel
            .queue_declare(queue.as_str().into(), passive, FieldTable::default())
            .await
        {
            Ok(existing) => existing,
            Err(err) if err.to_string().contains("NOT_FOUND") => continue,
            Err(err) => return Err(error(&err, config, &format!("looking at queue {queue:?}"))),
        };
        let channel = open_channel(connection, config).await?;
        match channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                arguments,
            )
            .await
        {
            Ok(_) => continue, // already a quorum queue
            Err(err) if is_other_queue_type(&err) => {}
            Err(err) => return Err(declare_error(&err, config, &queue)),
        }
        if existing.consumer_count() > 0 {
            return Err(QueueError::Protocol(format!(
                "queue {queue:?} is a classic queue with {} consumer(s): stop every adpipe \
                 worker (and api) of the earlier version, then run `adpipe migrate` again",
                existing.consumer_count()
            )));
        }
        let channel = open_channel(connection, config).await?;
        let dropped = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .map_err(|err| error(&err, config, &format!("deleting queue {queue:?}")))?;
        replaced.push(format!(
            "replaced the classic queue {queue:?} by a quorum queue ({dropped} message(s) \
             dropped; their ads are pending in the database and are published again)"
        ));
    }
    let channel = open_channel(connection, config).await?;
    declare(&channel, config).await?;
    Ok(replaced)
}

async fn open_channel(connection: &Connection, config: &AmqpConfig) -> Result<Channel, QueueError> {
    connection
        .create_channel()
        .await
        .map_err(|err| error(&err, config, "opening a channel"))
}
