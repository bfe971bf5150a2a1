//! The `adpipe` command: parses the command line and wires the crates
//! together. Nothing else lives here.

mod assets;
mod config;
mod embed;
mod loading;
mod memory;
mod models;
mod retag;
mod service;
mod sessions;
mod tag;
mod train;
mod users;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "adpipe",
    version,
    about = "Self-hostable, air-gapped ad moderation pipeline"
)]
struct Cli {
    /// A TOML configuration file; `ADPIPE_*` variables override it.
    #[arg(long, global = true, env = "ADPIPE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and a worker in one process (SQLite, local disk and the
    /// built-in queue unless configured otherwise).
    Serve,
    /// Run the HTTP API only.
    Api,
    /// Run a worker only: classify queued ads, record decisions, send emails.
    Worker,
    /// Create or update the database tables, then exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Remove stored images that no ad names (left when an API process is
    /// killed between storing an image and recording its ad). The image
    /// store must belong to this database alone: images of another
    /// deployment sharing the bucket would be removed too.
    PruneImages {
        /// Only images older than this, in seconds: keep it above the
        /// longest a submission can take while an API is running.
        #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
        min_age: u64,
    },
    /// Tag image files with the local classifier and judge them with a policy.
    Tag(tag::TagArgs),
    /// Train a classifier head for your own categories on labelled photos
    /// (PHOTOS/<category>/*.jpg, PHOTOS/none/ for what is not published)
    /// and/or the team's decisions: a model folder with its proposed
    /// policy, report and model card.
    Train(train::TrainArgs),
    /// Judge stored ads again with the configured model and policy, record
    /// the new decisions and report what changed.
    Retag(retag::RetagArgs),
    /// Count the decided ads whose photo's feature vector is kept (for
    /// training a head on the team's decisions); `--backfill` computes it
    /// for those that have none.
    Embed(embed::EmbedArgs),
    /// Drive a running adpipe over HTTP: submit photos at a fixed rate or as
    /// fast as it answers, watch them until decided, report throughput and
    /// latency percentiles.
    Loadgen(adpipe_loadgen::LoadgenArgs),
    /// The moderation team's accounts: add, list, disable, enable,
    /// set-role, reset-password.
    Users(users::UsersArgs),
    /// Model versions in the blob store and which one the workers run:
    /// list, add, promote (refused when worse on the ads people decided,
    /// unless --force), rollback.
    Models(models::ModelsArgs),
}

/// Services narrate their work; one-shot commands speak only of trouble.
fn init_logging(service: bool, json: bool) {
    let default = if service {
        "info,ort=warn,sqlx=warn,lapin=warn"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A closed stderr (the reader of a log pipe gone) must not stop the
    // service: tracing would report the failed write with eprintln!, which
    // panics on that same closed stderr.
    // Colours only for a person at a terminal: a log file or a pipe (a
    // container's log, `grep`) gets plain text; NO_COLOR turns them off.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .log_internal_errors(false);
    if json {
        // Each line carries the span it was logged in and the spans around
        // it, so the `ad` span's `ad_id` is on every line about an ad.
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

fn load_config(file: Option<&Path>, service: bool) -> anyhow::Result<config::Config> {
    let config = config::Config::load(file)?;
    init_logging(service, config.log_json);
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Tag(args) => {
            init_logging(false, false);
            tag::run(args)
        }
        Command::Serve => service::run(&load_config(file, true)?, service::Role::Both),
        Command::Api => service::run(&load_config(file, true)?, service::Role::Api),
        Command::Worker => service::run(&load_config(file, true)?, service::Role::Worker),
        Command::Migrate => service::migrate(&load_config(file, false)?),
        Command::Train(args) => {
            // The configuration names the database --from-decisions reads.
            let config = load_config(file, false)?;
            let tagger = service::tagger_config(None, None, None, args.ort_lib().cloned());
            train::run(args, &config, tagger)
        }
        Command::Retag(args) => retag::run(&load_config(file, false)?, args),
        Command::Embed(args) => embed::run(&load_config(file, false)?, args),
        Command::Users(args) => users::run(&load_config(file, false)?, args),
        Command::Models(args) => models::run(&load_config(file, false)?, args),
        Command::Loadgen(args) => {
            init_logging(false, false);
            adpipe_loadgen::run(args, &assets::locate(adpipe_loadgen::DEFAULT_PHOTOS))
        }
        Command::PruneImages { min_age } => service::prune_images(
            &load_config(file, false)?,
            std::time::Duration::from_secs(min_age),
        ),
        Command::Config => {
            print!("{}", load_config(file, false)?.redacted_toml());
            Ok(true)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("adpipe: {error:#}");
            ExitCode::FAILURE
        }
    }
}
