//! TLS on the listener, services identified by client certificates (mutual
//! TLS), and certificate reload without a restart: over real sockets, with
//! certificates made for the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

use std::path::Path;
use std::time::Duration;

use cpc_identity::{Role, ServiceIdentity};
use cpc_platform::testing::{TestDatabase, TestServer};
use cpc_platform::tls::TlsConfig;
use cpc_proto::cases::v1 as pb;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpcd::Selection;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, RevokedCertParams, SanType, SerialNumber, date_time_ymd,
};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf certificate signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &Ca, common_name: &str, sans: Vec<SanType>) -> (String, String) {
    numbered_leaf(ca, common_name, sans, None)
}

/// [`leaf`] with the serial number given, for revoking it.
fn numbered_leaf(
    ca: &Ca,
    common_name: &str,
    sans: Vec<SanType>,
    serial: Option<u64>,
) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.subject_alt_names = sans;
    params.serial_number = serial.map(SerialNumber::from);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// `ca`'s certificate revocation list (number `number`), revoking the
/// certificates with these serial numbers, current until 2099.
fn revocation_list(ca: &Ca, number: u64, revoked: &[u64]) -> String {
    revocation_list_of_years(ca, number, revoked, (2026, 2099))
}

/// [`revocation_list`], issued on 1 January of the first year and due to be
/// replaced (`nextUpdate`) on 1 January of the second.
fn revocation_list_of_years(ca: &Ca, number: u64, revoked: &[u64], years: (i32, i32)) -> String {
    CertificateRevocationListParams {
        this_update: date_time_ymd(years.0, 1, 1),
        next_update: date_time_ymd(years.1, 1, 1),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|&serial| RevokedCertParams {
                serial_number: SerialNumber::from(serial),
                revocation_time: date_time_ymd(years.0, 1, 2),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca.issuer)
    .unwrap()
    .pem()
    .unwrap()
}

/// The record system's identity in its client certificates, mapped to
/// the service `liquidlogic-lcs` by [`start_revoking`].
fn lcs_san() -> Vec<SanType> {
    vec![SanType::URI(
        "spiffe://county.example/lcs".try_into().unwrap(),
    )]
}

fn server_leaf(ca: &Ca) -> (String, String) {
    leaf(
        ca,
        "cpcd",
        vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ],
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    // Write then rename, as a secret update does, so a reload never reads
    // half a file.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

struct Fixture {
    db: TestDatabase,
    server: TestServer,
    dir: std::path::PathBuf,
}

impl Fixture {
    /// Stops the server and removes its TLS files.
    async fn stop(self) {
        self.server.stop().await;
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

async fn start(server_ca: &Ca, client_ca: &Ca) -> Fixture {
    start_revoking(server_ca, client_ca, None).await
}

/// [`start`], with `crl` (PEM) as the client certificates' revocation list.
async fn start_revoking(server_ca: &Ca, client_ca: &Ca, crl: Option<&str>) -> Fixture {
    let db = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("cpc-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = server_leaf(server_ca);
    write(&dir, "server.pem", &cert);
    write(&dir, "server.key", &key);
    write(&dir, "clients-ca.pem", &client_ca.pem);
    if let Some(crl) = crl {
        write(&dir, "clients-crl.pem", crl);
    }
    let mut config = db.config();
    config.tls = Some(tls_files(&dir, crl.is_some()));
    config.identity.service_identities = vec![ServiceIdentity {
        certificate_subject: "spiffe://county.example/lcs".into(),
        subject: "liquidlogic-lcs".into(),
        authority_id: "E10000013".into(),
        acts_for: vec![],
        roles: vec![Role::Integration],
    }];
    let server = TestServer::start(config, Selection::All.components()).await;
    Fixture { db, server, dir }
}

/// The `[tls]` section of a server whose files [`start_revoking`] wrote in
/// `dir`, read every 100 ms.
fn tls_files(dir: &Path, with_crl: bool) -> TlsConfig {
    TlsConfig {
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
        client_ca_file: Some(dir.join("clients-ca.pem")),
        client_crl_file: with_crl.then(|| dir.join("clients-crl.pem")),
        reload_interval: Duration::from_millis(100),
        handshake_timeout: Duration::from_secs(5),
    }
}

async fn connect(
    f: &Fixture,
    trusted: &Ca,
    identity: Option<&(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&trusted.pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Endpoint::from_shared(format!("https://localhost:{}", f.server.addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

async fn serving(channel: Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(drop)
}

fn new_child() -> pb::CreateChildRequest {
    pb::CreateChildRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        child: Some(pb::Child {
            authority_id: "E10000013".into(),
            la_child_id: "LCS0001".into(),
            upn: "A950000178301".into(),
            given_names: "Jamie".into(),
            family_name: "Smith".into(),
            birth_date: Some(cpc_proto::common::v1::Date {
                year: 2019,
                month: 3,
                day: 10,
            }),
            sex: pb::Sex::Male as i32,
            ethnicity_code: "WBRI".into(),
            disability_codes: vec!["NONE".into()],
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn a_record_system_is_identified_by_its_client_certificate() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let f = start(&servers, &clients).await;

    // A mapped certificate: the integration may register a child, and
    // reads nothing (integration-record-system policy).
    let lcs = leaf(&clients, "lcs", lcs_san());
    let mut client = CasesServiceClient::new(connect(&f, &servers, Some(&lcs)).await.unwrap());
    let child = client
        .create_child(new_child())
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    let err = client
        .get_child(pb::GetChildRequest {
            child_id: child.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Naming another authority it does not act for: refused, and recorded
    // under the integration's own authority and its certificate.
    let mut elsewhere = tonic::Request::new(new_child());
    elsewhere
        .metadata_mut()
        .insert("x-cpc-authority", "E10000014".parse().unwrap());
    let err = client.create_child(elsewhere).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        refusals_recorded(&f).await,
        [(
            Some(credential_of(&lcs.0)),
            "credential refused: not_acting_for".to_owned()
        )]
    );

    // A certificate from the right CA that no service identity names.
    let stranger = leaf(&clients, "stranger", Vec::new());
    let mut client = CasesServiceClient::new(connect(&f, &servers, Some(&stranger)).await.unwrap());
    let err = client.create_child(new_child()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // A certificate from another CA does not complete the handshake.
    let rogue_ca = ca("rogue");
    let rogue = leaf(&rogue_ca, "lcs", lcs_san());
    let refused = match connect(&f, &servers, Some(&rogue)).await {
        Err(_) => true,
        Ok(channel) => serving(channel).await.is_err(),
    };
    assert!(
        refused,
        "a client certificate from an untrusted CA is refused"
    );

    // Without a certificate a caller still reaches the server (people
    // present bearer tokens), and without a token is unauthenticated.
    let mut client = CasesServiceClient::new(connect(&f, &servers, None).await.unwrap());
    let err = client.create_child(new_child()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    f.stop().await;
}

#[tokio::test]
async fn a_token_bound_to_a_portals_certificate_is_refused_on_any_other_connection() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let f = start(&servers, &clients).await;
    // The police portal calls with mutual TLS, relaying its user's token,
    // which the identity provider bound to the portal's certificate.
    let portal = leaf(&clients, "police-portal", Vec::new());
    let key = cpc_identity::dev::DevKey::load_or_create(f.db.dev_key_dir()).unwrap();
    let mut claims = cpc_identity::dev::DevClaims::new(
        uuid::Uuid::new_v4().to_string(),
        "E10000013",
        [Role::SocialWorker],
    );
    claims.on_behalf_of = Some("police-portal".into());
    claims.certificate_thumbprint = Some(cpc_identity::certificate_thumbprint(&der_of(&portal.0)));
    let token = key.mint(&claims);
    let create = |la_child_id: &str| {
        let mut request = new_child();
        if let Some(child) = request.child.as_mut() {
            child.la_child_id = la_child_id.into();
        }
        let mut request = tonic::Request::new(request);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
    };
    CasesServiceClient::new(connect(&f, &servers, Some(&portal)).await.unwrap())
        .create_child(create("BOUND01"))
        .await
        .unwrap();

    // The token copied out of the portal and replayed without its key:
    // with no certificate, or with another the CA signed.
    let other = leaf(&clients, "stranger", Vec::new());
    for identity in [None, Some(&other)] {
        let err = CasesServiceClient::new(connect(&f, &servers, identity).await.unwrap())
            .create_child(create("BOUND02"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert!(
            err.message()
                .contains("bound to a client certificate this connection did not present"),
            "{}",
            err.message()
        );
    }
    // The portal's call reached the policies; each replay was refused
    // before, and recorded under the token, for the security team.
    let token_credential = credentials_recorded(&f).await[0].clone();
    assert!(
        token_credential
            .as_deref()
            .is_some_and(|id| id.starts_with("token:")),
        "{token_credential:?}"
    );
    assert_eq!(
        refusals_recorded(&f).await,
        [
            (
                token_credential.clone(),
                "credential refused: certificate_binding_mismatch".to_owned()
            ),
            (
                token_credential,
                "credential refused: certificate_binding_mismatch".to_owned()
            ),
        ]
    );
    f.stop().await;
}

#[tokio::test]
async fn plaintext_is_refused_and_certificates_reload_without_restart() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let f = start(&servers, &clients).await;
    assert!(
        serving(connect(&f, &servers, None).await.unwrap())
            .await
            .is_ok()
    );
    // Plaintext HTTP/2 to a TLS listener gets nowhere.
    let plaintext =
        match Endpoint::from_shared(format!("http://127.0.0.1:{}", f.server.addr.port()))
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
        {
            Err(_) => true,
            Ok(channel) => serving(channel).await.is_err(),
        };
    assert!(plaintext, "a plaintext client is refused");

    // The certificate is renewed by a new CA in place; new connections
    // get it without a restart.
    let renewed = ca("cpc servers 2027");
    assert!(connect(&f, &renewed, None).await.is_err());
    let (cert, key) = server_leaf(&renewed);
    write(&f.dir, "server.key", &key);
    write(&f.dir, "server.pem", &cert);
    let mut reloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(channel) = connect(&f, &renewed, None).await {
            reloaded = serving(channel).await.is_ok();
            break;
        }
    }
    assert!(reloaded, "the renewed certificate is served within 5 s");

    // A broken renewal is ignored: the last good certificate stays.
    write(&f.dir, "server.pem", "not a certificate");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        serving(connect(&f, &renewed, None).await.unwrap())
            .await
            .is_ok()
    );
    f.stop().await;
}

/// A PEM certificate's DER bytes.
fn der_of(certificate_pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = certificate_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// How audit records name a client certificate (PEM): its SHA-256
/// fingerprint.
fn credential_of(certificate_pem: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(der_of(certificate_pem));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("certificate:sha256:{hex}")
}

/// The credentials the cases service's audit log names, in order.
async fn credentials_recorded(f: &Fixture) -> Vec<Option<String>> {
    let options = cpc_platform::db::schema_options(f.db.url(), cpc_cases::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let credentials = sqlx::query_scalar("SELECT credential_id FROM audit_log ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    credentials
}

/// The credential and reason of each refused credential the cases
/// service's audit log records, in order.
async fn refusals_recorded(f: &Fixture) -> Vec<(Option<String>, String)> {
    let options = cpc_platform::db::schema_options(f.db.url(), cpc_cases::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let refusals = sqlx::query_as(
        "SELECT credential_id, reason FROM audit_log WHERE $1 = ANY(policy_ids) ORDER BY seq",
    )
    .bind(cpc_platform::access::CREDENTIAL_REFUSED)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    refusals
}

/// Whether a client with `identity` gets as far as a served call.
async fn handshakes(f: &Fixture, servers: &Ca, identity: &(String, String)) -> bool {
    match connect(f, servers, Some(identity)).await {
        Err(_) => false,
        Ok(channel) => serving(channel).await.is_ok(),
    }
}

/// Whether a client with `identity` stops getting through within 5 s (the
/// server reads its files every 100 ms).
async fn refused_within_5s(f: &Fixture, servers: &Ca, identity: &(String, String)) -> bool {
    handshakes_within_5s(f, servers, identity, false).await
}

/// Whether, within 5 s, a client with `identity` getting through comes to
/// be `expected`.
async fn handshakes_within_5s(
    f: &Fixture,
    servers: &Ca,
    identity: &(String, String),
    expected: bool,
) -> bool {
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if handshakes(f, servers, identity).await == expected {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn a_revoked_client_certificate_is_refused_once_its_ca_lists_it() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let f = start_revoking(&servers, &clients, Some(&revocation_list(&clients, 1, &[]))).await;
    let stolen = numbered_leaf(&clients, "lcs", lcs_san(), Some(0x51));
    let mut client = CasesServiceClient::new(connect(&f, &servers, Some(&stolen)).await.unwrap());
    client.create_child(new_child()).await.unwrap();

    // The record system's key is stolen: the CA revokes the certificate and
    // the renewed list is put in place. New connections with it fail, and
    // the certificate issued in its place (same identity) works.
    write(
        &f.dir,
        "clients-crl.pem",
        &revocation_list(&clients, 2, &[0x51]),
    );
    assert!(
        refused_within_5s(&f, &servers, &stolen).await,
        "the revoked certificate is refused once the list is reloaded"
    );
    let reissued = numbered_leaf(&clients, "lcs", lcs_san(), Some(0x52));
    let mut client = CasesServiceClient::new(connect(&f, &servers, Some(&reissued)).await.unwrap());
    let mut another = new_child();
    if let Some(child) = another.child.as_mut() {
        child.la_child_id = "LCS0002".into();
    }
    client.create_child(another).await.unwrap();

    // A list from another CA says nothing about these certificates, so
    // they are refused (fail closed) while people without one still call.
    write(
        &f.dir,
        "clients-crl.pem",
        &revocation_list(&ca("rogue"), 3, &[]),
    );
    assert!(
        refused_within_5s(&f, &servers, &reissued).await,
        "a certificate whose CA gave no list is refused"
    );
    // The audit log tells the calls made with the stolen certificate from
    // those made with its replacement, and an auditor lists them.
    assert_eq!(
        credentials_recorded(&f).await,
        [
            Some(credential_of(&stolen.0)),
            Some(credential_of(&reissued.0))
        ]
    );
    let key = cpc_identity::dev::DevKey::load_or_create(f.db.dev_key_dir()).unwrap();
    let auditor = key.mint(&cpc_identity::dev::DevClaims::new(
        "aud-1",
        "E10000013",
        [Role::Auditor],
    ));
    let mut request = tonic::Request::new(cpc_proto::audit::v1::ListAccessRecordsRequest {
        service: "cases".into(),
        credential_id: credential_of(&stolen.0),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {auditor}").parse().unwrap(),
    );
    let listed = cpc_proto::audit::v1::audit_service_client::AuditServiceClient::new(
        connect(&f, &servers, None).await.unwrap(),
    )
    .list_access_records(request)
    .await
    .unwrap()
    .into_inner()
    .records;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].rpc_method,
        "/cpc.cases.v1.CasesService/CreateChild"
    );
    assert_eq!(listed[0].credential_id, credential_of(&stolen.0));
    assert!(
        serving(connect(&f, &servers, None).await.unwrap())
            .await
            .is_ok()
    );
    f.stop().await;
}

#[tokio::test]
async fn an_out_of_date_revocation_list_refuses_client_certificates_until_renewed() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let lcs = numbered_leaf(&clients, "lcs", lcs_san(), Some(0x61));
    // Renewed last at the start of 2025, due again at the start of 2026: the
    // CA may have revoked anything since, so nothing it signed is trusted.
    let out_of_date = revocation_list_of_years(&clients, 1, &[], (2025, 2026));
    let f = start_revoking(&servers, &clients, Some(&out_of_date)).await;
    let tls = cpc_platform::tls::ReloadingTls::load(&tls_files(&f.dir, true)).unwrap();
    assert_eq!(
        tls.revocation_lists_valid_until(),
        Some(
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .to_utc()
        )
    );
    assert!(!handshakes(&f, &servers, &lcs).await);
    // People, with tokens and no certificate, are still served.
    assert!(
        serving(connect(&f, &servers, None).await.unwrap())
            .await
            .is_ok()
    );

    // A current list is put in place: the record system is back.
    write(
        &f.dir,
        "clients-crl.pem",
        &revocation_list(&clients, 2, &[]),
    );
    assert!(
        handshakes_within_5s(&f, &servers, &lcs, true).await,
        "a current list is used within the reload"
    );
    f.stop().await;
}

#[test]
fn a_revocation_list_needs_the_client_ca_and_must_hold_a_list() {
    let servers = ca("cpc servers");
    let clients = ca("cpc services");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = server_leaf(&servers);
    write(dir.path(), "server.pem", &cert);
    write(dir.path(), "server.key", &key);
    write(dir.path(), "clients-ca.pem", &clients.pem);
    write(
        dir.path(),
        "clients-crl.pem",
        &revocation_list(&clients, 1, &[]),
    );
    let files = tls_files(dir.path(), true);
    assert!(cpc_platform::tls::ReloadingTls::load(&files).is_ok());
    let without_ca = TlsConfig {
        client_ca_file: None,
        ..files.clone()
    };
    let err = cpc_platform::tls::ReloadingTls::load(&without_ca)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("client_crl_file is set without client_ca_file"),
        "{err}"
    );
    // A certificate where the list should be.
    write(dir.path(), "clients-crl.pem", &clients.pem);
    let err = cpc_platform::tls::ReloadingTls::load(&files).err().unwrap();
    assert!(
        err.to_string()
            .contains("no certificate revocation list found"),
        "{err}"
    );
}
