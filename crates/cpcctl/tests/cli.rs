//! `cpcctl timescales` as scripts see it: stdout JSON, stderr one line, exit codes.

#![allow(clippy::expect_used, reason = "test helpers fail the test")]

use std::process::{Command, Output};

fn cpcctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpcctl"))
        .args(args)
        .output()
        .expect("cpcctl runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = cpcctl(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn refused(args: &[&str]) -> String {
    let out = cpcctl(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line for {args:?}, got {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn icpc_due_counts_the_platinum_jubilee_holidays() {
    // Fri 27 May 2022; Thu 2 and Fri 3 June were bank holidays.
    let out = json(&["timescales", "--strategy-discussion", "2022-05-27"]);
    assert_eq!(out["icpc_due"], "2022-06-21");
    assert_eq!(out["nation"], "england-and-wales");
}

#[test]
fn icpc_gives_core_group_and_clamped_first_review() {
    let out = json(&["timescales", "--icpc", "2023-11-30"]);
    assert_eq!(out["first_core_group_due"], "2023-12-14");
    // 30 Nov + 3 months = 29 Feb 2024 (leap year), a Thursday.
    assert_eq!(out["first_review_due"], "2024-02-29");
    assert_eq!(out["first_review_latest_working_day"], "2024-02-29");
}

#[test]
fn review_six_months_on_clamps_to_february() {
    let out = json(&["timescales", "--review", "2022-08-31"]);
    assert_eq!(out["next_review_due"], "2023-02-28");
    let out = json(&["timescales", "--review", "2023-08-31"]);
    assert_eq!(out["next_review_due"], "2024-02-29");
}

#[test]
fn reports_due_two_working_days_before_skipping_easter() {
    // Tue 2 Apr 2024: Mon 1 Apr is Easter Monday, Fri 29 Mar Good Friday.
    let out = json(&["timescales", "--conference", "2024-04-02"]);
    assert_eq!(out["reports_due"], "2024-03-27");
}

#[test]
fn transfer_in_over_christmas() {
    // Notified Fri 20 Dec 2024: 25, 26 Dec and 1 Jan are holidays, so the
    // 15th working day is Wed 15 Jan, not Fri 10 Jan.
    let out = json(&["timescales", "--transfer-in", "2024-12-20"]);
    assert_eq!(out["transfer_in_conference_due"], "2025-01-15");
}

#[test]
fn nation_changes_the_calendar() {
    // St Andrew's Day 2026 falls on a Monday in Scotland only.
    let england = json(&["timescales", "--conference", "2026-12-02"]);
    let scotland = json(&[
        "timescales",
        "--conference",
        "2026-12-02",
        "--nation",
        "scotland",
    ]);
    assert_eq!(england["reports_due"], "2026-11-30");
    assert_eq!(scotland["reports_due"], "2026-11-27");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        &["timescales"][..],
        &["timescales", "--icpc", "2023-02-30"],
        &["timescales", "--icpc", "2023-2-3"],
        &["timescales", "--icpc", "yesterday"],
        &[
            "timescales",
            "--icpc",
            "2023-01-01",
            "--review",
            "2023-01-01",
        ],
        &["timescales", "--icpc", "2023-01-01", "--nation", "wales"],
        &["timescales", "--icpc", "1999-12-31"],
        &["timescales", "--review", "2100-10-01"],
        &["timescales", "--kind", "review", "--icpc", "2023-01-01"],
        &["timescales", "--strategy-discussion"],
        &["no-such-command"],
    ] {
        refused(args);
    }
}

#[test]
fn help_succeeds() {
    let out = cpcctl(&["timescales", "--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--strategy-discussion"));
}

#[test]
fn dev_token_is_accepted_by_a_development_authenticator() {
    let dir = std::env::temp_dir().join(format!("cpcctl-dev-{}", std::process::id()));
    let out = cpcctl(&[
        "dev",
        "token",
        "--person",
        "chair-7",
        "--role",
        "conference_chair",
        "--role",
        "team_manager",
        "--authority",
        "E10000013",
        "--agency-kind",
        "childrens_social_care",
        "--agency-name",
        "Gloucestershire",
        "--key-dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let config = cpc_identity::IdentityConfig {
        mode: cpc_identity::Mode::Development,
        dev_key_dir: dir.clone(),
        ..cpc_identity::IdentityConfig::default()
    };
    let authenticator =
        cpc_identity::Authenticator::from_config(&config).expect("development config");
    let header = format!("Bearer {}", token.trim());
    let caller = authenticator
        .authenticate_bearer(
            Some(&header),
            chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
        )
        .expect("the minted token verifies");
    assert_eq!(caller.subject(), "chair-7");
    assert_eq!(caller.authority_id(), "E10000013");
    assert!(caller.has_role(cpc_identity::Role::ConferenceChair));
    assert!(caller.has_role(cpc_identity::Role::TeamManager));
    assert_eq!(
        caller.agency().map(|a| a.name.as_str()),
        Some("Gloucestershire")
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn dev_token_refuses_unknown_roles() {
    refused(&[
        "dev",
        "token",
        "--person",
        "p",
        "--role",
        "superuser",
        "--authority",
        "E1",
    ]);
}

#[test]
fn dev_token_refuses_a_lifetime_cpcd_would_refuse() {
    for ttl in ["13h", "30d", "0s"] {
        let message = refused(&[
            "dev",
            "token",
            "--person",
            "p",
            "--role",
            "social_worker",
            "--authority",
            "E10000013",
            "--ttl",
            ttl,
        ]);
        assert!(message.contains("at most 12h"), "{ttl}: {message}");
    }
}

#[test]
fn revocations_are_added_checked_and_a_bad_edit_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("cpcctl-revocations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join("revocations.json");
    let _ = std::fs::remove_file(&file);
    let path = file.to_str().expect("utf-8 path");
    let issuer = "https://login.example.gov.uk/realms/cpc";

    // Added to a list that does not exist yet, at a given time and now.
    let add = |subject: &str, more: &[&str]| {
        let mut args = vec![
            "revocations",
            "add",
            path,
            "--issuer",
            issuer,
            "--subject",
            subject,
        ];
        args.extend_from_slice(more);
        json(&args)
    };
    let entry = add("sw-1", &["--issued-before", "2026-12-06T20:15:00Z"]);
    assert_eq!(entry["issued_before"], "2026-12-06T20:15:00Z");
    let before = chrono::Utc::now();
    let entry = add("sw-2", &[]);
    let now: chrono::DateTime<chrono::Utc> = entry["issued_before"]
        .as_str()
        .expect("a time")
        .parse()
        .expect("RFC 3339");
    assert!(
        now > before && now <= before + chrono::TimeDelta::seconds(2),
        "{now}"
    );

    // What cpcd reads: both people, each from their time.
    let list = cpc_identity::Revocations::load(&file).expect("a list cpcd accepts");
    assert_eq!(list.len(), 2);
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .timestamp()
    };
    assert!(list.revokes(issuer, "sw-1", Some(at("2026-12-06T20:14:59Z"))));
    assert!(!list.revokes(issuer, "sw-1", Some(at("2026-12-06T20:15:00Z"))));
    assert!(list.revokes(issuer, "sw-2", Some(before.timestamp())));
    let out = cpcctl(&["revocations", "check", path]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 people revoked"
    );

    // An entry cpcd would refuse is not written.
    let kept = std::fs::read(&file).expect("the list");
    let out = cpcctl(&[
        "revocations",
        "add",
        path,
        "--issuer",
        "",
        "--subject",
        "sw-3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("issuer must not be empty"), "{stderr}");
    assert_eq!(std::fs::read(&file).expect("the list"), kept);
    // A file that is not a list fails the check, naming the file.
    std::fs::write(&file, "{ not json").expect("written");
    let out = cpcctl(&["revocations", "check", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revocations.json"));
    std::fs::remove_dir_all(&dir).expect("removed");
}

#[test]
fn policies_digest_is_the_digest_audit_records_name() {
    let dir = cpc_authz::bundled_policy_dir();
    let out = cpcctl(&["policies", "digest", dir.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = cpc_authz::Authorizer::load(&dir).expect("the bundled policies");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected.digest()
    );
    // A folder that is not a policy set is refused, as cpcd would refuse it.
    let empty = std::env::temp_dir().join(format!("cpcctl-policies-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("created");
    let out = cpcctl(&["policies", "digest", empty.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&empty).expect("removed");
}
