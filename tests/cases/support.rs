//! The fixture: a server, a database, tokens for the people of the story,
//! and request builders.

use chrono::NaiveDate;
use cpc_cases::codes::{AgencyKind, ConferenceKind};
use cpc_cases::domain::outcome::HeldConference;
use cpc_cases::domain::{AuthorityId, PersonRef};
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_identity::{Agency, Role};
use cpc_platform::config::DatabaseConfig;
use cpc_platform::db;
use cpc_platform::testing::{TestDatabase, TestServer};
use cpc_proto::cases::v1 as pb;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpc_proto::common::v1 as common;
use cpcd::Selection;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

pub use crate::bad_request::bad_fields;

pub use crate::access_matrix::{Matrix, ROLE_COLUMNS, Relation, Row, Target};

pub const AUTHORITY: &str = "E10000013";
pub const OTHER_AUTHORITY: &str = "E09000033";

/// The people of the story, by person id.
pub const SOCIAL_WORKER: u128 = 0x5001;
pub const POLICE_OFFICER: u128 = 0x5002;
pub const HEALTH_VISITOR: u128 = 0x5003;
pub const TEAM_MANAGER: u128 = 0x3001;
pub const CHAIR: u128 = 0xc4a1;
pub const OTHER_WORKER: u128 = 0x5999;
pub const AUDITOR: u128 = 0xa0d1;

pub struct Fixture {
    pub db: TestDatabase,
    pub server: TestServer,
    pub client: CasesServiceClient<Channel>,
    key: DevKey,
}

/// A caller: their token, and the client calls carry it.
#[derive(Clone)]
pub struct As {
    token: String,
}

impl Fixture {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test configuration changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut cpc_platform::Config)) -> Self {
        // The server's logs (warnings and errors by default) show with a
        // failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let db = TestDatabase::create().await;
        let mut config = db.config();
        adjust(&mut config);
        let server = TestServer::start(config, Selection::All.components()).await;
        let client = CasesServiceClient::new(server.channel().await);
        let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
        Self {
            db,
            server,
            client,
            key,
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    pub fn person(&self, id: u128, authority: &str, role: Role, agency: Option<Agency>) -> As {
        self.person_signed_in(id, authority, role, agency, chrono::Utc::now())
    }

    /// [`Fixture::person`], with a token from a sign-in at `at`.
    pub fn person_signed_in(
        &self,
        id: u128,
        authority: &str,
        role: Role,
        agency: Option<Agency>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> As {
        let mut claims = DevClaims::new(Uuid::from_u128(id).to_string(), authority, [role]);
        claims.agency = agency;
        As {
            token: self.key.mint_at(&claims, at),
        }
    }

    pub fn social_worker(&self) -> As {
        self.person(SOCIAL_WORKER, AUTHORITY, Role::SocialWorker, Some(csc()))
    }

    pub fn team_manager(&self) -> As {
        self.person(TEAM_MANAGER, AUTHORITY, Role::TeamManager, Some(csc()))
    }

    /// The team manager, with a token that expires `ttl` from now.
    pub fn team_manager_until(&self, ttl: std::time::Duration) -> As {
        let mut claims = DevClaims::new(
            Uuid::from_u128(TEAM_MANAGER).to_string(),
            AUTHORITY,
            [Role::TeamManager],
        );
        claims.agency = Some(csc());
        claims.ttl = ttl;
        As {
            token: self.key.mint(&claims),
        }
    }

    pub fn chair(&self) -> As {
        self.person(CHAIR, AUTHORITY, Role::ConferenceChair, Some(csc()))
    }

    pub fn police_officer(&self) -> As {
        let police = Agency {
            kind: cpc_identity::AgencyKind::Police,
            name: "Constabulary".into(),
        };
        self.person(
            POLICE_OFFICER,
            AUTHORITY,
            Role::AgencyPractitioner,
            Some(police),
        )
    }

    /// The team manager makes `person` a current member of `case_id`, from
    /// today, as an agency practitioner.
    pub async fn add_member(
        &mut self,
        case_id: &str,
        person: common::PersonRef,
    ) -> pb::CaseMembership {
        self.grant(case_id, person, pb::CaseRole::AgencyPractitioner, false)
            .await
    }

    /// The team manager makes `person` a current member of `case_id` in
    /// `role` from today, for their whole agency if `agency_wide`.
    pub async fn grant(
        &mut self,
        case_id: &str,
        person: common::PersonRef,
        role: pb::CaseRole,
        agency_wide: bool,
    ) -> pb::CaseMembership {
        let manager = self.team_manager();
        self.client
            .add_case_member(manager.req(pb::AddCaseMemberRequest {
                request_id: rid(),
                membership: Some(pb::CaseMembership {
                    case_id: case_id.into(),
                    person: Some(person),
                    case_role: role as i32,
                    start_date: Some(today()),
                    agency_wide,
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
            .membership
            .unwrap()
    }

    /// `case_id` as `who` reads it.
    pub async fn case_of(&mut self, who: &As, case_id: &str) -> pb::Case {
        self.client
            .get_case(who.req(pb::GetCaseRequest {
                case_id: case_id.into(),
            }))
            .await
            .unwrap()
            .into_inner()
            .r#case
            .unwrap()
    }

    /// The children of the authority `who` lists (first page).
    pub async fn children_listed(&mut self, who: &As) -> Vec<pb::Child> {
        self.client
            .list_children(who.req(authority_children()))
            .await
            .unwrap()
            .into_inner()
            .children
    }

    /// Scheduling reports `conference` held (what the scheduling feed
    /// consumer records): written through the cases store, as cases' own
    /// copy of that fact.
    pub async fn held(&self, conference: &HeldConference, authority: &str) {
        let pool = db::pool(self.db.url(), cpc_cases::SCHEMA, &DatabaseConfig::default()).unwrap();
        let authority = AuthorityId::parse(authority).unwrap();
        let mut tx = cpc_cases::store::begin(&pool, &authority).await.unwrap();
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
        cpc_cases::store::conferences::record_held_conference(
            &mut tx, &authority, conference, 1, now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        pool.close().await;
    }
}

impl As {
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        request
    }
}

/// Lists the authority's children, as far as the caller may.
pub fn authority_children() -> pb::ListChildrenRequest {
    pb::ListChildrenRequest {
        authority_id: AUTHORITY.into(),
        ..Default::default()
    }
}

pub fn csc() -> Agency {
    Agency {
        kind: cpc_identity::AgencyKind::ChildrensSocialCare,
        name: "County Children's Services".into(),
    }
}

pub fn rid() -> String {
    Uuid::new_v4().to_string()
}

pub fn pd(y: i32, m: i32, d: i32) -> Option<common::Date> {
    Some(common::Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn person_ref(
    id: u128,
    name: &str,
    kind: common::AgencyKind,
    agency: &str,
) -> common::PersonRef {
    common::PersonRef {
        person_id: Uuid::from_u128(id).to_string(),
        display_name: name.into(),
        agency_kind: kind as i32,
        agency_name: agency.into(),
    }
}

pub fn worker_ref() -> common::PersonRef {
    person_ref(
        SOCIAL_WORKER,
        "Sam Social",
        common::AgencyKind::ChildrensSocialCare,
        "County Children's Services",
    )
}

pub fn police_ref() -> common::PersonRef {
    person_ref(
        POLICE_OFFICER,
        "PC Patel",
        common::AgencyKind::Police,
        "Constabulary",
    )
}

pub fn health_ref() -> common::PersonRef {
    person_ref(
        HEALTH_VISITOR,
        "Hana Health",
        common::AgencyKind::Health,
        "Community Trust",
    )
}

pub fn chair_person() -> PersonRef {
    PersonRef {
        person_id: Uuid::from_u128(CHAIR),
        display_name: "Chris Chair".into(),
        agency_kind: Some(AgencyKind::ChildrensSocialCare),
        agency_name: Some("Safeguarding Unit".into()),
    }
}

pub fn held_conference(kind: ConferenceKind, on: NaiveDate, children: &[&str]) -> HeldConference {
    HeldConference {
        id: Uuid::new_v4(),
        kind,
        date: on,
        chair: chair_person(),
        child_ids: children
            .iter()
            .map(|c| Uuid::parse_str(c).unwrap())
            .collect(),
    }
}

/// A born child with valid identifiers, in a new case unless `case_id`.
pub fn child(case_id: &str, la_child_id: &str, given: &str) -> pb::Child {
    pb::Child {
        authority_id: AUTHORITY.into(),
        case_id: case_id.into(),
        la_child_id: la_child_id.into(),
        upn: "A950000178301".into(),
        nhs_number: "943 476 5919".into(),
        given_names: given.into(),
        family_name: "Smith".into(),
        birth_date: pd(2019, 3, 10),
        sex: pb::Sex::Male as i32,
        ethnicity_code: "WBRI".into(),
        disability_codes: vec!["NONE".into()],
        ..Default::default()
    }
}

pub fn view(who: common::PersonRef, scale: i32, plan: bool) -> pb::ProfessionalView {
    let neglect = common::CategoryOfHarm::Neglect;
    pb::ProfessionalView {
        professional: Some(who),
        safety_scale: scale,
        recommendation: if plan {
            pb::Recommendation::Plan
        } else {
            pb::Recommendation::NoPlan
        } as i32,
        recommended_category: if plan { neglect as i32 } else { 0 },
        comment: String::new(),
    }
}

/// Today in the UK, as the server sees it (memberships start today).
pub fn today() -> common::Date {
    use chrono::Datelike as _;
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let today = cpc_rules::civil_time::uk_date(now);
    common::Date {
        year: today.year(),
        month: i32::try_from(today.month()).unwrap(),
        day: i32::try_from(today.day()).unwrap(),
    }
}

/// A referral of `child_id` on 2 June 2025 for abuse or neglect.
pub fn referral(child_id: &str) -> pb::OpenCinEpisodeRequest {
    pb::OpenCinEpisodeRequest {
        request_id: rid(),
        child_id: child_id.into(),
        referral_date: pd(2025, 6, 2),
        referral_source_code: "6".into(),
        primary_need: pb::PrimaryNeed::N1AbuseOrNeglect as i32,
        referral_nfa: false,
    }
}

// --- The authorization matrix over gRPC (tests/cases/matrix.rs,
// tests/scheduling/matrix.rs): every callable row of the access matrix
// (tests/access-matrix.csv), as every role.

/// The services whose rows the gRPC matrix tests call: CasesService and
/// AuditService in `tests/cases/matrix.rs`, the rest in
/// `tests/scheduling/matrix.rs`. A service served without being listed here
/// fails `every_served_service_is_called_by_a_matrix_test`.
pub const MATRIX_SERVICES: [&str; 9] = [
    "cpc.cases.v1.CasesService",
    "cpc.audit.v1.AuditService",
    "cpc.scheduling.v1.ConferencesService",
    "cpc.scheduling.v1.AttendanceService",
    "cpc.scheduling.v1.ChairsService",
    "cpc.scheduling.v1.CoreGroupsService",
    "cpc.scheduling.v1.CalendarService",
    "cpc.reporting.v1.ReportingService",
    "cpc.escalation.v1.EscalationService",
];

/// The id of the person in `role_index`'s column and `relation`, among the
/// ids from `base` a matrix test keeps for its callers.
pub fn matrix_person(base: u128, role_index: usize, relation: Relation) -> u128 {
    let offset = match relation {
        Relation::Member => 0,
        Relation::FormerMember => 0x100,
        Relation::NonMember => 0x200,
        Relation::OtherAuthority => 0x300,
        Relation::AgencyMember => 0x400,
        Relation::Excluded => 0x600,
    };
    base + offset + role_index as u128
}

/// The agency of the caller in `role_index`'s column: for the
/// `agency_member` relation one of its own, which holds a membership of the
/// case for the whole agency; otherwise the role's usual agency.
pub fn matrix_agency(role_index: usize, role: Role, relation: Relation) -> Agency {
    let usual = agency(role);
    if relation == Relation::AgencyMember {
        Agency {
            kind: usual.kind,
            name: format!("Matrix agency {role_index}"),
        }
    } else {
        usual
    }
}

/// How many RPCs `rows` call.
pub fn distinct_rpcs(rows: &[&Row]) -> usize {
    rows.iter()
        .map(|row| row.rpc.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Every role's column, with the role.
pub fn matrix_roles() -> impl Iterator<Item = (usize, Role)> {
    ROLE_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| (i, column.parse().unwrap()))
}

/// What a matrix run found.
#[derive(Default)]
pub struct MatrixRun {
    pub calls: usize,
    /// Refusals the service must have recorded: PERMISSION_DENIED, and
    /// NOT_FOUND for another authority's record.
    pub refused: i64,
    pub mismatches: Vec<String>,
}

impl MatrixRun {
    /// Adds another run's findings (calls recorded in the same audit log).
    pub fn absorb(&mut self, other: MatrixRun) {
        self.calls += other.calls;
        self.refused += other.refused;
        self.mismatches.extend(other.mismatches);
    }
}

impl Fixture {
    /// A token minted by the development key for a service identity
    /// (record-system integrations carry certificates in production).
    pub fn service(&self, subject: &str, authority: &str, role: Role) -> As {
        As {
            token: self.key.mint(&DevClaims::new(subject, authority, [role])),
        }
    }

    /// The caller in `role_index`'s column standing in `relation`: a person
    /// (ids from `base`), or a service identity, never a member of a case.
    pub fn matrix_caller(
        &self,
        base: u128,
        role_index: usize,
        role: Role,
        relation: Relation,
    ) -> As {
        let authority = if relation == Relation::OtherAuthority {
            OTHER_AUTHORITY
        } else {
            AUTHORITY
        };
        if role.is_service_role() {
            self.service(&format!("svc-{}", role.as_str()), authority, role)
        } else {
            let id = matrix_person(base, role_index, relation);
            let agency = matrix_agency(role_index, role, relation);
            self.person(id, authority, role, Some(agency))
        }
    }

    /// Makes the matrix's callers what their relation says of `case_id`,
    /// through the cases API: each role's `member` a current member, and
    /// each role's `agency_member` agency a current member for the whole
    /// agency (held by a colleague, `base + 0x500 + role`). Former members
    /// are written by each test (the API cannot end a membership in the
    /// past). Returns the person ids now on the case.
    pub async fn add_matrix_members(&mut self, base: u128, case_id: &str) -> Vec<String> {
        let mut added = Vec::new();
        for (i, role) in matrix_roles().filter(|(_, r)| !r.is_service_role()) {
            let agency = matrix_agency(i, role, Relation::AgencyMember);
            let member = common::PersonRef {
                person_id: Uuid::from_u128(matrix_person(base, i, Relation::Member)).to_string(),
                display_name: format!("{} member", role.as_str()),
                ..Default::default()
            };
            let colleague = common::PersonRef {
                person_id: Uuid::from_u128(base + 0x500 + i as u128).to_string(),
                display_name: format!("{} agency member", role.as_str()),
                agency_kind: agency.kind.code(),
                agency_name: agency.name,
            };
            for (person, agency_wide) in [(member, false), (colleague, true)] {
                added.push(person.person_id.clone());
                self.grant(case_id, person, pb::CaseRole::CoreGroupMember, agency_wide)
                    .await;
            }
        }
        added
    }

    /// Makes each row's call as every role with `call` (given the caller,
    /// the method's name and the row's target) and compares the answer
    /// with the row's cell.
    pub async fn run_matrix(
        &self,
        rows: &[&Row],
        base: u128,
        mut call: impl AsyncFnMut(&As, &str, Target) -> Result<(), Status>,
    ) -> MatrixRun {
        let mut run = MatrixRun::default();
        for row in rows {
            let method = row.rpc.rsplit('/').next().unwrap();
            for (i, role) in matrix_roles() {
                let caller = self.matrix_caller(base, i, role, row.relation);
                let got = call(&caller, method, row.target).await;
                run.calls += 1;
                let refused = match &got {
                    Err(status) if status.code() == Code::PermissionDenied => true,
                    // Another authority's record does not exist for them.
                    Err(status) if status.code() == Code::NotFound => {
                        row.relation == Relation::OtherAuthority
                    }
                    _ => false,
                };
                if refused {
                    run.refused += 1;
                }
                // Every request is valid: one the service could not parse
                // or attribute never reached the policies.
                let broken = matches!(&got, Err(s) if matches!(
                    s.code(),
                    Code::Internal | Code::Unauthenticated | Code::Unknown | Code::InvalidArgument
                ));
                if refused == row.allow[i] || broken {
                    run.mismatches.push(format!(
                        "access-matrix.csv:{}: {method} ({} {}) as {}: the table says {}, the service answered {:?}",
                        row.line,
                        row.target.as_str(),
                        row.relation,
                        role.as_str(),
                        if row.allow[i] { "allow" } else { "deny" },
                        got.map_err(|s| (s.code(), s.message().to_owned())),
                    ));
                }
            }
        }
        run
    }
}

/// Fails with every disagreement, and checks the service recorded every
/// refusal in its audit log (`schema`).
pub async fn assert_matrix(f: &Fixture, run: &MatrixRun, schema: &str, at_least_refused: i64) {
    assert!(
        run.mismatches.is_empty(),
        "{} of {} calls disagree with tests/access-matrix.csv:\n{}",
        run.mismatches.len(),
        run.calls,
        run.mismatches.join("\n")
    );
    let options = db::schema_options(f.db.url(), schema).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE decision = 'deny'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(recorded, run.refused, "every refusal is in the audit log");
    assert!(
        run.refused >= at_least_refused,
        "the matrix exercises refusals ({})",
        run.refused
    );
}

pub fn agency(role: Role) -> Agency {
    if role == Role::AgencyPractitioner {
        Agency {
            kind: cpc_identity::AgencyKind::Police,
            name: "Constabulary".into(),
        }
    } else {
        csc()
    }
}

/// `token`, a page token naming the record `shown` last, made to name
/// `other` instead with its filters' hash unchanged: a token anyone can
/// make up, as the hash is no secret.
pub fn page_token_around(token: &str, shown: &str, other: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = String::from_utf8(engine.decode(token).unwrap()).unwrap();
    let forged = engine.encode(text.replace(shown, other));
    assert_ne!(forged, token);
    forged
}
