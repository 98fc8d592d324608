//! `cpcd`: serves cpc's gRPC services.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use cpc_platform::{Config, Server, shutdown, telemetry};
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref())?;
    let _telemetry = telemetry::init(&config.telemetry, "cpcd")?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    let server = Server::prepare(config, args.services.components()).await?;
    server.serve(listener, shutdown::signal()).await?;
    Ok(())
}
