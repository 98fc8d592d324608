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
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
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
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.subject_alt_names = sans;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
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
    _db: TestDatabase,
    server: TestServer,
    dir: std::path::PathBuf,
}

async fn start(server_ca: &Ca, client_ca: &Ca) -> Fixture {
    let db = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("cpc-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = server_leaf(server_ca);
    write(&dir, "server.pem", &cert);
    write(&dir, "server.key", &key);
    write(&dir, "clients-ca.pem", &client_ca.pem);
    let mut config = db.config();
    config.tls = Some(TlsConfig {
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
        client_ca_file: Some(dir.join("clients-ca.pem")),
        reload_interval: Duration::from_millis(100),
        handshake_timeout: Duration::from_secs(5),
    });
    config.identity.service_identities = vec![ServiceIdentity {
        certificate_subject: "spiffe://county.example/lcs".into(),
        subject: "liquidlogic-lcs".into(),
        authority_id: "E10000013".into(),
        acts_for: vec![],
        roles: vec![Role::Integration],
    }];
    let server = TestServer::start(config, Selection::All.components()).await;
    Fixture {
        _db: db,
        server,
        dir,
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
    let lcs = leaf(
        &clients,
        "lcs",
        vec![SanType::URI(
            "spiffe://county.example/lcs".try_into().unwrap(),
        )],
    );
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

    // A certificate from the right CA that no service identity names.
    let stranger = leaf(&clients, "stranger", Vec::new());
    let mut client = CasesServiceClient::new(connect(&f, &servers, Some(&stranger)).await.unwrap());
    let err = client.create_child(new_child()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // A certificate from another CA does not complete the handshake.
    let rogue_ca = ca("rogue");
    let rogue = leaf(
        &rogue_ca,
        "lcs",
        vec![SanType::URI(
            "spiffe://county.example/lcs".try_into().unwrap(),
        )],
    );
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
    f.server.stop().await;
    std::fs::remove_dir_all(&f.dir).unwrap();
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
    f.server.stop().await;
    std::fs::remove_dir_all(&f.dir).unwrap();
}
