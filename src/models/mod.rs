//! `adpipe models`: model versions by content hash in the blob store, and
//! which one every worker runs. `add` stores a model folder (a trained head
//! with its backbone) as a version; `shadow` runs one beside the live model
//! without acting on it; `promote` makes a version live, refused when it
//! does worse than the live model on the ads people decided unless
//! `--force`; `rollback` goes back to the version before. Workers switch at
//! their next batch (adpipe-worker's `LiveModel`); every change goes to the
//! audit log with who made it.

pub(crate) mod bundle;
mod compare;

use std::path::{Path, PathBuf};

use adpipe_core::short_version;
use adpipe_core::time::rfc3339_millis;
use adpipe_store::{
    AuditEntry, Blobs, Database, DeployError, Deployment, ModelVersion, fetch_model, now_millis,
    put_model_files, version_of,
};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::assets;
use crate::config::Config;
use crate::loading::{load_moderator, load_version};
use crate::service::{open_blobs, open_database, runtime};
use adpipe_tagger::HeadJudge;
use compare::{Score, add_photo_score, head_score, recorded_score};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// The versions stored, the live one marked, and the promotions and
    /// rollbacks so far.
    List,
    /// Store a model folder (its model.toml, or the folder) as a version:
    /// checked to load, its files put in the blob store. Prints the version.
    Add {
        model: PathBuf,
        /// Who adds it, for the record (default: the login name).
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Make a version live: every worker switches at its next batch.
    /// VERSION is a version (its first digits are enough) or a model folder,
    /// added first.
    Promote {
        version: String,
        /// Promote it even when it does worse than the live model on the
        /// ads people decided, or when it cannot be compared.
        #[arg(long)]
        force: bool,
        /// The admin account promoting it, for the audit log (default: the
        /// login name).
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Go back to the version live before the current one (or to the
    /// configured model, ADPIPE_MODEL).
    Rollback {
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// Run a trained head in shadow beside the live model from every
    /// worker's next batch: its verdicts are kept (GET /admin/models/shadow,
    /// the console's Models page), none is acted on. VERSION as for
    /// promote; --off stops the shadow run.
    Shadow {
        #[arg(required_unless_present = "off")]
        version: Option<String>,
        #[arg(long, conflicts_with = "version")]
        off: bool,
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
}

pub fn run(config: &Config, args: ModelsArgs) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let db = open_database(config).await?;
        let blobs = open_blobs(config)?;
        let registry = Registry {
            config,
            db: &db,
            blobs: &blobs,
        };
        let result = registry.command(args.command).await;
        db.close().await;
        result.map(|()| true)
    })
}

struct Registry<'a> {
    config: &'a Config,
    db: &'a Database,
    blobs: &'a Blobs,
}

impl Registry<'_> {
    async fn command(&self, command: ModelsCommand) -> anyhow::Result<()> {
        match command {
            ModelsCommand::List => self.list().await,
            ModelsCommand::Add { model, actor } => {
                let actor = self.actor(actor).await?;
                self.add(&model, &actor).await.map(drop)
            }
            ModelsCommand::Promote {
                version,
                force,
                actor,
            } => {
                let actor = self.actor(actor).await?;
                self.promote(&version, force, &actor).await
            }
            ModelsCommand::Rollback { actor } => {
                let actor = self.actor(actor).await?;
                self.rollback(&actor).await
            }
            ModelsCommand::Shadow { version, actor, .. } => {
                let actor = self.actor(actor).await?;
                self.shadow(version.as_deref(), &actor).await
            }
        }
    }

    /// `cli:<name>`: an enabled admin account when named with `--as`, else
    /// the login name (whoever can run this holds the database's keys).
    async fn actor(&self, named: Option<String>) -> anyhow::Result<String> {
        let Some(name) = named else {
            let login = std::env::var("SUDO_USER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "unknown".into());
            return Ok(format!("cli:{login}"));
        };
        let account = self.db.account_by_name(&name.to_lowercase()).await?;
        match account {
            Some(found) if found.account.role == "admin" && !found.account.disabled => {
                Ok(format!("cli:{}", found.account.name))
            }
            Some(_) => bail!("{name:?} is not an enabled admin: only admins change the live model"),
            None => bail!("there is no account {name:?}"),
        }
    }

    fn cache(&self) -> PathBuf {
        self.config.model_cache_dir()
    }

    async fn add(&self, model: &Path, actor: &str) -> anyhow::Result<ModelVersion> {
        let bundle = bundle::read(model)?;
        let version = ModelVersion {
            version: version_of(&bundle.files),
            name: bundle.name,
            kind: bundle.kind,
            files: bundle.files.iter().map(|file| file.path.clone()).collect(),
            added_by: actor.to_owned(),
            added_at: now_millis(),
        };
        put_model_files(self.blobs, &version.version, &bundle.files).await?;
        // Fetched back and loaded before it is listed: a version that does
        // not load would only fail on the workers.
        let folder = fetch_model(self.blobs, &version, &self.cache()).await?;
        let config = self.config.clone();
        let checked = folder.clone();
        tokio::task::spawn_blocking(move || load_version(&config, &checked).map(drop))
            .await?
            .with_context(|| format!("{} does not load as stored", model.display()))?;
        let new = self.db.add_model_version(&version).await?;
        println!(
            "{} {} ({}, {} files){}",
            version.version,
            version.name,
            version.kind,
            version.files.len(),
            if new { "" } else { ": stored already" }
        );
        Ok(version)
    }

    async fn list(&self) -> anyhow::Result<()> {
        let versions = self.db.model_versions().await?;
        let live = self.db.live_model().await?.map(|version| version.version);
        let configured = assets::model_or_default(self.config.model.as_deref());
        println!(
            "{} configured model: {}",
            if live.is_none() { "*" } else { " " },
            configured.display()
        );
        for version in &versions {
            let marker = if live.as_deref() == Some(version.version.as_str()) {
                "*"
            } else {
                " "
            };
            println!(
                "{marker} {}  {:<24} {:<16} added {} by {}",
                short_version(&version.version),
                version.name,
                version.kind,
                rfc3339_millis(version.added_at),
                version.added_by
            );
        }
        if let Some(shadow) = self.db.shadow_model().await? {
            println!(
                "\nin shadow: {} {}",
                short_version(&shadow.version),
                shadow.name
            );
        }
        let deployments = self.db.deployments().await?;
        if !deployments.is_empty() {
            println!("\nhistory, oldest first:");
            for deployment in &deployments {
                println!("  {}", describe(deployment));
            }
        }
        Ok(())
    }

    /// The version `text` names: a model folder (added first) or the first
    /// digits of a stored version.
    async fn resolve(&self, text: &str, actor: &str) -> anyhow::Result<ModelVersion> {
        let path = Path::new(text);
        if path.exists() {
            return self.add(path, actor).await;
        }
        let mut found = self.db.model_versions_starting(text).await?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => bail!("no version starts with {text:?} and no such folder (adpipe models list)"),
            _ => bail!(
                "{text:?} is the start of {} versions: give more digits",
                found.len()
            ),
        }
    }

    /// The head judge of a fetched version (its own policy, else the
    /// configured one).
    async fn judge_of(&self, version: &ModelVersion) -> anyhow::Result<Option<HeadJudge>> {
        let folder = fetch_model(self.blobs, version, &self.cache()).await?;
        let policy = folder.join("policy.toml");
        let policy = if policy.is_file() {
            policy
        } else {
            assets::policy_or_default(self.config.policy.as_deref())
        };
        Ok(HeadJudge::load(&folder.join("model.toml"), &policy)?)
    }

    async fn promote(&self, text: &str, force: bool, actor: &str) -> anyhow::Result<()> {
        let candidate = self.resolve(text, actor).await?;
        let live = self.db.live_model().await?;
        if live.is_some_and(|live| live.version == candidate.version) {
            bail!(
                "version {} is live already",
                short_version(&candidate.version)
            );
        }
        let comparison = self.compare(&candidate).await?;
        let worse = match &comparison {
            Ok((candidate_score, live_score)) => {
                println!(
                    "candidate {}: {}",
                    short_version(&candidate.version),
                    candidate_score.summary()
                );
                println!("live model:        {}", live_score.summary());
                candidate_score.is_worse_than(live_score)
            }
            Err(why) => {
                println!("not compared: {why}");
                true
            }
        };
        if worse && !force {
            bail!(
                "not promoted: {} does worse than the live model on the ads people decided, \
                 or cannot be compared; --force promotes it anyway",
                short_version(&candidate.version)
            );
        }
        let detail = serde_json::json!({
            "name": candidate.name,
            "forced": worse,
            "candidate": comparison.as_ref().ok().map(|(c, _)| score_json(c)),
            "live": comparison.as_ref().ok().map(|(_, l)| score_json(l)),
        });
        let audit = AuditEntry::new(actor, "model.promoted")
            .target(format!("model:{}", candidate.version))
            .detail(detail);
        let deployment = self
            .db
            .promote_model(&candidate.version, worse, &audit)
            .await
            .map_err(deploy_error)?;
        println!("{}", describe(&deployment));
        println!("every worker switches to it at its next batch");
        // Live now: nothing left to watch it against.
        let shadowed = self.db.shadow_model().await?;
        if shadowed.is_some_and(|shadowed| shadowed.version == candidate.version) {
            let audit = AuditEntry::new(actor, "model.shadow_stopped")
                .target(format!("model:{}", candidate.version))
                .detail(serde_json::json!({ "because": "promoted" }));
            self.db
                .set_shadow_model(None, &audit)
                .await
                .map_err(deploy_error)?;
            println!("its shadow run ends: it is live");
        }
        Ok(())
    }

    /// The candidate's and the live model's scores on the ads people
    /// decided, or why they cannot be compared.
    async fn compare(
        &self,
        candidate: &ModelVersion,
    ) -> anyhow::Result<Result<(Score, Score), String>> {
        let Some(candidate_judge) = self.judge_of(candidate).await? else {
            return self.compare_on_photos(candidate).await;
        };
        let backbone = candidate_judge.embedding_model().to_owned();
        let decided = self.db.decided_embeddings(&backbone).await?;
        let by_people: Vec<_> = decided.iter().filter(|ad| ad.by_person).collect();
        if by_people.is_empty() {
            return Ok(Err(format!(
                "no ad decided by a person has an embedding of {backbone} \
                 (adpipe embed --backfill)"
            )));
        }
        let live_judge = match self.db.live_model().await? {
            Some(live) => self.judge_of(&live).await?,
            None => {
                let model = assets::model_or_default(self.config.model.as_deref());
                let policy = assets::policy_or_default(self.config.policy.as_deref());
                HeadJudge::load(&model, &policy)?
            }
        };
        let live_score = match live_judge {
            Some(judge) if judge.embedding_model() == backbone => head_score(&judge, &by_people),
            // Not a head on the same backbone: what it decided when the ads
            // came in.
            _ => recorded_score(&by_people),
        };
        Ok(Ok((head_score(&candidate_judge, &by_people), live_score)))
    }

    /// A candidate that is not a head, and the live model beside it, run on
    /// the photos and texts of the ads people decided, a batch at a time.
    async fn compare_on_photos(
        &self,
        candidate: &ModelVersion,
    ) -> anyhow::Result<Result<(Score, Score), String>> {
        const BATCH: usize = 8;
        let ads = self.db.decided_by_people().await?;
        if ads.is_empty() {
            return Ok(Err("no ad has been decided by a person yet".into()));
        }
        let folder = fetch_model(self.blobs, candidate, &self.cache()).await?;
        let candidate_model = load_version(self.config, &folder)?;
        let live_model = match self.db.live_model().await? {
            Some(live) => {
                let folder = fetch_model(self.blobs, &live, &self.cache()).await?;
                load_version(self.config, &folder)?
            }
            None => load_moderator(self.config)?,
        };
        println!(
            "comparing on the photos of {} ads decided by people (each judged by both models)",
            ads.len()
        );
        let (mut candidate_score, mut live_score) = (Score::default(), Score::default());
        for chunk in ads.chunks(BATCH) {
            let fetched = futures_util::future::join_all(
                chunk.iter().map(|ad| self.blobs.get(&ad.image_key)),
            )
            .await;
            let mut photos = Vec::with_capacity(chunk.len());
            for (ad, photo) in chunk.iter().zip(fetched) {
                photos
                    .push(photo.with_context(|| format!("cannot read the photo of ad {}", ad.id))?);
            }
            let photos: Vec<&[u8]> = photos.iter().map(|photo| photo.as_ref()).collect();
            add_photo_score(&mut candidate_score, &candidate_model, chunk, &photos)?;
            add_photo_score(&mut live_score, &live_model, chunk, &photos)?;
        }
        Ok(Ok((candidate_score, live_score)))
    }

    async fn shadow(&self, text: Option<&str>, actor: &str) -> anyhow::Result<()> {
        let Some(text) = text else {
            let audit = AuditEntry::new(actor, "model.shadow_stopped");
            self.db
                .set_shadow_model(None, &audit)
                .await
                .map_err(deploy_error)?;
            println!("shadow run stopped: every worker stops it at its next batch");
            return Ok(());
        };
        let candidate = self.resolve(text, actor).await?;
        let Some(judge) = self.judge_of(&candidate).await? else {
            bail!(
                "{} is not a trained head: only a head runs in shadow (on the live model's embeddings)",
                candidate.name
            );
        };
        let audit = AuditEntry::new(actor, "model.shadowed")
            .target(format!("model:{}", candidate.version))
            .detail(serde_json::json!({ "name": candidate.name }));
        self.db
            .set_shadow_model(Some(&candidate.version), &audit)
            .await
            .map_err(deploy_error)?;
        println!(
            "version {} ({}) runs in shadow from every worker's next batch, on embeddings of {}",
            short_version(&candidate.version),
            judge.name(),
            judge.embedding_model()
        );
        Ok(())
    }

    async fn rollback(&self, actor: &str) -> anyhow::Result<()> {
        let audit = AuditEntry::new(actor, "model.rolled_back");
        let deployment = self
            .db
            .roll_back_model(&audit)
            .await
            .map_err(deploy_error)?;
        println!("{}", describe(&deployment));
        println!("every worker switches to it at its next batch");
        Ok(())
    }
}

fn score_json(score: &Score) -> serde_json::Value {
    serde_json::json!({
        "ads": score.ads,
        "approved": score.approved,
        "rejected": score.rejected,
        "for_people": score.for_people,
        "wrong": score.wrong,
    })
}

fn deploy_error(error: DeployError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

fn describe(deployment: &Deployment) -> String {
    let what = match &deployment.version {
        Some(version) => format!("version {}", short_version(version)),
        None => "the configured model".to_owned(),
    };
    format!(
        "{} {}: {what} live{}, by {}",
        rfc3339_millis(deployment.at),
        deployment.action.as_str(),
        if deployment.forced { " (forced)" } else { "" },
        deployment.by
    )
}
