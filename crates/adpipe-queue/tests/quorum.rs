//! The queues are quorum queues, against the machine's RabbitMQ
//! (`ADPIPE_TEST_AMQP_URL`, by default amqp://guest:guest@127.0.0.1:5672/%2f):
//! a message handed back again and again is dead-lettered at the delivery
//! limit instead of looping, and a classic queue left by an earlier adpipe
//! is named in the error and replaced by `migrate_classic_queues`.
//!
//! Every test uses queues of its own, deleted afterwards even when it fails.

mod support;

use std::time::Duration;

use adpipe_queue::{Delivery, Publisher, QueueError, migrate_classic_queues};
use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};

use support::{publish_all, with_broker};

async fn next(consumer: &mut adpipe_queue::Consumer) -> Option<Delivery> {
    consumer
        .next_batch(1, Duration::from_millis(20), Duration::from_secs(2))
        .await
        .pop()
}

#[tokio::test]
async fn a_message_handed_back_too_often_is_dead_lettered_not_looped() {
    with_broker(|broker| async move {
        let mut config = broker.config.clone();
        config.delivery_limit = 2;
        let publisher = Publisher::connect(config.clone()).await.expect("connect");
        let id = publish_all(&publisher, 1).await[0];

        let mut consumer = adpipe_queue::Consumer::new(config);
        let mut deliveries = 0;
        while let Some(delivery) = next(&mut consumer).await {
            assert_eq!(delivery.ad_id(), Ok(id));
            deliveries += 1;
            assert!(deliveries <= 10, "still delivered after {deliveries} times");
            delivery.requeue().await.expect("requeue");
        }
        // The first delivery and two returns; the third return goes to the
        // dead-letter queue.
        assert_eq!(
            deliveries, 3,
            "delivered {deliveries} times with a limit of 2"
        );
        broker.wait_for_depth(&broker.config.queue, 0).await;
        broker.wait_for_depth(&broker.dead(), 1).await;
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_classic_queue_from_an_earlier_version_is_named_then_replaced() {
    with_broker(|broker| async move {
        // What an adpipe before quorum queues declared, with an id waiting.
        let mut dead_lettering = FieldTable::default();
        dead_lettering.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        dead_lettering.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(broker.dead().as_str().into()),
        );
        for (queue, arguments) in [
            (broker.dead(), FieldTable::default()),
            (broker.config.queue.clone(), dead_lettering),
        ] {
            broker
                .channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::durable(),
                    arguments,
                )
                .await
                .expect("declare a classic queue");
        }
        broker.publish_raw(b"{\"id\":\"old\"}").await;

        let refused = Publisher::connect(broker.config.clone())
            .await
            .expect_err("a classic queue cannot be used");
        let QueueError::Protocol(message) = &refused else {
            panic!("{refused:?}");
        };
        assert!(message.contains("classic queue"), "{message}");
        assert!(message.contains("adpipe migrate"), "{message}");

        // Refused while an old worker still consumes from it.
        let old_worker = broker.fresh_channel().await;
        let consuming = old_worker
            .basic_consume(
                broker.config.queue.as_str().into(),
                "old-worker".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        let busy = migrate_classic_queues(&broker.config)
            .await
            .expect_err("a consumer is attached");
        assert!(busy.to_string().contains("consumer"), "{busy}");
        drop(consuming);
        old_worker.close(200, "OK".into()).await.expect("close");

        let replaced = migrate_classic_queues(&broker.config)
            .await
            .expect("replaced");
        assert_eq!(replaced.len(), 2, "{replaced:?}");
        assert!(replaced[0].contains("1 message"), "{replaced:?}");

        // Now the publisher works, and running it again changes nothing.
        let publisher = Publisher::connect(broker.config.clone())
            .await
            .expect("quorum queues in place");
        publish_all(&publisher, 1).await;
        broker.wait_for_depth(&broker.config.queue, 1).await;
        assert_eq!(migrate_classic_queues(&broker.config).await, Ok(Vec::new()));
        publisher.close().await;
    })
    .await;
}
