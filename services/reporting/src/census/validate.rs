//! The DfE validation of a census return, by the published validator
//! (`csc-validator-be-cin`) run as a separate process: `[census] validator`
//! with `--ruleset <name> -`, the XML on its standard input (the file is
//! never written to disk), the findings as JSON on its standard output.
//!
//! The rules are the DfE's, for the collection year; carrying them in a
//! second implementation here would only let the two drift apart.

use std::process::Stdio;

use cpc_platform::ApiError;
use cpc_platform::config::CensusConfig;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

/// The validator's report.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub ruleset: String,
    pub child_count: i32,
    pub issues: Vec<Issue>,
}

/// One rule failed, for one child or (no `la_child_id`) the whole return.
#[derive(Clone, Deserialize)]
pub struct Issue {
    pub rule_code: String,
    pub severity: Severity,
    pub la_child_id: String,
    pub message: String,
    pub fields: Vec<String>,
}

cpc_platform::redacted_debug!(Issue);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Query,
}

/// The validator's rule set for a collection year: `cin2025_26` for 2026.
pub fn ruleset_for(collection_year: i32) -> String {
    format!(
        "cin{}_{:02}",
        collection_year - 1,
        collection_year.rem_euclid(100)
    )
}

/// Validates `xml` against the rules of `collection_year`.
///
/// The validator's exit status says what went wrong (scripts/cin-validate):
/// 2 a file it cannot read (ours, so an internal fault), 3 no Python
/// environment, 4 no rules for the year.
///
/// # Errors
/// `FAILED_PRECONDITION` when no validator is configured or installed, or
/// it has no rules for the year; `UNAVAILABLE` when it cannot be started
/// or runs past its timeout; `INTERNAL` when it fails otherwise or its
/// report does not parse. Its own messages are logged, never returned
/// (they come from another program, and name rule codes only).
pub async fn validate(
    config: &CensusConfig,
    collection_year: i32,
    xml: &str,
) -> Result<Report, ApiError> {
    let Some(program) = &config.validator else {
        return Err(ApiError::FailedPrecondition(
            "census validation is not configured on this server ([census] validator), \
             and a return that was not validated is not generated"
                .to_owned(),
        ));
    };
    let ruleset = ruleset_for(collection_year);
    let run = async {
        let mut child = Command::new(program)
            .args(["--ruleset", &ruleset, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            let sent = async {
                stdin.write_all(xml.as_bytes()).await?;
                stdin.shutdown().await
            };
            match sent.await {
                // A validator that stopped before reading the whole file
                // (one that is not installed, say) says why in its exit
                // status, read below.
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        child.wait_with_output().await
    };
    let output = match tokio::time::timeout(config.validator_timeout, run).await {
        Err(_) => {
            return Err(ApiError::Unavailable(format!(
                "census validation took longer than {} s; retry later",
                config.validator_timeout.as_secs()
            )));
        }
        Ok(Err(err)) => {
            tracing::error!(error = %err, "the census validator could not be run");
            return Err(ApiError::Unavailable(
                "the census validator could not be run".to_owned(),
            ));
        }
        Ok(Ok(output)) => output,
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = stderr.lines().next().unwrap_or_default();
    if !output.status.success() {
        tracing::error!(status = %output.status, said, "the census validator failed");
        return Err(match output.status.code() {
            Some(3) => ApiError::FailedPrecondition(
                "the census validator is not installed on this server".to_owned(),
            ),
            Some(4) => ApiError::FailedPrecondition(format!(
                "the census validator has no rule set {ruleset} for collection year \
                 {collection_year}"
            )),
            _ => ApiError::internal("the census validator failed"),
        });
    }
    if !said.is_empty() {
        // Rules the validator skipped (they failed on this file): the
        // return is still validated by the rest.
        tracing::warn!(said, "the census validator reported a problem");
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|_| ApiError::internal("the census validator's report does not parse"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_collection_year_has_the_rule_set_of_the_year_it_ends() {
        assert_eq!(ruleset_for(2026), "cin2025_26");
        assert_eq!(ruleset_for(2027), "cin2026_27");
        assert_eq!(ruleset_for(2100), "cin2099_00");
    }

    #[tokio::test]
    async fn no_validator_no_return() {
        let refused = validate(&CensusConfig::default(), 2026, "<Message/>").await;
        assert!(
            matches!(refused, Err(ApiError::FailedPrecondition(_))),
            "{refused:?}"
        );
    }

    /// A validator that is the shell script `body`, in a fresh directory.
    fn script(body: &str) -> (std::path::PathBuf, CensusConfig) {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("cpc-validator-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("validate");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_default();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap_or_default();
        let config = CensusConfig {
            validator: Some(path),
            validator_timeout: Duration::from_secs(5),
        };
        (dir, config)
    }

    #[tokio::test]
    async fn each_failure_of_the_validator_has_its_status() {
        type Expected = fn(&ApiError) -> bool;
        let cases: [(&str, Expected); 5] = [
            (
                "cat >/dev/null; exit 4",
                |e| matches!(e, ApiError::FailedPrecondition(m) if m.contains("cin2025_26")),
            ),
            (
                "exit 3",
                |e| matches!(e, ApiError::FailedPrecondition(m) if m.contains("not installed")),
            ),
            ("cat >/dev/null; exit 2", |e| {
                matches!(e, ApiError::Internal(_))
            }),
            ("cat >/dev/null; echo not json", |e| {
                matches!(e, ApiError::Internal(_))
            }),
            ("sleep 30", |e| matches!(e, ApiError::Unavailable(_))),
        ];
        for (body, expected) in cases {
            let (dir, mut config) = script(body);
            if body.starts_with("sleep") {
                config.validator_timeout = Duration::from_millis(200);
            }
            let refused = validate(&config, 2026, "<Message/>").await;
            let _ = std::fs::remove_dir_all(dir);
            assert!(refused.as_ref().is_err_and(expected), "{body}: {refused:?}");
        }
    }

    #[tokio::test]
    async fn a_report_is_read_as_the_validator_writes_it() {
        let (dir, config) = script(
            r#"cat >/dev/null; echo '{"ruleset": "cin2025_26", "child_count": 1, "issues": [{"rule_code": "8925", "severity": "error", "la_child_id": "A1", "message": "m", "fields": ["CPPendDate"]}]}'"#,
        );
        let report = validate(&config, 2026, "<Message/>").await;
        let _ = std::fs::remove_dir_all(dir);
        let report = report.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.child_count, 1);
        assert_eq!(report.issues[0].severity, Severity::Error);
        assert_eq!(report.issues[0].fields, ["CPPendDate"]);
    }

    #[tokio::test]
    async fn a_validator_that_cannot_be_started_is_unavailable() {
        let config = CensusConfig {
            validator: Some("/nonexistent/cin-validate".into()),
            ..CensusConfig::default()
        };
        let refused = validate(&config, 2026, "<Message/>").await;
        assert!(
            matches!(refused, Err(ApiError::Unavailable(_))),
            "{refused:?}"
        );
    }
}
