//! Against a real RabbitMQ: `ADPIPE_TEST_AMQP_URL`, by default
//! amqp://guest:guest@127.0.0.1:5672/%2f. Without one these tests fail:
//! a queue that was never exercised is not a queue that works.
//!
//! Every test uses queues of its own, deleted afterwards even when it fails.

mod support;

use std::time::Duration;

use adpipe_core::AdId;
use adpipe_queue::{AmqpConfig, Consumer, Delivery, MessageError, Publisher, QueueError};
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use tokio::time::{Instant, sleep};

use support::{Proxy, ack_all, log, publish_all, receive, sorted_ids, with_broker};

#[tokio::test]
async fn ids_arrive_once_in_batches_of_at_most_the_prefetch() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        let mut ids = publish_all(&publisher, 20).await;
        ids.sort();
        broker.wait_for_depth(&broker.config.queue, 20).await;
        assert_eq!(publisher.depth().await, Ok(20));

        // As the worker does: each batch acked before asking for the next,
        // since the prefetch counts unacked deliveries.
        let mut consumer = broker.consumer(8);
        let mut received = Vec::new();
        let mut sizes = Vec::new();
        while received.len() < 20 && sizes.len() < 20 {
            let batch = consumer
                .next_batch(8, Duration::from_millis(200), Duration::from_secs(2))
                .await;
            assert!(!batch.is_empty(), "ran dry after {received:?}");
            sizes.push(batch.len());
            for delivery in batch {
                assert!(!delivery.redelivered());
                received.push(delivery.ad_id().expect("a valid id"));
                delivery.ack().await.expect("ack");
            }
        }
        assert!(consumer.is_connected());
        assert!(sizes.iter().all(|&size| size <= 8), "batch sizes {sizes:?}");
        assert!(sizes.contains(&8), "never a full batch: {sizes:?}");
        received.sort();
        assert_eq!(received, ids, "every id exactly once");

        // Closing would return unacked messages: an empty queue after it
        // proves the acks took.
        consumer.close().await;
        assert!(!consumer.is_connected());
        broker.wait_for_depth(&broker.config.queue, 0).await;
        assert_eq!(publisher.depth().await, Ok(0));
        publisher.close().await;
        assert!(matches!(
            publisher.publish(AdId::new()).await,
            Err(QueueError::Unavailable(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_handlers_can_publish_concurrently() {
    with_broker(|broker| async move {
        // Lazy, so the first publishes also race to connect.
        let publisher = Publisher::new(broker.config.clone());
        let handlers: Vec<_> = (0..50)
            .map(|_| {
                let publisher = publisher.clone();
                tokio::spawn(async move { publish_all(&publisher, 4).await })
            })
            .collect();
        let mut ids = Vec::new();
        for handler in handlers {
            ids.extend(handler.await.expect("a handler panicked"));
        }
        assert_eq!(ids.len(), 200);
        broker.wait_for_depth(&broker.config.queue, 200).await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_killed_worker_s_messages_are_redelivered() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        let mut ids = publish_all(&publisher, 5).await;
        ids.sort();

        let mut worker = broker.consumer(16);
        let unfinished: Vec<Delivery> = receive(&mut worker, 5, 16)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(sorted_ids(&unfinished), ids);
        // Killed mid-batch: no ack, no close. The deliveries outlive it, as
        // a half-finished batch would.
        drop(worker);

        let mut next = broker.consumer(16);
        let again: Vec<Delivery> = receive(&mut next, 5, 16)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(sorted_ids(&again), ids);
        assert!(again.iter().all(Delivery::redelivered));
        for stale in unfinished {
            assert!(
                matches!(stale.ack().await, Err(QueueError::Unavailable(_))),
                "an ack on a dead connection must fail"
            );
        }
        ack_all(again).await;
        next.close().await;
        broker.wait_for_depth(&broker.config.queue, 0).await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn requeue_and_close_give_messages_back() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        let ids = publish_all(&publisher, 2).await;

        let mut consumer = broker.consumer(1);
        let mut batch = consumer
            .next_batch(1, Duration::from_millis(50), Duration::from_secs(2))
            .await;
        let first = batch.pop().expect("a delivery");
        assert_eq!(first.ad_id(), Ok(ids[0]));
        first.requeue().await.expect("requeue");
        let mut batch = consumer
            .next_batch(1, Duration::from_millis(50), Duration::from_secs(2))
            .await;
        let again = batch.pop().expect("the requeued delivery");
        assert_eq!(again.ad_id(), Ok(ids[0]));
        assert!(again.redelivered());

        // Shut down holding it, unacked.
        consumer.close().await;
        broker.wait_for_depth(&broker.config.queue, 2).await;
        drop(again);
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_messages_are_surfaced_and_dead_lettered() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await; // declares the queues
        broker.publish_raw(b"not json").await;
        let id = publish_all(&publisher, 1).await[0];

        let mut consumer = broker.consumer(16);
        let batch: Vec<Delivery> = receive(&mut consumer, 2, 16)
            .await
            .into_iter()
            .flatten()
            .collect();
        for delivery in batch {
            match delivery.ad_id() {
                Ok(got) => {
                    assert_eq!(got, id);
                    delivery.ack().await.expect("ack");
                }
                Err(err) => {
                    assert!(matches!(err, MessageError::Malformed(_)), "{err}");
                    delivery.dead_letter().await.expect("dead-letter");
                }
            }
        }
        broker.wait_for_depth(&broker.dead(), 1).await;
        broker.wait_for_depth(&broker.config.queue, 0).await;

        let dead = broker
            .channel
            .basic_get(
                broker.dead().as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
            .expect("the dead-lettered message");
        assert_eq!(dead.delivery.data, b"not json");
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn messages_are_persistent_and_queues_durable() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        let id = publish_all(&publisher, 1).await[0];

        let message = broker
            .channel
            .basic_get(
                broker.config.queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
            .expect("the published message");
        let properties = &message.delivery.properties;
        assert_eq!(properties.delivery_mode(), &Some(2), "persistent");
        assert_eq!(
            properties.content_type().as_ref().map(|s| s.as_str()),
            Some("application/json")
        );
        assert_eq!(
            properties.message_id().as_ref().map(|s| s.to_string()),
            Some(id.to_string())
        );
        assert_eq!(adpipe_queue::decode(&message.delivery.data), Ok(id));

        // RabbitMQ compares a redeclaration with what exists: the same
        // settings pass, anything else is PRECONDITION_FAILED.
        let mut quorum = FieldTable::default();
        quorum.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        let mut dead_lettering = quorum.clone();
        dead_lettering.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        dead_lettering.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(broker.dead().as_str().into()),
        );
        dead_lettering.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(broker.config.delivery_limit)),
        );
        let transient = QueueDeclareOptions::default();
        for (queue, arguments) in [
            (broker.config.queue.clone(), dead_lettering.clone()),
            (broker.dead(), quorum.clone()),
        ] {
            let channel = broker.fresh_channel().await;
            let same = channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::durable(),
                    arguments.clone(),
                )
                .await;
            assert!(same.is_ok(), "{queue}: {same:?}");
            let err = channel
                .queue_declare(queue.as_str().into(), transient, arguments)
                .await
                .expect_err("redeclared as transient");
            assert!(
                err.to_string().contains("PRECONDITION_FAILED"),
                "{queue} is not durable: {err}"
            );
        }
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_empty_queue_returns_an_empty_batch_after_idle() {
    with_broker(|broker| async move {
        let mut consumer = broker.consumer(8);
        // The first call also connects.
        let batch = consumer
            .next_batch(8, Duration::from_millis(100), Duration::from_millis(300))
            .await;
        assert!(batch.is_empty());
        for _ in 0..2 {
            let started = Instant::now();
            let batch = consumer
                .next_batch(8, Duration::from_millis(100), Duration::from_millis(300))
                .await;
            let took = started.elapsed();
            assert!(batch.is_empty());
            assert!(consumer.is_connected());
            assert!(
                took >= Duration::from_millis(250),
                "returned after {took:?}"
            );
            assert!(took < Duration::from_secs(2), "returned after {took:?}");
        }
        consumer.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_publisher_without_broker_fails_fast_without_leaking_the_password() {
    log();
    let mut config = AmqpConfig::new("amqp://adpipe:s3cret@127.0.0.1:1/%2f");
    config.connect_timeout = Duration::from_secs(2);
    let limit = config.connect_timeout + Duration::from_secs(1);

    let started = Instant::now();
    let err = Publisher::connect(config.clone())
        .await
        .expect_err("connected to port 1");
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_unavailable_and_redacted(&err);

    let publisher = Publisher::new(config);
    for _ in 0..3 {
        let started = Instant::now();
        let err = publisher
            .publish(AdId::new())
            .await
            .expect_err("published to port 1");
        assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
        assert_unavailable_and_redacted(&err);
    }
    // Within the backoff it does not even try, and says so.
    let err = publisher.depth().await.expect_err("depth from port 1");
    assert_unavailable_and_redacted(&err);
    assert!(err.to_string().contains("next attempt in"), "{err}");
}

fn assert_unavailable_and_redacted(err: &QueueError) {
    assert!(matches!(err, QueueError::Unavailable(_)), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("adpipe:***@127.0.0.1:1"), "{text}");
    }
}

#[tokio::test]
async fn a_consumer_without_broker_stays_responsive() {
    log();
    let mut config = AmqpConfig::new("amqp://adpipe:s3cret@127.0.0.1:1/%2f");
    config.queue = format!("adpipe.test.{}", AdId::new());
    let mut consumer = Consumer::new(config);
    for _ in 0..4 {
        let started = Instant::now();
        let batch = consumer
            .next_batch(8, Duration::from_millis(100), Duration::from_millis(300))
            .await;
        assert!(batch.is_empty());
        assert!(!consumer.is_connected());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
    consumer.close().await;
}

#[tokio::test]
async fn the_publisher_reconnects_after_losing_its_connection() {
    with_broker(|broker| async move {
        let proxy = Proxy::start(&broker.config.url).await;
        let mut config = broker.config.clone();
        config.url = proxy.url.clone();
        let publisher = Publisher::connect(config)
            .await
            .expect("connect through the proxy");
        publish_all(&publisher, 1).await;

        proxy.cut();
        sleep(Duration::from_millis(100)).await;
        publish_all(&publisher, 1).await;
        proxy.cut();
        // No pause this time: the publish may race the client noticing.
        publish_all(&publisher, 1).await;
        broker.wait_for_depth(&broker.config.queue, 3).await;
        assert_eq!(publisher.depth().await, Ok(3));
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_queue_is_declared_again_instead_of_losing_messages() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        broker.delete_queues().await;
        // Mandatory: RabbitMQ returns the unroutable message rather than
        // dropping it, and the publisher redeclares and publishes again.
        let id = publish_all(&publisher, 1).await[0];
        broker.wait_for_depth(&broker.config.queue, 1).await;
        let mut consumer = broker.consumer(8);
        let batch = receive(&mut consumer, 1, 8).await.remove(0);
        assert_eq!(sorted_ids(&batch), [id]);
        ack_all(batch).await;
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_consumer_reconnects_and_gets_the_lost_batch_again() {
    with_broker(|broker| async move {
        let publisher = broker.publisher().await;
        let mut ids = publish_all(&publisher, 3).await;
        ids.sort();

        let proxy = Proxy::start(&broker.config.url).await;
        let mut config = broker.config.clone();
        config.url = proxy.url.clone();
        let mut consumer = Consumer::new(config);
        let lost: Vec<Delivery> = receive(&mut consumer, 3, 8)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(sorted_ids(&lost), ids);

        proxy.cut();
        let again: Vec<Delivery> = receive(&mut consumer, 3, 8)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert!(consumer.is_connected());
        assert_eq!(sorted_ids(&again), ids);
        assert!(again.iter().all(Delivery::redelivered));
        for stale in lost {
            assert!(matches!(stale.ack().await, Err(QueueError::Unavailable(_))));
        }
        ack_all(again).await;
        consumer.close().await;
        broker.wait_for_depth(&broker.config.queue, 0).await;
        publisher.close().await;
    })
    .await;
}
