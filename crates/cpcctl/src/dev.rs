//! `cpcctl dev token`: tokens for local development, signed with the
//! development key that `cpcd` in development mode trusts. Production
//! configuration refuses that key, so these tokens open nothing there.

use std::path::PathBuf;
use std::time::Duration;

use cpc_identity::dev::{DevClaims, DevKey};
use cpc_identity::{Agency, AgencyKind, Role};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print a bearer token for a chosen person, role(s) and authority.
    Token(TokenArgs),
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// The person's id (the token's subject); for a service role, the
    /// service's id.
    #[arg(long)]
    person: String,
    /// A role: social_worker, team_manager, conference_chair, service_manager,
    /// head_of_service, business_support, agency_practitioner, auditor; or,
    /// alone, a service role: integration (a record system, which in
    /// production presents a client certificate) or cpc_service.
    #[arg(long = "role", required = true)]
    roles: Vec<Role>,
    /// The local authority (tenant) id, e.g. E10000013.
    #[arg(long)]
    authority: String,
    /// The person's agency kind (police, health, education, ...).
    #[arg(long, requires = "agency_name")]
    agency_kind: Option<AgencyKind>,
    /// The person's agency name.
    #[arg(long, requires = "agency_kind")]
    agency_name: Option<String>,
    /// How long the token is valid, e.g. 30m or 8h; at most 12h, the
    /// longest token cpcd accepts.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// Where the development key lives (created on first use).
    #[arg(
        long,
        env = "CPC_IDENTITY__DEV_KEY_DIR",
        default_value = ".local/dev-identity"
    )]
    key_dir: PathBuf,
}

/// A lifetime `cpcd` will accept: a token minted for longer would be
/// refused as soon as it is used.
fn parse_ttl(given: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(given).map_err(|err| err.to_string())?;
    if ttl.is_zero() || ttl > cpc_identity::MAX_TOKEN_LIFETIME {
        return Err(
            "give a lifetime above 0s and at most 12h, the longest cpcd accepts".to_owned(),
        );
    }
    Ok(ttl)
}

/// The token, or why it could not be made.
pub fn run(args: &Args) -> Result<String, cpc_identity::DevKeyError> {
    let Command::Token(token) = &args.command;
    let key = DevKey::load_or_create(&token.key_dir)?;
    let mut claims = DevClaims::new(
        token.person.clone(),
        token.authority.clone(),
        token.roles.iter().copied(),
    );
    claims.ttl = token.ttl;
    if let (Some(kind), Some(name)) = (token.agency_kind, &token.agency_name) {
        claims.agency = Some(Agency {
            kind,
            name: name.clone(),
        });
    }
    Ok(key.mint(&claims))
}
