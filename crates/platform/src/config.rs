//! Configuration, layered: built-in defaults, then an optional TOML file,
//! then `CPC_`-prefixed environment variables (`__` separates nested keys,
//! e.g. `CPC_TELEMETRY__OTLP_ENDPOINT`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The statutory clock of `authority`, from its own settings in `profiles`
/// or the defaults.
///
/// # Errors
/// `INTERNAL` for a profile the configuration should have refused when it
/// loaded ([`Config::load`] validates every one).
pub fn timescales(
    profiles: &BTreeMap<String, AuthorityProfile>,
    authority: &str,
) -> Result<Timescales, ApiError> {
    let profile = profiles.get(authority).cloned().unwrap_or_default();
    Timescales::new(&profile).map_err(ApiError::internal)
}

/// The whole configuration of one `cpcd` process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Where the gRPC listener binds (`CPC_LISTEN_ADDR`).
    pub listen_addr: SocketAddr,
    /// Postgres connection URL (`CPC_DATABASE_URL`). Secret: it may carry a password.
    #[serde(serialize_with = "serialize_redacted")]
    pub database_url: SecretString,
    pub database: DatabaseConfig,
    pub telemetry: TelemetryConfig,
    pub limits: LimitsConfig,
    /// Who may call: token issuers, service identities, development mode.
    /// Checked at start-up: development mode only on a loopback listener,
    /// production mode only with TLS.
    #[serde(skip_serializing)]
    pub identity: cpc_identity::IdentityConfig,
    /// The Cedar schema and policies (`deploy/policies` in the repository),
    /// loaded and validated at start-up.
    pub policy_dir: PathBuf,
    /// How often `policy_dir` is read again while serving; an edit that
    /// loads and validates takes effect within one interval, one that does
    /// not is logged and leaves the set in force (`crate::policy_watch`).
    /// Between [`POLICY_RELOAD_INTERVAL_BOUNDS`].
    #[serde(with = "humantime_serde")]
    pub policy_reload_interval: Duration,
    /// TLS on the listener, and the CA of services' client certificates
    /// (`[tls]`). Required in production; unset only in development mode on
    /// loopback.
    pub tls: Option<crate::tls::TlsConfig>,
    /// How long in-flight calls may run on after SIGTERM/SIGINT before the process exits.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Each authority's local settings (DOMAIN.md, "Local settings"), keyed by
    /// authority id; an authority not listed gets the defaults. In TOML:
    /// `[authorities.E10000013]` then `core_group_interval_weeks = 4`.
    pub authorities: BTreeMap<String, AuthorityProfile>,
    /// Where the change feeds this process follows are served, when not
    /// by this process (`[feeds]`, see `cpc_platform::feeds`).
    pub feeds: crate::feeds::FeedsConfig,
    /// Whether gRPC server reflection is served. On by default, for
    /// `grpcurl` and the like in development; a production deployment may
    /// turn it off so that nobody unauthenticated can list the API
    /// (`cpcctl call` carries the descriptors itself and does not need it).
    pub reflection: bool,
    /// How the children in need census return is validated (`[census]`).
    pub census: CensusConfig,
    /// How the served audit logs are watched (`[audit]`).
    pub audit: AuditConfig,
}

/// The watch over the audit logs (`crate::audit_watch`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// How often each served audit log is verified from the head last
    /// verified, and a head that moved is logged as `audit head verified`
    /// (the anchor to keep outside the database); between
    /// [`WATCH_INTERVAL_BOUNDS`].
    #[serde(with = "humantime_serde")]
    pub watch_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            watch_interval: Duration::from_secs(5 * 60),
        }
    }
}

/// `audit.watch_interval`'s bounds: more often only loads the database; less
/// often leaves a tampered log unnoticed, and its head unpublished, for
/// longer than a working day.
pub const WATCH_INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(8 * 60 * 60));

/// `tls.reload_interval`'s bounds: a revoked client certificate, or an
/// out-of-date revocation list, takes effect within one interval.
pub const TLS_RELOAD_INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(60 * 60));

/// `policy_reload_interval`'s bounds: a policy edit takes effect within one
/// interval.
pub const POLICY_RELOAD_INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(60 * 60));

/// `database.idle_in_transaction_timeout`'s bounds: shorter could end a
/// transaction waiting a moment for its next statement on a loaded server;
/// longer leaves a forgotten one holding its locks for too long.
pub const IDLE_IN_TRANSACTION_TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(60 * 60));

/// `database.statement_timeout`'s bounds: shorter could cancel a
/// statement that waits a moment on a loaded server; longer keeps a
/// connection, and what it locks, from the next call for longer than any
/// call may run.
pub const STATEMENT_TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(60 * 60));

/// The DfE census validation: the published validator
/// (`csc-validator-be-cin`), run as a separate process for each return.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CensusConfig {
    /// The program run with `--ruleset <name> -` and the return's XML on
    /// its standard input, printing the findings as JSON
    /// (`scripts/cin-validate` in the repository, which runs
    /// `tools/cin_validate.py` in the project's Python environment). Unset:
    /// returns are not generated (`FAILED_PRECONDITION`), as one that was
    /// never validated is not fit to submit.
    pub validator: Option<PathBuf>,
    /// Longest one validation may run before it is stopped.
    #[serde(with = "humantime_serde")]
    pub validator_timeout: Duration,
}

impl Default for CensusConfig {
    fn default() -> Self {
        Self {
            validator: None,
            validator_timeout: Duration::from_secs(240),
        }
    }
}

/// Connection pool settings, applied to each service's pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// How long a pooled connection may sit inside a transaction with no
    /// statement running before Postgres ends its session, and with it the
    /// transaction and its locks (`idle_in_transaction_session_timeout`).
    /// cpc runs a transaction's statements back to back, so only a
    /// transaction left open by mistake waits this long; it must not hold
    /// its locks, and every call that queues on them, for longer. Between
    /// [`IDLE_IN_TRANSACTION_TIMEOUT_BOUNDS`].
    #[serde(with = "humantime_serde")]
    pub idle_in_transaction_timeout: Duration,
    /// Longest one statement may run, waits for locks included, before
    /// Postgres cancels it (`statement_timeout`; the call fails
    /// `UNAVAILABLE`). A call whose client has gone, or whose deadline has
    /// passed, stops waiting for its statement, but Postgres runs it to its
    /// end; this bounds how long it holds its connection and locks. cpc's
    /// statements take milliseconds; the default is the longest an
    /// ordinary call may run (`limits.request_timeout`). Between
    /// [`STATEMENT_TIMEOUT_BOUNDS`].
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
}

/// Bounds that keep one caller, or one connection, from exhausting the server
/// (OWASP API4:2023, unrestricted resource consumption).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest a call may run; a client's shorter `grpc-timeout` wins.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Longest one of the few calls a service names as slow may run (the
    /// census return, which the DfE validator takes seconds a thousand
    /// children over); more than `census.validator_timeout`.
    #[serde(with = "humantime_serde")]
    pub slow_call_timeout: Duration,
    /// Calls in flight on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// Largest request message a service decodes, in bytes: each service
    /// applies it with `max_decoding_message_size` when it mounts its server.
    pub max_request_bytes: usize,
    /// Connections are recycled after this long, so load rebalances and
    /// rotated certificates take effect.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// Calls one caller (person or service) may make per minute, sustained,
    /// across every RPC of the process.
    pub calls_per_minute_per_caller: NonZeroU32,
    /// Calls one caller may make at once before the per-minute rate applies.
    pub burst_per_caller: NonZeroU32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            slow_call_timeout: Duration::from_secs(300),
            max_concurrent_streams: 128,
            max_request_bytes: 4 * 1024 * 1024,
            max_connection_age: Duration::from_secs(30 * 60),
            // A person clicking through a record, or a record system syncing,
            // stays far below this; a script harvesting records does not.
            calls_per_minute_per_caller: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
            burst_per_caller: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// How the process reports what it does.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` overrides when set.
    pub log_filter: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC collector endpoint; traces are exported only when this is set.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a developer's terminal.
    Pretty,
    /// One JSON object per line, for log shippers in production.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: SecretString::from("postgres://postgres@127.0.0.1:5432/cpc"),
            database: DatabaseConfig::default(),
            telemetry: TelemetryConfig::default(),
            limits: LimitsConfig::default(),
            identity: cpc_identity::IdentityConfig::default(),
            policy_dir: PathBuf::from("deploy/policies"),
            policy_reload_interval: Duration::from_secs(30),
            tls: None,
            shutdown_grace: Duration::from_secs(20),
            authorities: BTreeMap::new(),
            feeds: crate::feeds::FeedsConfig::default(),
            reflection: true,
            census: CensusConfig::default(),
            audit: AuditConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            idle_in_transaction_timeout: Duration::from_secs(60),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".to_owned(),
            log_format: LogFormat::Pretty,
            otlp_endpoint: None,
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Source(#[from] Box<figment::Error>),
    #[error("invalid settings for authority {authority}: {source}")]
    Authority {
        authority: String,
        #[source]
        source: cpc_rules::RulesError,
    },
    #[error("unknown setting `{key}` in {file:?}; the settings are {}", FILE_KEYS.join(", "))]
    UnknownKey { key: String, file: PathBuf },
    #[error(
        "environment variable {name} is no setting: a table's settings take two underscores, \
         as in {meant}"
    )]
    MisspeltVariable { name: String, meant: String },
    #[error("{setting} must be between {} and {}", humantime::format_duration(bounds.0), humantime::format_duration(bounds.1))]
    OutOfBounds {
        setting: &'static str,
        bounds: (Duration, Duration),
    },
}

/// The top-level settings that are tables; their keys are named in the
/// environment after two underscores (`CPC_LIMITS__REQUEST_TIMEOUT`).
const TABLE_KEYS: [&str; 9] = [
    "audit",
    "database",
    "telemetry",
    "limits",
    "identity",
    "tls",
    "authorities",
    "feeds",
    "census",
];

/// The variable `name` meant, when it names a table's setting with one
/// underscore where two belong (`CPC_LIMITS_REQUEST_TIMEOUT`): figment
/// would take it as an unknown top-level key and quietly leave the setting
/// at its default. Other unknown `CPC_*` variables are not refused: the
/// scripts and `cpcctl` read their own (`CPC_TEST_DATABASE_URL`,
/// `CPC_TOKEN`...).
fn misspelt_table_variable(name: &str) -> Option<String> {
    let key = name.strip_prefix("CPC_")?.to_ascii_lowercase();
    if FILE_KEYS.contains(&key.as_str()) {
        return None;
    }
    TABLE_KEYS.iter().find_map(|table| {
        let rest = key.strip_prefix(table)?.strip_prefix('_')?;
        (!rest.is_empty() && !rest.starts_with('_'))
            .then(|| format!("CPC_{}__{}", table, rest).to_ascii_uppercase())
    })
}

/// The settings a configuration file may have at its top level. The
/// tables below it refuse unknown keys themselves (`deny_unknown_fields`);
/// the top level cannot, as every `CPC_*` environment variable (`CPC_CONFIG`
/// among them) lands there too, so a file's own keys are checked against
/// this list: a misspelt setting stops the process instead of quietly
/// leaving the default in force.
const FILE_KEYS: [&str; 15] = [
    "listen_addr",
    "database_url",
    "database",
    "telemetry",
    "limits",
    "identity",
    "policy_dir",
    "policy_reload_interval",
    "tls",
    "shutdown_grace",
    "authorities",
    "feeds",
    "reflection",
    "census",
    "audit",
];

impl Config {
    /// Loads defaults, then `file` (if given; it must exist), then the
    /// environment, and refuses authority settings the rules do not allow
    /// (e.g. an ICPC later than 15 working days), so a bad file stops the
    /// process at start rather than producing wrong dates later.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(path) = file {
            let settings: figment::value::Dict = Figment::from(Toml::file_exact(path))
                .extract()
                .map_err(Box::new)?;
            if let Some(key) = settings.keys().find(|k| !FILE_KEYS.contains(&k.as_str())) {
                return Err(ConfigError::UnknownKey {
                    key: key.clone(),
                    file: path.to_owned(),
                });
            }
        }
        for (name, _) in std::env::vars_os() {
            if let Some(meant) = name.to_str().and_then(misspelt_table_variable) {
                return Err(ConfigError::MisspeltVariable {
                    name: name.to_string_lossy().into_owned(),
                    meant,
                });
            }
        }
        let config: Self = Self::figment(file).extract().map_err(Box::new)?;
        for (authority, profile) in &config.authorities {
            profile
                .validate()
                .map_err(|source| ConfigError::Authority {
                    authority: authority.clone(),
                    source,
                })?;
        }
        config.check_intervals()?;
        Ok(config)
    }

    /// Intervals within their bounds: a zero one would stop its task at
    /// once, and a long one leaves what it watches unwatched.
    fn check_intervals(&self) -> Result<(), ConfigError> {
        let tls = self.tls.as_ref().map(|tls| tls.reload_interval);
        for (setting, interval, bounds) in [
            (
                "audit.watch_interval",
                Some(self.audit.watch_interval),
                WATCH_INTERVAL_BOUNDS,
            ),
            ("tls.reload_interval", tls, TLS_RELOAD_INTERVAL_BOUNDS),
            (
                "policy_reload_interval",
                Some(self.policy_reload_interval),
                POLICY_RELOAD_INTERVAL_BOUNDS,
            ),
            (
                "database.idle_in_transaction_timeout",
                Some(self.database.idle_in_transaction_timeout),
                IDLE_IN_TRANSACTION_TIMEOUT_BOUNDS,
            ),
            (
                "database.statement_timeout",
                Some(self.database.statement_timeout),
                STATEMENT_TIMEOUT_BOUNDS,
            ),
        ] {
            if interval.is_some_and(|i| i < bounds.0 || i > bounds.1) {
                return Err(ConfigError::OutOfBounds { setting, bounds });
            }
        }
        Ok(())
    }

    /// The settings of `authority`: its own, or the defaults.
    pub fn authority_profile(&self, authority: &str) -> AuthorityProfile {
        self.authorities.get(authority).cloned().unwrap_or_default()
    }

    /// The statutory clock of `authority` ([`timescales`]).
    ///
    /// # Errors
    /// As [`timescales`].
    pub fn timescales(&self, authority: &str) -> Result<Timescales, ApiError> {
        timescales(&self.authorities, authority)
    }

    /// The layered sources, exposed so tests can add their own layer on top.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Env::prefixed("CPC_").split("__"))
    }
}

fn serialize_redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_misspelt_setting_stops_the_load() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("top.toml", "listen_adr = \"127.0.0.1:6000\"\n")?;
            let err = Config::load(Some(Path::new("top.toml"))).unwrap_err();
            assert!(
                matches!(&err, ConfigError::UnknownKey { key, .. } if key == "listen_adr"),
                "{err}"
            );
            assert!(err.to_string().contains("listen_addr"), "{err}");
            jail.create_file("nested.toml", "[limits]\ncalls_per_minute_per_caler = 10\n")?;
            let err = Config::load(Some(Path::new("nested.toml"))).unwrap_err();
            assert!(
                err.to_string().contains("calls_per_minute_per_caler"),
                "{err}"
            );
            // Unrelated CPC_ variables (the --config flag's own) are no setting.
            jail.set_env("CPC_CONFIG", "top.toml");
            jail.create_file("good.toml", "reflection = false\n")?;
            assert!(
                !Config::load(Some(Path::new("good.toml")))
                    .unwrap()
                    .reflection
            );
            Ok(())
        });
    }

    #[test]
    fn an_interval_out_of_its_bounds_stops_the_load() {
        figment::Jail::expect_with(|jail| {
            let tls = "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n";
            for (file, message) in [
                (
                    "[audit]\nwatch_interval = \"0s\"\n".to_owned(),
                    "audit.watch_interval must be between 1s and 8h",
                ),
                (
                    "[audit]\nwatch_interval = \"9h\"\n".to_owned(),
                    "audit.watch_interval must be between 1s and 8h",
                ),
                (
                    format!("{tls}reload_interval = \"0s\"\n"),
                    "tls.reload_interval must be between 1s and 1h",
                ),
                (
                    format!("{tls}reload_interval = \"2h\"\n"),
                    "tls.reload_interval must be between 1s and 1h",
                ),
                (
                    "policy_reload_interval = \"0s\"\n".to_owned(),
                    "policy_reload_interval must be between 1s and 1h",
                ),
                (
                    "policy_reload_interval = \"61m\"\n".to_owned(),
                    "policy_reload_interval must be between 1s and 1h",
                ),
                (
                    "[database]\nidle_in_transaction_timeout = \"0s\"\n".to_owned(),
                    "database.idle_in_transaction_timeout must be between 1s and 1h",
                ),
                (
                    "[database]\nidle_in_transaction_timeout = \"2h\"\n".to_owned(),
                    "database.idle_in_transaction_timeout must be between 1s and 1h",
                ),
                (
                    "[database]\nstatement_timeout = \"500ms\"\n".to_owned(),
                    "database.statement_timeout must be between 1s and 1h",
                ),
                (
                    "[database]\nstatement_timeout = \"2h\"\n".to_owned(),
                    "database.statement_timeout must be between 1s and 1h",
                ),
            ] {
                jail.create_file("bad.toml", &file)?;
                let err = Config::load(Some(Path::new("bad.toml"))).unwrap_err();
                assert_eq!(err.to_string(), message, "{file}");
            }
            jail.create_file(
                "good.toml",
                &format!(
                    "policy_reload_interval = \"1h\"\n\
                     [audit]\nwatch_interval = \"8h\"\n{tls}reload_interval = \"1s\"\n"
                ),
            )?;
            let config = Config::load(Some(Path::new("good.toml"))).unwrap();
            assert_eq!(config.policy_reload_interval, Duration::from_secs(60 * 60));
            assert_eq!(
                Config::default().policy_reload_interval,
                Duration::from_secs(30)
            );
            assert_eq!(
                config.audit.watch_interval,
                Duration::from_secs(8 * 60 * 60)
            );
            assert_eq!(
                Config::default().audit.watch_interval,
                Duration::from_secs(300)
            );
            Ok(())
        });
    }

    #[test]
    fn a_table_setting_named_with_one_underscore_stops_the_load() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CPC_LIMITS_REQUEST_TIMEOUT", "5s");
            let err = Config::load(None).unwrap_err();
            assert_eq!(
                err.to_string(),
                "environment variable CPC_LIMITS_REQUEST_TIMEOUT is no setting: a table's \
                 settings take two underscores, as in CPC_LIMITS__REQUEST_TIMEOUT"
            );
            Ok(())
        });
        // Settings, nested ones, and the scripts' and cpcctl's own
        // variables are not refused.
        figment::Jail::expect_with(|jail| {
            for (name, value) in [
                ("CPC_DATABASE_URL", "postgres://db/cpc"),
                ("CPC_DATABASE__ACQUIRE_TIMEOUT", "2s"),
                ("CPC_IDENTITY__MODE", "development"),
                ("CPC_TEST_DATABASE_URL", "postgres://db/test"),
                ("CPC_TOKEN", "t"),
                ("CPC_CA_FILE", "ca.pem"),
                ("CPC_CONFIG", "cpc.toml"),
            ] {
                jail.set_env(name, value);
            }
            let config = Config::load(None).unwrap();
            assert_eq!(config.database.acquire_timeout, Duration::from_secs(2));
            Ok(())
        });
        for (name, meant) in [
            ("CPC_TLS_CERT_FILE", Some("CPC_TLS__CERT_FILE")),
            (
                "CPC_DATABASE_MAX_CONNECTIONS",
                Some("CPC_DATABASE__MAX_CONNECTIONS"),
            ),
            (
                "CPC_TELEMETRY_OTLP_ENDPOINT",
                Some("CPC_TELEMETRY__OTLP_ENDPOINT"),
            ),
            ("CPC_LIMITS", None),
            ("CPC_LIMITS_", None),
            ("CPC_LIMITS__REQUEST_TIMEOUT", None),
            ("CPC_LISTEN_ADDR", None),
            ("CPC_LOCAL_PG_PORT", None),
            ("NOT_CPC_LIMITS_X", None),
        ] {
            assert_eq!(misspelt_table_variable(name).as_deref(), meant, "{name}");
        }
    }

    #[test]
    fn the_table_keys_are_the_settings_that_are_tables() {
        let settings: figment::value::Dict = Figment::from(Serialized::defaults(Config::default()))
            .extract()
            .unwrap();
        let mut tables: Vec<&str> = settings
            .iter()
            .filter(|(_, value)| matches!(value, figment::value::Value::Dict(..)))
            .map(|(key, _)| key.as_str())
            .chain(["identity", "tls"])
            .collect();
        tables.sort_unstable();
        let mut known = TABLE_KEYS.to_vec();
        known.sort_unstable();
        assert_eq!(tables, known);
    }

    #[test]
    fn every_setting_of_the_configuration_is_a_file_key() {
        // Serialised, a configuration names every setting but `identity`
        // (never serialised: it may name key files) and unset options.
        let config = Config {
            tls: Some(crate::tls::TlsConfig {
                cert_file: "tls.crt".into(),
                key_file: "tls.key".into(),
                client_ca_file: None,
                client_crl_file: None,
                reload_interval: Duration::from_secs(60),
                handshake_timeout: Duration::from_secs(10),
            }),
            ..Config::default()
        };
        let settings: figment::value::Dict = Figment::from(Serialized::defaults(config))
            .extract()
            .unwrap();
        let mut serialised: Vec<&str> = settings.keys().map(String::as_str).collect();
        serialised.push("identity");
        serialised.sort_unstable();
        let mut known = FILE_KEYS.to_vec();
        known.sort_unstable();
        assert_eq!(serialised, known);
    }

    #[test]
    fn defaults_then_file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cpc.toml",
                r#"
                listen_addr = "127.0.0.1:6000"
                shutdown_grace = "3s"
                [database]
                max_connections = 4
                "#,
            )?;
            jail.set_env("CPC_LISTEN_ADDR", "127.0.0.1:7000");
            jail.set_env("CPC_DATABASE__ACQUIRE_TIMEOUT", "250ms");
            jail.set_env("CPC_LIMITS__REQUEST_TIMEOUT", "5s");
            jail.set_env("CPC_IDENTITY__MODE", "development");
            let config = Config::load(Some(Path::new("cpc.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.listen_addr, SocketAddr::from(([127, 0, 0, 1], 7000)));
            assert_eq!(config.database.max_connections, 4);
            assert_eq!(config.database.acquire_timeout, Duration::from_millis(250));
            assert_eq!(config.shutdown_grace, Duration::from_secs(3));
            assert_eq!(config.limits.request_timeout, Duration::from_secs(5));
            assert_eq!(config.limits.max_request_bytes, 4 * 1024 * 1024);
            assert_eq!(config.identity.mode, cpc_identity::Mode::Development);
            assert_eq!(config.telemetry.log_format, LogFormat::Pretty);
            Ok(())
        });
    }

    #[test]
    fn authority_profiles_load_and_are_validated() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cpc.toml",
                r#"
                [authorities.E08000016]
                reports_before_rcpc_working_days = 5
                [authorities.S12000036]
                nation = "scotland"
                "#,
            )?;
            let config = Config::load(Some(Path::new("cpc.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(
                config
                    .authority_profile("E08000016")
                    .reports_before_rcpc_working_days,
                5
            );
            assert_eq!(
                config
                    .authority_profile("E08000016")
                    .reports_before_icpc_working_days,
                2
            );
            assert_eq!(
                config.authority_profile("S12000036").nation,
                cpc_rules::Nation::Scotland
            );
            assert_eq!(
                config.authority_profile("unlisted"),
                AuthorityProfile::default()
            );

            jail.create_file("bad.toml", "[authorities.E1]\nicpc_working_days = 20\n")?;
            let err = Config::load(Some(Path::new("bad.toml"))).expect_err("looser than statute");
            assert!(
                matches!(err, ConfigError::Authority { ref authority, .. } if authority == "E1"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_an_error() {
        figment::Jail::expect_with(|_| {
            assert!(Config::load(Some(Path::new("absent.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn bad_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CPC_LISTEN_ADDR", "not-an-address");
            let err = Config::load(None)
                .expect_err("bad address must be refused")
                .to_string();
            assert!(err.to_lowercase().contains("listen_addr"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn database_url_never_prints() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CPC_DATABASE_URL", "postgres://u:hunter2@db/cpc");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                config.database_url.expose_secret(),
                "postgres://u:hunter2@db/cpc"
            );
            assert!(!format!("{config:?}").contains("hunter2"));
            Ok(())
        });
    }
}
