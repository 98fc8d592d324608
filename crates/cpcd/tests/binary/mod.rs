//! The real `cpcd` binary, serving: started in development mode on a free
//! loopback port against a test database, logging JSON to a pipe.

#![allow(
    dead_code,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support, shared by several test binaries; a failed setup fails the test"
)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cpc_platform::testing::TestDatabase;
use secrecy::ExposeSecret as _;
use tonic::transport::Channel;

/// A loopback address no one is listening on.
pub fn free_addr() -> String {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    free.local_addr().unwrap().to_string()
}

/// `cpcd all` in development mode on `addr`, logging JSON at `log_filter`,
/// with the TOML in `more` appended (further tables).
pub fn config_toml(db: &TestDatabase, addr: &str, log_filter: &str, more: &str) -> String {
    format!(
        r#"listen_addr = "{addr}"
database_url = "{url}"
policy_dir = {policies:?}

[identity]
mode = "development"
dev_key_dir = {dev_key_dir:?}

[telemetry]
log_filter = "{log_filter}"
log_format = "json"
{more}"#,
        url = db.url().expose_secret(),
        policies = cpc_authz::bundled_policy_dir(),
        dev_key_dir = db.dev_key_dir(),
    )
}

/// Starts `cpcd --config <config> all`, its log (stderr) piped, killed
/// when dropped.
pub fn spawn(config: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cpcd"))
        .args(["--config".as_ref(), config.as_os_str(), "all".as_ref()])
        .env_remove("RUST_LOG")
        .env_remove("CPC_DATABASE_URL")
        .env_remove("CPC_LISTEN_ADDR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cpcd starts")
}

/// A channel to `server` on `addr`, once it listens.
pub async fn connect(addr: &str, server: &mut tokio::process::Child) -> Channel {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
    // Start-up migrates a fresh database first.
    for _ in 0..300 {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("cpcd exited before serving: {status}");
        }
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cpcd did not listen on {addr} within 30 s");
}
