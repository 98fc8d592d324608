//! `cpcctl revocations`: check, or add to, the authority's revocation list
//! (`identity.revocations_file`, the ConfigMap `deploy/revocations.yaml`)
//! before it is put in place, so a mistyped edit is caught here rather than
//! logged by every replica.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound as _, Utc};
use cpc_identity::Revocations;
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a revocation list as cpcd reads it; print how many people it
    /// revokes.
    Check {
        /// The revocation list (JSON).
        file: PathBuf,
    },
    /// End a person's sessions: add them to the list (created if missing),
    /// revoking every token of theirs from a session begun (signed in, or
    /// without `auth_time` issued) before the time given (now by default);
    /// print the entry added.
    Add {
        /// The revocation list (JSON).
        file: PathBuf,
        /// The token issuer (`iss`), exactly as in the person's tokens.
        #[arg(long)]
        issuer: String,
        /// The person's id (`sub`).
        #[arg(long)]
        subject: String,
        /// Tokens from sessions begun before this are refused (RFC 3339 with an offset,
        /// e.g. 2026-12-06T20:15:00Z); default now, rounded up to the next
        /// whole second so that a token issued this second is refused too.
        #[arg(long)]
        issued_before: Option<DateTime<Utc>>,
    },
}

/// What the command prints, or why it failed.
///
/// # Errors
/// A list that cannot be read, written or parsed, or an entry cpcd would
/// refuse; the message names the file.
pub fn run(args: &Args) -> Result<String, String> {
    match &args.command {
        Command::Check { file } => {
            let revocations = Revocations::load(file).map_err(|e| named(file, &e))?;
            Ok(format!("{} people revoked", revocations.len()))
        }
        Command::Add {
            file,
            issuer,
            subject,
            issued_before,
        } => add(
            file,
            issuer,
            subject,
            issued_before.unwrap_or_else(next_second),
        ),
    }
}

fn add(file: &Path, issuer: &str, subject: &str, before: DateTime<Utc>) -> Result<String, String> {
    let mut list: Value = match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| named(file, &e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({ "revoked": [] }),
        Err(e) => return Err(named(file, &e)),
    };
    let entry = json!({
        "issuer": issuer,
        "subject": subject,
        "issued_before": before.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    });
    list.get_mut("revoked")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| named(file, &"not a revocation list: no `revoked` list"))?
        .push(entry.clone());
    let text = serde_json::to_string_pretty(&list).map_err(|e| named(file, &e))?;
    // The whole list as cpcd will read it, or nothing is written.
    Revocations::from_json(text.as_bytes()).map_err(|e| named(file, &e))?;
    // Written beside and renamed over, so a reader never sees half a list.
    let partial = file.with_extension("json.partial");
    std::fs::write(&partial, format!("{text}\n")).map_err(|e| named(&partial, &e))?;
    std::fs::rename(&partial, file).map_err(|e| named(file, &e))?;
    Ok(entry.to_string())
}

/// The next whole second from now: tokens carry `iat` in whole seconds, so
/// one issued earlier in this second has an `iat` before it.
fn next_second() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now()).trunc_subsecs(0)
        + chrono::TimeDelta::seconds(1)
}

fn named(file: &Path, err: &dyn std::fmt::Display) -> String {
    format!("{}: {err}", file.display())
}
