//! `cpcctl policies digest`: the digest audit records give the policy set
//! that decided (`AccessRecord.policy_set`), computed from a folder of
//! policies (a checkout of `deploy/policies` at some revision), so an
//! auditor can tell which text of the policies decided a call.

use std::path::PathBuf;

use cpc_authz::Authorizer;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Load a policy folder as cpcd does (a set that does not validate is
    /// refused) and print its digest.
    Digest {
        /// The folder: one `.cedarschema` file and the `.cedar` policies.
        dir: PathBuf,
    },
}

/// Runs the subcommand; the digest, or why the folder was refused.
pub fn run(args: &Args) -> Result<String, String> {
    match &args.command {
        Command::Digest { dir } => Authorizer::load(dir)
            .map(|authorizer| authorizer.digest().to_owned())
            .map_err(|err| err.to_string()),
    }
}
