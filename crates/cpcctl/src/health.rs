//! `cpcctl health`: the gRPC health protocol from the command line, for
//! smoke checks and for people wondering whether a server is up.

use std::process::ExitCode;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: crate::connect::Server,
    /// A fully-qualified service name (`cpc.cases.v1.CasesService`); empty asks about the server.
    #[arg(long, default_value = "")]
    service: String,
}

/// Exit 0 when serving, 1 when not serving or unreachable, with one line on stdout or stderr.
#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line report"
)]
pub fn run(args: &Args) -> ExitCode {
    let Some(runtime) = crate::connect::runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(check(args)) {
        Ok(ServingStatus::Serving) => {
            println!("SERVING");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            println!("{}", status.as_str_name());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn check(args: &Args) -> Result<ServingStatus, String> {
    let channel = args.server.connect().await?;
    let mut client = HealthClient::new(channel);
    let response = client
        .check(HealthCheckRequest {
            service: args.service.clone(),
        })
        .await
        .map_err(|status| format!("{}: {}", status.code(), status.message()))?;
    Ok(ServingStatus::try_from(response.into_inner().status).unwrap_or(ServingStatus::Unknown))
}
