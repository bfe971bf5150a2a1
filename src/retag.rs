//! `adpipe retag`: judges stored ads again with the model and policy
//! configured now (after a model or policy change), records each new
//! decision with its model and policy, and says what changed.
//!
//! Safe beside running workers and other retags: a pending ad is taken the
//! way a worker takes it (one a worker holds is left to it), and every
//! write is conditional on the row being as it was read, so no ad is
//! decided twice. Emails go through the workers' path: an ad is made due
//! and the email claimed, sent and marked; those that cannot be sent now
//! stay due for the workers' mail loop.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use adpipe_core::{AdId, Status};
use adpipe_notify::Mailer;
use adpipe_store::db::AdFilter;
use adpipe_store::{AdRecord, Database, DbError, now_millis};
use adpipe_tagger::Moderator;
use adpipe_worker::{EmailTally, Judgement, Rejudge, send_due_emails};
use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Config;
use crate::service;

/// Rows read at a time; they are classified `--batch-size` at a time.
const PAGE: u32 = 256;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, clap::Args)]
pub struct RetagArgs {
    /// Only ads in these statuses (repeatable, or a comma list) [default:
    /// all but in_review: an ad waiting for a person is left to the person
    /// unless asked for].
    #[arg(
        long = "status",
        value_enum,
        value_delimiter = ',',
        value_name = "STATUS"
    )]
    statuses: Vec<StatusArg>,
    /// Only ads submitted at or after this time: RFC 3339
    /// (2024-05-01T12:00:00Z) or a date (2024-05-01, from its start, UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    since: Option<i64>,
    /// Only ads submitted before this time: RFC 3339, or a date (2024-05-31:
    /// up to the end of that day, UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    until: Option<i64>,
    /// Images per run of the model [default: the worker's batch size].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: Option<u16>,
    /// Email the submitters of ads whose outcome changed. (Ads whose
    /// submitter never heard, e.g. pending ones, are emailed anyway, as a
    /// worker would.)
    #[arg(long)]
    notify: bool,
    /// Report what would change; write nothing, send nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    Pending,
    Approved,
    Rejected,
    #[value(name = "in_review", alias = "in-review")]
    InReview,
    Failed,
}

impl From<StatusArg> for Status {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Pending => Status::Pending,
            StatusArg::Approved => Status::Approved,
            StatusArg::Rejected => Status::Rejected,
            StatusArg::InReview => Status::InReview,
            StatusArg::Failed => Status::Failed,
        }
    }
}

fn parse_since(text: &str) -> Result<i64, String> {
    parse_time(text, false)
}

fn parse_until(text: &str) -> Result<i64, String> {
    parse_time(text, true)
}

/// Unix milliseconds of an RFC 3339 time, or of the start of a date (UTC);
/// with `end_of_day`, a date means the start of the day after it.
fn parse_time(text: &str, end_of_day: bool) -> Result<i64, String> {
    const FORMS: &str =
        "an RFC 3339 time such as 2024-05-01T12:00:00Z or a date such as 2024-05-01";
    let parsed: toml::value::Datetime = text
        .trim()
        .parse()
        .map_err(|_| format!("expected {FORMS}"))?;
    let Some(date) = parsed.date else {
        return Err(format!("a time needs its date: expected {FORMS}"));
    };
    let days = adpipe_core::time::days_from_civil(i64::from(date.year), date.month, date.day);
    match (parsed.time, parsed.offset) {
        (None, _) => Ok((days + i64::from(end_of_day)) * DAY_MS),
        (Some(time), Some(offset)) => {
            let offset_minutes = match offset {
                toml::value::Offset::Z => 0,
                toml::value::Offset::Custom { minutes } => i64::from(minutes),
            };
            let seconds = days * 86_400
                + i64::from(time.hour) * 3600
                + i64::from(time.minute) * 60
                + i64::from(time.second.unwrap_or(0))
                - offset_minutes * 60;
            Ok(seconds * 1000 + i64::from(time.nanosecond.unwrap_or(0) / 1_000_000))
        }
        (Some(_), None) => Err(format!(
            "{text:?} has no time zone: add Z (UTC) or an offset such as +02:00"
        )),
    }
}

/// Loads the model, then judges every matching ad. Returns whether every
/// ad could be judged.
pub fn run(config: &Config, args: RetagArgs) -> anyhow::Result<bool> {
    let moderator = Arc::new(service::load_moderator(config)?);
    service::runtime()?.block_on(retag(config, args, moderator))
}

async fn retag(
    config: &Config,
    args: RetagArgs,
    moderator: Arc<Moderator>,
) -> anyhow::Result<bool> {
    let started = now_millis();
    let mut statuses: Vec<Status> = Vec::new();
    for status in args.statuses.iter().copied().map(Status::from) {
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    if statuses.is_empty() {
        statuses = vec![
            Status::Pending,
            Status::Approved,
            Status::Rejected,
            Status::Failed,
        ];
    }
    // Ads submitted from now on are the workers' business: they are judged
    // by this model and policy anyway.
    let cutoff = started + 1;
    let filter = AdFilter {
        statuses,
        created_from: args.since,
        created_before: Some(args.until.map_or(cutoff, |until| until.min(cutoff))),
    };
    let db = service::open_database(config).await?;
    let blobs = service::open_blobs(config)?;
    let mailer = if args.dry_run {
        None
    } else {
        Some(Mailer::new(&config.smtp_config()).context("invalid SMTP settings")?)
    };
    let worker = config.worker_config();
    let rejudge = Rejudge::new(blobs, moderator);
    let total = db
        .count_ads(&filter)
        .await
        .context("cannot count the ads")?;
    eprintln!(
        "adpipe: judging {total} ads again with model {} and policy {}{}",
        rejudge.model(),
        rejudge.policy(),
        if args.dry_run {
            " (dry run: nothing is written, no email sent)"
        } else {
            ""
        }
    );
    let progress =
        ProgressBar::with_draw_target(Some(total.max(0) as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} ads, {per_sec}, {eta} left")
            .expect("the template is valid"),
    );
    let mut run = Run {
        db: &db,
        rejudge: &rejudge,
        progress: &progress,
        mailer: mailer.as_ref(),
        public_url: &worker.public_url,
        notify: args.notify,
        dry_run: args.dry_run,
        lease: worker.lease,
        tally: Tally::default(),
        due: Vec::new(),
    };
    let batch_size = args
        .batch_size
        .map_or(worker.batch_size, usize::from)
        .max(1);
    let walked = run.walk(&filter, batch_size).await;
    // What was recorded is mailed even when the walk stopped half way.
    run.send_emails().await;
    progress.finish_and_clear();
    let tally = run.tally;
    let summary = tally.summary(args.dry_run);
    println!("{summary}");
    if !args.dry_run {
        // The audit log keeps what a run of the model over stored ads did.
        let changed: usize = tally.changed.values().sum();
        let record = adpipe_store::AuditEntry::new("cli:adpipe retag", "ads.retagged").detail(
            serde_json::json!({
                "examined": tally.examined,
                "changed": changed,
                "failed": tally.failed,
                "summary": summary,
            }),
        );
        if let Err(error) = db.append_audit(&record).await {
            eprintln!("adpipe: warning: the audit log refused the record of this run: {error}");
        }
    }
    db.close().await;
    walked.context("stopped: the database failed")?;
    Ok(tally.failed == 0)
}

#[derive(Debug, Default)]
struct Tally {
    examined: usize,
    /// (from, to) → how many.
    changed: BTreeMap<(&'static str, &'static str), usize>,
    unchanged: usize,
    failed: usize,
    skipped: usize,
    /// Emails that became due (those a dry run would send).
    due: usize,
    emails: EmailTally,
}

impl Tally {
    fn summary(&self, dry_run: bool) -> String {
        let changed: usize = self.changed.values().sum();
        let verb = if dry_run { "would change" } else { "changed" };
        let changes = if self.changed.is_empty() {
            format!("0 {verb}")
        } else {
            let each = self
                .changed
                .iter()
                .map(|((from, to), count)| format!("{from}→{to} {count}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{changed} {verb} ({each})")
        };
        let emails = if dry_run {
            format!("{} emails would be sent", self.due)
        } else {
            format!(
                "{} emails sent, {} left for the workers",
                self.emails.sent, self.emails.left
            )
        };
        format!(
            "retag{}: {} examined, {changes}, {} unchanged, {} failed, {} skipped; {emails}",
            if dry_run { " (dry run)" } else { "" },
            self.examined,
            self.unchanged,
            self.failed,
            self.skipped,
        )
    }
}

struct Run<'a> {
    db: &'a Database,
    rejudge: &'a Rejudge,
    progress: &'a ProgressBar,
    /// None in a dry run.
    mailer: Option<&'a Mailer>,
    public_url: &'a str,
    notify: bool,
    dry_run: bool,
    lease: Duration,
    tally: Tally,
    /// Ads recorded in this page whose email is due.
    due: Vec<AdId>,
}

impl Run<'_> {
    async fn walk(&mut self, filter: &AdFilter, batch_size: usize) -> Result<(), DbError> {
        let mut after = None;
        loop {
            let page = self.db.ads_after(filter, after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.id);
            for batch in page.chunks(batch_size) {
                self.batch(batch).await?;
                self.progress.inc(batch.len() as u64);
            }
            self.send_emails().await;
        }
    }

    /// Sends the emails that became due, as the mail loop would; those
    /// that cannot go now stay due for the workers.
    async fn send_emails(&mut self) {
        let due = std::mem::take(&mut self.due);
        self.tally.due += due.len();
        let Some(mailer) = self.mailer else {
            return;
        };
        if self.tally.emails.refused > 0 {
            // The SMTP server is down: the workers' mail loop retries with
            // its backoff; waiting on it here would only slow the run.
            self.tally.emails.left += due.len();
            return;
        }
        let sent = send_due_emails(self.db, mailer, self.public_url, &due).await;
        self.tally.emails.sent += sent.sent;
        self.tally.emails.left += sent.left;
        self.tally.emails.refused += sent.refused;
    }

    async fn batch(&mut self, ads: &[AdRecord]) -> Result<(), DbError> {
        self.tally.examined += ads.len();
        let (pending, mut judged): (Vec<AdRecord>, Vec<AdRecord>) = ads
            .iter()
            .cloned()
            .partition(|ad| ad.status == Status::Pending);
        if self.dry_run {
            judged.extend(pending);
        } else if !pending.is_empty() {
            // A pending ad is a worker's job: take it as a worker would, or
            // leave it to the worker that holds it.
            let ids: Vec<AdId> = pending.iter().map(|ad| ad.id).collect();
            let held = self.db.claim_pending_ids(&ids, self.lease).await?;
            self.tally.skipped += ids.len() - held.len();
            judged.extend(held);
        }
        let judgements = self.rejudge.judge(&judged).await;
        for (ad, judgement) in judged.iter().zip(judgements) {
            self.settle(ad, judgement).await?;
        }
        Ok(())
    }

    fn say(&self, line: String, to_stdout: bool) {
        self.progress.suspend(|| {
            if to_stdout {
                // A closed pipe (`| head`) only loses the listing.
                let _ = writeln!(std::io::stdout(), "{line}");
            } else {
                eprintln!("{line}");
            }
        });
    }

    async fn settle(&mut self, ad: &AdRecord, judgement: Judgement) -> Result<(), DbError> {
        let (outcome, tags) = match judgement {
            Judgement::Unavailable(error) => {
                self.tally.failed += 1;
                self.say(
                    format!("adpipe: ad {}: {error}; left as it was", ad.id),
                    false,
                );
                if ad.status == Status::Pending && !self.dry_run {
                    // Back to the workers at once.
                    self.db.release(ad.id, Duration::ZERO).await?;
                }
                return Ok(());
            }
            // A decision stands unless a judgement replaces it: a store
            // that lost its images (or the wrong one configured) must not
            // turn approved ads into failed ones and mail everyone.
            Judgement::Unreadable(outcome) if ad.status != Status::Pending => {
                self.tally.failed += 1;
                self.say(
                    format!(
                        "adpipe: ad {}: {} Its {} decision is kept.",
                        ad.id,
                        outcome.reason.as_deref().unwrap_or_default(),
                        ad.status.as_str()
                    ),
                    false,
                );
                return Ok(());
            }
            Judgement::Decided(assessment) => {
                if let (Some(embedding), false) = (&assessment.embedding, self.dry_run) {
                    // The photo's features, whatever becomes of the decision:
                    // after a change of backbone, a retag refreshes them.
                    self.db.keep_embedding(ad.id, embedding).await?;
                }
                (assessment.decision, assessment.tags)
            }
            // A pending one is failed as a worker would fail it.
            Judgement::Unreadable(decision) => (decision, Vec::new()),
        };
        let changed = outcome.status != ad.status;
        if !self.dry_run
            && !self
                .db
                .record_redecision(
                    ad,
                    &outcome,
                    &tags,
                    &self.rejudge.decided_by(),
                    self.notify && changed,
                )
                .await?
        {
            // A worker, an admin or another retag got there first.
            self.tally.skipped += 1;
            return Ok(());
        }
        // Never told (a pending ad, an email still due): the email goes out
        // as the worker would send it, carrying the new outcome.
        // One sent to a person is told when the person decides.
        if outcome.status != Status::InReview
            && (ad.notified_at.is_none() || (self.notify && changed))
        {
            self.due.push(ad.id);
        }
        if changed {
            *self
                .tally
                .changed
                .entry((ad.status.as_str(), outcome.status.as_str()))
                .or_default() += 1;
            let detail = match outcome.status {
                Status::Approved => outcome.category.as_deref(),
                _ => outcome.reason.as_deref(),
            };
            self.say(
                format!(
                    "{}  {} → {}  {}",
                    ad.id,
                    ad.status.as_str(),
                    outcome.status.as_str(),
                    detail.unwrap_or("-")
                ),
                true,
            );
        } else {
            self.tally.unchanged += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_become_unix_milliseconds() {
        assert_eq!(parse_since("1970-01-01"), Ok(0));
        assert_eq!(parse_until("1970-01-01"), Ok(DAY_MS));
        assert_eq!(parse_since("2000-03-01"), Ok(11_017 * DAY_MS));
        assert_eq!(parse_since("2024-02-29"), Ok(19_782 * DAY_MS));
        assert_eq!(parse_since("2024-05-01T12:00:00Z"), Ok(1_714_564_800_000));
        assert_eq!(
            parse_since("2024-05-01T14:00:00.250+02:00"),
            Ok(1_714_564_800_250)
        );
        assert_eq!(parse_since("1969-12-31T23:59:59Z"), Ok(-1000));
    }

    #[test]
    fn unclear_times_are_refused() {
        assert!(
            parse_since("2024-05-01T12:00:00")
                .unwrap_err()
                .contains("time zone")
        );
        assert!(parse_since("2024-02-30").is_err());
        assert!(parse_since("12:00:00").is_err());
        assert!(parse_since("yesterday").is_err());
    }
}
