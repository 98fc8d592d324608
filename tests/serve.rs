//! `cpcd` as deployed: every service in one process, over a real socket,
//! against a fresh Postgres database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod cases_log;

use cases_log::{append_to_cases_log, earlier_record};
use cpc_platform::testing::{TestDatabase, TestServer, tamper_with_audit_log};
use cpcd::Selection;
use tokio_stream::StreamExt as _;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_reflection::pb::{v1, v1alpha};

const SERVICES: [&str; 4] = [
    "cpc.cases.v1.CasesService",
    "cpc.scheduling.v1.ConferencesService",
    "cpc.reporting.v1.ReportingService",
    "cpc.escalation.v1.EscalationService",
];

async fn check(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> Result<ServingStatus, tonic::Status> {
    let response: HealthCheckResponse = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?
        .into_inner();
    Ok(ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown))
}

#[tokio::test]
async fn all_services_report_serving_over_grpc() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let mut health = HealthClient::new(server.channel().await);

    assert_eq!(
        check(&mut health, "").await.unwrap(),
        ServingStatus::Serving
    );
    for service in SERVICES {
        assert_eq!(
            check(&mut health, service).await.unwrap(),
            ServingStatus::Serving,
            "{service}"
        );
    }
    // Health answers only for what answers calls: a probe for a service
    // that does not exist fails.
    let unknown = check(&mut health, "cpc.nothing.v1.NothingService")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn one_service_per_process_serves_only_itself() {
    let db = TestDatabase::create().await;
    let mut config = db.config();
    // Scheduling follows the cases feed, served elsewhere in a deployment
    // like this one.
    config
        .feeds
        .urls
        .insert("cases".to_owned(), "http://127.0.0.1:9".to_owned());
    let server = TestServer::start(config, Selection::Scheduling.components()).await;
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(
        check(&mut health, "cpc.scheduling.v1.ConferencesService")
            .await
            .unwrap(),
        ServingStatus::Serving
    );
    let other = check(&mut health, "cpc.cases.v1.CasesService")
        .await
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::NotFound);
    assert_eq!(listed_services_v1(&server).await, {
        let mut expected = vec![
            "cpc.audit.v1.AuditService".to_owned(),
            "cpc.scheduling.v1.AttendanceService".to_owned(),
            "cpc.scheduling.v1.CalendarService".to_owned(),
            "cpc.scheduling.v1.ChairsService".to_owned(),
            "cpc.scheduling.v1.ConferencesService".to_owned(),
            "cpc.scheduling.v1.CoreGroupsService".to_owned(),
            "grpc.health.v1.Health".to_owned(),
            "grpc.reflection.v1.ServerReflection".to_owned(),
        ];
        expected.sort();
        expected
    });
    server.stop().await;
}

async fn listed_services_v1(server: &TestServer) -> Vec<String> {
    use v1::server_reflection_client::ServerReflectionClient;
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.expect("one response").unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!(
            "expected a service list, got {:?}",
            response.message_response
        );
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn reflection_answers_v1_and_v1alpha() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;

    let v1_names = listed_services_v1(&server).await;
    for service in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            v1_names.iter().any(|n| n == service),
            "{service} missing from {v1_names:?}"
        );
    }

    // grpcio-reflection and older grpcurl speak only v1alpha.
    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "cpc.cases.v1.CasesService".to_owned(),
        )),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.expect("one response").unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!(
            "expected file descriptors, got {:?}",
            response.message_response
        );
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn each_service_migrates_into_its_own_schema() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let pool = sqlx::PgPool::connect(secrecy_url(&db).as_str())
        .await
        .unwrap();
    let mut schemas: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    schemas.sort();
    assert_eq!(schemas, ["cases", "escalation", "reporting", "scheduling"]);
    // The platform's tables (the change feed) are in every service's schema.
    let feeds: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'change_events' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(feeds, ["cases", "escalation", "reporting", "scheduling"]);
    pool.close().await;
    server.stop().await;
}

/// Row-level security in every service's schema, not only the one whose
/// store tests look at it: each table of a child's data is bound to one
/// authority, and each service's query role can read its own schema only
/// ("each service owns its own Postgres schema and never reads another's
/// tables", enforced by Postgres as well as by the code).
#[tokio::test]
async fn every_schema_binds_its_tables_to_an_authority_and_keeps_them_from_the_others() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let pool = sqlx::PgPool::connect(secrecy_url(&db).as_str())
        .await
        .unwrap();
    // Outside row-level security: the change feed (served by authority
    // through StreamChanges), the migrations' own table, the calls counted
    // per caller (counted before any authority's transaction) and the audit
    // log, one hash chain across the authorities served (each append reads
    // the chain's head, whoever's it is; reads name the authority, and the
    // query role may only append to it, below).
    let tables: Vec<(String, String, bool, bool, i64)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname IN ('cases', 'scheduling', 'reporting', 'escalation') \
           AND c.relkind IN ('r', 'p') \
           AND c.relname NOT IN ('change_events', '_sqlx_migrations', 'caller_rates', 'audit_log') \
         ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for schema in ["cases", "scheduling", "reporting", "escalation"] {
        assert!(
            tables.iter().filter(|t| t.0 == schema).count() >= 5,
            "{schema}: {tables:?}"
        );
    }
    let unbound: Vec<_> = tables
        .iter()
        .filter(|(_, _, enabled, forced, policies)| !(*enabled && *forced && *policies >= 1))
        .collect();
    assert!(unbound.is_empty(), "not bound to an authority: {unbound:?}");

    // The query roles bypass nothing, and reach no other schema's tables.
    let privileged: Vec<String> = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_roles \
         WHERE rolname IN ('cpc_cases_app', 'cpc_scheduling_app', 'cpc_reporting_app', 'cpc_escalation_app') \
           AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcanlogin)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(privileged.is_empty(), "{privileged:?}");
    let crossing: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT r.rolname::text, n.nspname::text, c.relname::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN pg_roles r \
         WHERE n.nspname IN ('cases', 'scheduling', 'reporting', 'escalation') \
           AND c.relkind IN ('r', 'p') \
           AND r.rolname IN ('cpc_cases_app', 'cpc_scheduling_app', 'cpc_reporting_app', 'cpc_escalation_app') \
           AND r.rolname <> 'cpc_' || n.nspname || '_app' \
           AND (has_table_privilege(r.oid, c.oid, 'SELECT') \
                OR has_table_privilege(r.oid, c.oid, 'INSERT') \
                OR has_table_privilege(r.oid, c.oid, 'UPDATE') \
                OR has_table_privilege(r.oid, c.oid, 'DELETE')) \
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(crossing.is_empty(), "{crossing:?}");
    // (Each does reach its own: the check above can find a grant.)
    let own: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = 'change_events' \
           AND has_table_privilege('cpc_' || n.nspname || '_app', c.oid, 'SELECT')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(own, 4);
    let rewriting: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = 'audit_log' \
           AND (has_table_privilege('cpc_' || n.nspname || '_app', c.oid, 'UPDATE') \
                OR has_table_privilege('cpc_' || n.nspname || '_app', c.oid, 'DELETE') \
                OR has_table_privilege('cpc_' || n.nspname || '_app', c.oid, 'TRUNCATE') \
                OR NOT has_table_privilege('cpc_' || n.nspname || '_app', c.oid, 'INSERT'))",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        rewriting.is_empty(),
        "audit logs not append-only: {rewriting:?}"
    );
    pool.close().await;
    server.stop().await;
}

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let db = TestDatabase::create().await;
    let (a, b) = tokio::join!(
        TestServer::start(db.config(), Selection::All.components()),
        TestServer::start(db.config(), Selection::All.components()),
    );
    let mut health = HealthClient::new(b.channel().await);
    assert_eq!(
        check(&mut health, "").await.unwrap(),
        ServingStatus::Serving
    );
    tokio::join!(a.stop(), b.stop());
}

#[tokio::test]
async fn shutdown_reports_not_serving_before_closing() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "cpc.cases.v1.CasesService".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.expect("initial status").unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let stopping = tokio::spawn(server.stop());
    let next = watch.next().await.expect("status change").unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // The open watch is an in-flight call; ending it lets the drain finish.
    drop(watch);
    stopping.await.unwrap();
}

fn secrecy_url(db: &TestDatabase) -> String {
    use secrecy::ExposeSecret as _;
    db.url().expose_secret().to_owned()
}

#[tokio::test]
async fn a_deleted_tail_is_caught_by_the_anchor_kept_from_an_earlier_verification() {
    use cpc_platform::audit_log::{ServiceAnchor, VerifyError, describe, verify_chains};
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    server.stop().await;
    append_to_cases_log(&db, (1..=3).map(|n| earlier_record(n, None))).await;
    let components = Selection::All.components();

    // The head an auditor keeps elsewhere, as printed.
    let reports = verify_chains(&db.config(), &components, &[]).await.unwrap();
    let line = describe(
        "cases",
        &reports.iter().find(|(s, _)| *s == "cases").unwrap().1,
    );
    assert!(
        line.starts_with("cases: intact, 3 records, head cases=3:"),
        "{line}"
    );
    let anchor: ServiceAnchor = line.rsplit(' ').next().unwrap().parse().unwrap();
    let intact = verify_chains(&db.config(), &components, std::slice::from_ref(&anchor))
        .await
        .unwrap();
    assert!(intact.iter().all(|(_, r)| r.is_ok()), "{intact:?}");

    // A tamperer with superuser powers deletes the last record: the chain
    // that is left is whole, so only the anchor shows the loss.
    tamper_with_audit_log(&db, "cases", "DELETE FROM audit_log WHERE seq = 3").await;
    let unanchored = verify_chains(&db.config(), &components, &[]).await.unwrap();
    let cases = &unanchored.iter().find(|(s, _)| *s == "cases").unwrap().1;
    assert!(describe("cases", cases).starts_with("cases: intact, 2 records"));
    let anchored = verify_chains(&db.config(), &components, std::slice::from_ref(&anchor))
        .await
        .unwrap();
    let cases = &anchored.iter().find(|(s, _)| *s == "cases").unwrap().1;
    assert_eq!(
        describe("cases", cases),
        "cases: BROKEN at record 3 after 2 verified: record 3 is missing"
    );
    // The other logs are verified as before.
    assert!(
        anchored
            .iter()
            .filter(|(s, _)| *s != "cases")
            .all(|(_, r)| r.is_ok())
    );

    // An anchor for a service not verified, or two for one, is refused
    // rather than left unchecked.
    let elsewhere = ServiceAnchor {
        service: "reportng".into(),
        anchor: anchor.anchor,
    };
    for anchors in [vec![elsewhere], vec![anchor.clone(), anchor.clone()]] {
        let err = verify_chains(&db.config(), &components, &anchors)
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Anchor(_)), "{err}");
    }
}

#[tokio::test]
async fn audit_chains_verify_and_tampering_is_reported() {
    use cpc_platform::audit_log::{describe, verify_chains};
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    server.stop().await;

    let reports = verify_chains(&db.config(), &Selection::All.components(), &[])
        .await
        .unwrap();
    let lines: Vec<String> = reports.iter().map(|(s, r)| describe(s, r)).collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines.iter().all(|l| l.contains(": intact, 0 records")),
        "{lines:?}"
    );

    // Two records in the cases log, then a tamperer with superuser powers edits the first.
    append_to_cases_log(&db, (1..=2).map(|n| earlier_record(n, None))).await;
    tamper_with_audit_log(
        &db,
        "cases",
        "UPDATE audit_log SET actor_subject = 'someone-else' WHERE seq = 1",
    )
    .await;

    let reports = verify_chains(&db.config(), &Selection::All.components(), &[])
        .await
        .unwrap();
    let cases = reports.iter().find(|(s, _)| *s == "cases").unwrap();
    assert!(
        describe(cases.0, &cases.1).starts_with("cases: BROKEN at record 1"),
        "{}",
        describe(cases.0, &cases.1)
    );
    let scheduling = reports.iter().find(|(s, _)| *s == "scheduling").unwrap();
    assert!(scheduling.1.is_ok());
}

#[tokio::test]
async fn reflection_can_be_turned_off() {
    let db = TestDatabase::create().await;
    let mut config = db.config();
    config.reflection = false;
    let server = TestServer::start(config, Selection::All.components()).await;
    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let refused = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
    // Everything else is served as before.
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(
        check(&mut health, "cpc.cases.v1.CasesService")
            .await
            .unwrap(),
        ServingStatus::Serving
    );
    server.stop().await;
}

#[tokio::test]
async fn production_refuses_a_database_reached_without_verified_tls() {
    let db = TestDatabase::create().await;
    let mut config = db.config();
    config.identity.mode = cpc_identity::Mode::Production;
    // The listener's TLS is checked for presence before the database URL,
    // and its files are read only after it.
    config.tls = Some(cpc_platform::tls::TlsConfig {
        cert_file: "tls.crt".into(),
        key_file: "tls.key".into(),
        client_ca_file: None,
        client_crl_file: None,
        reload_interval: std::time::Duration::from_secs(60),
        handshake_timeout: std::time::Duration::from_secs(5),
    });
    config.database_url = secrecy::SecretString::from(
        "postgres://cpc:hunter2@db.example.internal/cpc?sslmode=require".to_owned(),
    );
    let Err(err) = cpc_platform::Server::prepare(config, Selection::All.components()).await else {
        panic!("prepared a production server whose database connection is not verified");
    };
    assert!(
        matches!(
            &err,
            cpc_platform::serve::ServeError::Db(cpc_platform::db::DbError::UnverifiedTls { host })
                if host == "db.example.internal"
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// The repository's root, where the shipped configurations live.
fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

#[test]
fn the_development_configuration_loads_and_passes_its_checks() {
    let path = repository().join("config/development.toml");
    let config = cpc_platform::Config::load(Some(&path)).unwrap();
    config
        .identity
        .validate_for(config.listen_addr, config.tls.is_some())
        .unwrap();
    config.identity.validate().unwrap();
    assert!(config.authorities.contains_key("E10000013"));
    assert!(config.reflection);
}

#[test]
fn the_production_configuration_loads_and_wants_only_its_issuer() {
    // The cpc.toml block of the ConfigMap, as Kubernetes mounts it.
    let yaml = std::fs::read_to_string(repository().join("deploy/config.yaml")).unwrap();
    let block: String = yaml
        .lines()
        .skip_while(|line| line.trim() != "cpc.toml: |")
        .skip(1)
        .take_while(|line| line.starts_with("    ") || line.trim().is_empty())
        .map(|line| format!("{}\n", line.get(4..).unwrap_or("")))
        .collect();
    assert!(block.contains("[identity]"), "{block}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cpc.toml");
    std::fs::write(&path, &block).unwrap();

    let config = cpc_platform::Config::load(Some(&path)).unwrap();
    assert!(config.tls.is_some(), "TLS on the listener");
    assert!(!config.reflection, "no reflection in production");
    assert_eq!(config.identity.mode, cpc_identity::Mode::Production);
    // The listener and its TLS pass; the council adds its identity
    // provider, and until then cpcd refuses to start, saying why.
    config
        .identity
        .validate_for(config.listen_addr, config.tls.is_some())
        .unwrap();
    let err = config.identity.validate().unwrap_err();
    assert!(
        matches!(err, cpc_identity::IdentityError::NoIssuers),
        "{err}"
    );
    // The revocation lists it reads, the deployment's and the authority's
    // own, are the ConfigMaps', projected into one directory, and start as
    // valid empty lists.
    assert_eq!(
        config.identity.revocations_file.as_deref(),
        Some(std::path::Path::new(
            "/etc/cpc/revocations/revocations.json"
        ))
    );
    assert_eq!(
        config
            .identity
            .authority_revocations
            .iter()
            .map(|(authority, file)| (authority.as_str(), file.to_str().unwrap()))
            .collect::<Vec<_>>(),
        [("E10000013", "/etc/cpc/revocations/E10000013.json")]
    );
    let yaml = std::fs::read_to_string(repository().join("deploy/revocations.yaml")).unwrap();
    for key in ["revocations.json: |", "E10000013.json: |"] {
        let list = yaml
            .lines()
            .skip_while(|line| line.trim() != key)
            .nth(1)
            .unwrap();
        assert!(
            cpc_identity::Revocations::from_json(list.trim().as_bytes())
                .unwrap()
                .is_empty(),
            "{key}"
        );
    }
    for service in ["cases", "scheduling", "reporting", "escalation"] {
        let manifest =
            std::fs::read_to_string(repository().join(format!("deploy/{service}.yaml"))).unwrap();
        assert!(
            manifest
                .contains("{name: revocations, mountPath: /etc/cpc/revocations, readOnly: true}")
                && manifest.contains("- configMap: {name: cpc-revocations}")
                && manifest.contains("- configMap: {name: cpc-revocations-e10000013}"),
            "{service} mounts the revocation lists"
        );
    }
}
