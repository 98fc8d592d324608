//! `cpcctl`: the cpc command line.

mod call;
mod connect;
mod dev;
mod health;
mod policies;
mod revocations;
mod timescales;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The cpc command line: statutory timescales, and a client for the services.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Statutory dates from one event date, as one JSON object on stdout.
    Timescales(timescales::Args),
    /// Ask a running cpcd whether it (or one service) is serving.
    Health(health::Args),
    /// Development helpers (tokens from the local development key).
    Dev(dev::Args),
    /// Call any RPC of cpc's API with a JSON request; print the JSON response.
    Call(call::Args),
    /// Check or add to the authority's list of people whose sessions have
    /// been ended (identity.revocations_file).
    Revocations(revocations::Args),
    /// The digest of a policy folder, as audit records name the policy set
    /// that decided.
    Policies(policies::Args),
}

/// Exit code for bad flags or dates, as for any usage error.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version: print as asked, succeed.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return fail(USAGE, &first_line(&err.render().to_string())),
    };
    match cli.command {
        Command::Timescales(args) => match timescales::run(&args) {
            Ok(json) => {
                #[allow(
                    clippy::print_stdout,
                    reason = "the JSON object is the command's output"
                )]
                {
                    println!("{json}");
                }
                ExitCode::SUCCESS
            }
            Err(err) => fail(USAGE, &err.to_string()),
        },
        Command::Health(args) => health::run(&args),
        Command::Call(args) => call::run(&args),
        Command::Policies(args) => print_or_fail(policies::run(&args)),
        Command::Revocations(args) => print_or_fail(revocations::run(&args)),
        Command::Dev(args) => print_or_fail(dev::run(&args)),
    }
}

/// The command's one line of output on stdout, or its error (exit 1).
fn print_or_fail(result: Result<String, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(output) => {
            #[allow(clippy::print_stdout, reason = "the result is the command's output")]
            {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(1, &err.to_string()),
    }
}

/// Scripts read one line: the first line of the message, prefixed `error:` once.
fn fail(code: u8, message: &str) -> ExitCode {
    let message = message.trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    #[allow(
        clippy::print_stderr,
        reason = "the one-line error is the command's contract"
    )]
    {
        eprintln!("error: {message}");
    }
    ExitCode::from(code)
}

/// clap's first paragraph (the error, without usage and hints), as one line.
fn first_line(text: &str) -> String {
    text.lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}
