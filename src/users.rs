//! `adpipe users`: the moderation team's accounts from the command line,
//! for the first admin and for operators who prefer a shell. The same
//! rules as the console's: Argon2id hashes only, the last enabled admin
//! stays one, and every change goes to the audit log as `cli:adpipe users`.

use std::io::{IsTerminal, Read};

use adpipe_auth::Role;
use adpipe_store::{AccountChange, AuditEntry, Database, NewAccount};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::service::{open_database, runtime};

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add an account. The password is read from stdin (one line) when it
    /// is piped; at a terminal, or with --generate, one is generated and
    /// printed once.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Generate the password even when stdin is piped.
        #[arg(long)]
        generate: bool,
    },
    /// List the accounts.
    List,
    /// Disable an account: its sessions end and its tokens stop working.
    Disable { name: String },
    /// Enable a disabled account.
    Enable { name: String },
    /// Change an account's role.
    SetRole {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password (stdin, or generated and printed once); every
    /// session of the account ends.
    ResetPassword {
        name: String,
        #[arg(long)]
        generate: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
        .map_err(|_| "a role is admin, moderator or viewer".to_owned())
}

/// Who the audit log says made a change from the command line.
const CLI_ACTOR: &str = "cli:adpipe users";

/// The password to set: stdin's first line when piped, else generated
/// (and then printed once by the caller).
fn password(generate: bool) -> anyhow::Result<(String, bool)> {
    if generate || std::io::stdin().is_terminal() {
        return Ok((adpipe_auth::generate_password(), true));
    }
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .context("cannot read the password from stdin")?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    adpipe_auth::check_new_password(&password).map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok((password, false))
}

/// The audit record of a change made here.
fn audit(action: &str, name: &str) -> AuditEntry {
    AuditEntry::new(CLI_ACTOR, action).target(format!("account:{name}"))
}

fn changed(outcome: AccountChange, name: &str) -> anyhow::Result<()> {
    match outcome {
        AccountChange::NotFound => bail!("there is no account {name:?}"),
        AccountChange::LastAdmin => {
            bail!("{name:?} is the last enabled admin; make another admin first")
        }
        _ => Ok(()),
    }
}

pub fn run(config: &Config, args: UsersArgs) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let db = open_database(config).await?;
        let result = command(&db, args.command).await;
        db.close().await;
        result.map(|()| true)
    })
}

async fn command(db: &Database, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add {
            name,
            role,
            generate,
        } => {
            let name = adpipe_auth::valid_account_name(&name)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            if name == "bootstrap" {
                bail!("\"bootstrap\" names the bootstrap token; choose another name");
            }
            let (password, generated) = password(generate)?;
            let hash = adpipe_auth::hash_password(&password)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            let record = audit("account.created", &name)
                .detail(serde_json::json!({ "role": role.as_str() }));
            let created = db
                .create_account(
                    &NewAccount {
                        name: &name,
                        role: role.as_str(),
                        password_hash: &hash,
                    },
                    &record,
                )
                .await?;
            if created.is_none() {
                bail!("there is already an account named {name:?}");
            }
            if generated {
                println!("{password}");
                eprintln!(
                    "adpipe: added {name} ({role}); the password above is shown this once",
                    role = role.as_str()
                );
            } else {
                eprintln!("adpipe: added {name} ({})", role.as_str());
            }
        }
        UsersCommand::List => {
            let accounts = db.accounts().await?;
            println!("{:<24} {:<10} {:<9} created", "name", "role", "state");
            for account in accounts {
                println!(
                    "{:<24} {:<10} {:<9} {}",
                    account.name,
                    account.role,
                    if account.disabled {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    adpipe_core::time::rfc3339_millis(account.created_at)
                );
            }
        }
        UsersCommand::Disable { name } => {
            let name = name.trim().to_lowercase();
            let record = audit("account.disabled", &name);
            changed(db.set_disabled(&name, true, &record).await?, &name)?;
            eprintln!("adpipe: disabled {name}; its sessions ended and its tokens stopped");
        }
        UsersCommand::Enable { name } => {
            let name = name.trim().to_lowercase();
            let record = audit("account.enabled", &name);
            changed(db.set_disabled(&name, false, &record).await?, &name)?;
            eprintln!("adpipe: enabled {name}");
        }
        UsersCommand::SetRole { name, role } => {
            let name = name.trim().to_lowercase();
            let record = audit("account.role_changed", &name)
                .detail(serde_json::json!({ "role": role.as_str() }));
            changed(db.set_role(&name, role.as_str(), &record).await?, &name)?;
            eprintln!("adpipe: {name} is now {}", role.as_str());
        }
        UsersCommand::ResetPassword { name, generate } => {
            let name = name.trim().to_lowercase();
            let (password, generated) = password(generate)?;
            let hash = adpipe_auth::hash_password(&password)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            let record = audit("account.password_reset", &name);
            if !db.set_password(&name, &hash, &record).await? {
                bail!("there is no account {name:?}");
            }
            if generated {
                println!("{password}");
            }
            eprintln!("adpipe: the password of {name} is reset; its sessions ended");
        }
    }
    Ok(())
}
