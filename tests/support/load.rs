//! A steady stream of submissions and the count afterwards: every accepted
//! ad decided exactly once, with exactly one email. Shared by the fault,
//! disk and chaos tests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Api, Catcher, fixture};

/// The photos the load sends in turn: two vehicles, two others, JPEG and PNG.
pub const PHOTOS: [&str; 4] = [
    "vehicle/car_rear_motionblur.jpg",
    "other/cat_chelsea.png",
    "vehicle/boats_nagasaki.jpg",
    "other/coffee_cup.png",
];

#[derive(Default)]
pub struct Load {
    /// Accepted ads and their submitters.
    pub accepted: Vec<(String, String)>,
    /// Refused submissions by HTTP status (0: no answer).
    pub refused: BTreeMap<u16, usize>,
}

/// Submits `rate` ads a second for `duration`, each from its own address.
pub async fn steady_load(api: &Api, domain: &str, rate: u32, duration: Duration) -> Load {
    let mut load = Load::default();
    let started = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < duration {
        let email = format!("u{sent}@{domain}");
        let photo = fixture(PHOTOS[sent as usize % PHOTOS.len()]);
        match api.try_submit("Ad under fire", &email, &photo).await {
            Ok((202, body)) => load
                .accepted
                .push((body["id"].as_str().expect("id").to_owned(), email)),
            Ok((status, _)) => *load.refused.entry(status).or_default() += 1,
            Err(_) => *load.refused.entry(0).or_default() += 1,
        }
        sent += 1;
        let next = Duration::from_secs_f64(f64::from(sent) / f64::from(rate));
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    load
}

pub struct Tally {
    pub decided: usize,
    pub pending: usize,
    pub emails: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// Of `duplicates`, the copies of an email sent before (the same
    /// Message-ID): SMTP is at-least-once, so a sender that dies, or loses
    /// its connection, between the server's "250 OK" and recording the email
    /// as sent sends it again. A mailbox shows such copies once.
    pub resent: usize,
}

/// Waits until every accepted ad is decided and its email arrived (or the
/// time is up), then counts.
pub async fn tally(api: &Api, load: &Load, within: Duration) -> Tally {
    let catcher = Catcher::new();
    let started = Instant::now();
    loop {
        let mut decided = 0;
        for (id, _) in &load.accepted {
            let public = api.status(id).await;
            if matches!(
                public["status"].as_str(),
                Some("approved" | "rejected" | "failed")
            ) {
                decided += 1;
            }
        }
        let mut emails = 0;
        let mut duplicates = 0;
        let mut missing = 0;
        let all = catcher.all_messages().await;
        let mut several = Vec::new();
        for (_, email) in &load.accepted {
            let to_this: Vec<&Value> = all
                .iter()
                .filter(|message| {
                    message["recipients"]
                        .as_array()
                        .is_some_and(|to| to.iter().any(|address| address == email.as_str()))
                })
                .collect();
            emails += to_this.len().min(1);
            duplicates += to_this.len().saturating_sub(1);
            missing += usize::from(to_this.is_empty());
            if to_this.len() > 1 {
                several.push(to_this);
            }
        }
        let done = decided == load.accepted.len() && missing == 0;
        if done || started.elapsed() > within {
            let mut resent = 0;
            for messages in several {
                let mut ids = BTreeSet::new();
                for message in &messages {
                    // No header: counted as a distinct email.
                    let id = catcher.message_id_header(&message["id"]).await;
                    ids.insert(id.unwrap_or_else(|| message["id"].to_string()));
                }
                resent += messages.len() - ids.len();
            }
            return Tally {
                decided,
                pending: load.accepted.len() - decided,
                emails,
                lost: load.accepted.len() - decided.min(emails),
                duplicates,
                resent,
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints the count and checks it. `cuts` is how many times the test cut
/// a sender off (a SIGKILL, the SMTP server killed): each may leave one
/// email sent but not recorded, sent again with the same Message-ID
/// (SMTP is at-least-once). A second email with another Message-ID is
/// always a failure.
pub fn report(name: &str, load: &Load, tally: &Tally, cuts: usize) {
    eprintln!(
        "FAULT {name}: accepted={} decided={} pending={} emails={} lost={} duplicate_emails={} \
         resent_copies={} cuts={cuts} refused={:?}",
        load.accepted.len(),
        tally.decided,
        tally.pending,
        tally.emails,
        tally.lost,
        tally.duplicates - tally.resent,
        tally.resent,
        load.refused
    );
    assert!(!load.accepted.is_empty(), "{name}: nothing was accepted");
    assert_eq!(tally.lost, 0, "{name}: ads lost");
    assert_eq!(tally.pending, 0, "{name}: ads stuck pending");
    assert_eq!(
        tally.duplicates - tally.resent,
        0,
        "{name}: second emails with another Message-ID"
    );
    assert!(
        tally.resent <= cuts,
        "{name}: {} copies resent after {cuts} cuts",
        tally.resent
    );
}
