//! `cpcd`: serves cpc's gRPC services.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use cpc_platform::audit_log::ServiceAnchor;
use cpc_platform::{Config, Server, audit_log, shutdown, telemetry};
use cpcd::Selection;

/// Serve cpc's gRPC services. Configuration: defaults, then `--config`,
/// then `CPC_` environment variables (`CPC_LISTEN_ADDR`, `CPC_DATABASE_URL`, ...).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Which services to serve: `all` in one process, or one of them.
    #[arg(value_enum, default_value = "all")]
    services: Selection,
    /// A TOML configuration file.
    #[arg(long, env = "CPC_CONFIG")]
    config: Option<PathBuf>,
    /// Instead of serving, verify the hash chain of each selected service's
    /// audit log, print one line per service, and exit 1 if any is broken.
    #[arg(long)]
    verify_audit: bool,
    /// With --verify-audit: a head printed by an earlier verification and
    /// kept outside the database (`cases=1234:<hash>`), so that a deleted
    /// tail or a re-hashed log is reported. Once per service.
    #[arg(
        long = "anchor",
        value_name = "SERVICE=SEQ:HASH",
        requires = "verify_audit"
    )]
    anchors: Vec<ServiceAnchor>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(err) => {
            // One readable line with its causes; operators need the reason,
            // not a stack trace.
            #[allow(clippy::print_stderr, reason = "the process's last word")]
            {
                eprintln!("cpcd: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let _telemetry = telemetry::init(&config.telemetry, "cpcd")?;
    if args.verify_audit {
        return verify_audit(&config, args.services, &args.anchors).await;
    }
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    let server = Server::prepare(config, args.services.components()).await?;
    server.serve(listener, shutdown::signal()).await?;
    Ok(ExitCode::SUCCESS)
}

#[allow(
    clippy::print_stdout,
    reason = "the verification report is the command's output"
)]
async fn verify_audit(
    config: &Config,
    services: Selection,
    anchors: &[ServiceAnchor],
) -> anyhow::Result<ExitCode> {
    let reports = audit_log::verify_chains(config, &services.components(), anchors).await?;
    for (service, report) in &reports {
        println!("{}", audit_log::describe(service, report));
    }
    let intact = reports.iter().all(|(_, report)| report.is_ok());
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
