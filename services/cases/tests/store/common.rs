//! The test harness: a fresh database per test, migrated, with the store
//! running as the service's query role (`cpc_cases_app`, as in production)
//! so row-level security binds.
//! (The admin connection is the superuser `postgres`, which bypasses RLS.)

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use cpc_cases::domain::{AuthorityId, PersonRef};
use cpc_cases::store::{self, Ctx};
use cpc_platform::ApiError;
use cpc_platform::config::DatabaseConfig;
use cpc_platform::outbox::{self, Filter, StoredEvent};
use cpc_platform::testing::TestDatabase;
use cpc_platform::{MIGRATOR, db};
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

pub const AUTHORITY: &str = "E10000013";
pub const OTHER_AUTHORITY: &str = "E09000033";

pub struct Harness {
    /// Queries run as `cpc_cases_app` (RLS applies).
    pub pool: PgPool,
    /// The superuser, for inspecting what RLS hides.
    pub admin: PgPool,
    _db: TestDatabase,
}

/// Runs `body` on a transaction bound to `ctx.authority` and commits it if
/// `body` succeeded (rolls back otherwise).
#[macro_export]
macro_rules! run {
    ($h:expr, $ctx:expr, |$conn:ident| $body:expr) => {{
        let mut tx = cpc_cases::store::begin(&$h.pool, &$ctx.authority)
            .await
            .expect("begin");
        let result = {
            let $conn: &mut sqlx::PgConnection = &mut tx;
            $body.await
        };
        if result.is_ok() {
            tx.commit().await.expect("commit");
        }
        result
    }};
}

impl Harness {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await;
        let component = cpc_cases::component();
        db::migrate(
            db.url(),
            cpc_cases::SCHEMA,
            &[&MIGRATOR, &cpc_cases::MIGRATOR],
            component.append_only,
        )
        .await
        .expect("migrations apply");
        let options = db::schema_options(db.url(), cpc_cases::SCHEMA).expect("options");
        // The service's own pool: every connection runs as cpc_cases_app.
        let pool =
            db::pool(db.url(), cpc_cases::SCHEMA, &DatabaseConfig::default()).expect("app pool");
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .expect("admin pool");
        Self {
            pool,
            admin,
            _db: db,
        }
    }

    /// Every event on the feed, in order.
    pub async fn events(&self) -> Vec<StoredEvent> {
        outbox::read_after(&self.admin, 0, &Filter::default(), 10_000)
            .await
            .expect("feed")
    }

    pub async fn event_types(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .map(|e| e.event_type.trim_start_matches("cpc.cases.v1.").to_owned())
            .collect()
    }
}

pub fn today() -> NaiveDate {
    date(2025, 11, 25)
}

/// The test clock: 09:00 UTC on [`today`], moving forward with real time
/// (so updates are later than creates), whatever the machine's date.
pub fn now() -> DateTime<Utc> {
    static START: OnceLock<Instant> = OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed();
    let base = Utc
        .with_ymd_and_hms(2025, 11, 25, 9, 0, 0)
        .single()
        .expect("a real instant");
    base + chrono::Duration::from_std(elapsed).expect("a short test run")
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

pub fn pd(y: i32, m: i32, d: i32) -> Option<common::Date> {
    Some(common::Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn actor() -> PersonRef {
    PersonRef {
        person_id: Uuid::from_u128(0xa11ce),
        display_name: "Alice Worker".into(),
        agency_kind: Some(cpc_cases::codes::AgencyKind::ChildrensSocialCare),
        agency_name: Some("Gloucestershire Children's Services".into()),
    }
}

pub fn ctx_for(authority: &str) -> Ctx {
    Ctx {
        authority: AuthorityId::parse(authority).expect("authority"),
        actor: actor(),
        now: now(),
        today: today(),
        timescales: Timescales::new(&AuthorityProfile::default()).expect("default profile"),
    }
}

pub fn ctx() -> Ctx {
    ctx_for(AUTHORITY)
}

pub fn rid() -> String {
    Uuid::new_v4().to_string()
}

pub fn person(id: u128, name: &str, kind: common::AgencyKind, agency: &str) -> common::PersonRef {
    common::PersonRef {
        person_id: Uuid::from_u128(id).to_string(),
        display_name: name.into(),
        agency_kind: kind as i32,
        agency_name: agency.into(),
    }
}

pub fn social_worker() -> common::PersonRef {
    person(
        0x5001,
        "Sam Social",
        common::AgencyKind::ChildrensSocialCare,
        "County Children's Services",
    )
}

pub fn police() -> common::PersonRef {
    person(
        0x5002,
        "PC Patel",
        common::AgencyKind::Police,
        "Constabulary",
    )
}

pub fn health() -> common::PersonRef {
    person(
        0x5003,
        "Nurse Nolan",
        common::AgencyKind::Health,
        "Health Visiting",
    )
}

pub fn school() -> common::PersonRef {
    person(
        0x5004,
        "Ms Head",
        common::AgencyKind::Education,
        "Primary School",
    )
}

pub fn chair() -> PersonRef {
    PersonRef {
        person_id: Uuid::from_u128(0xc4a1),
        display_name: "Chris Chair".into(),
        agency_kind: Some(cpc_cases::codes::AgencyKind::ChildrensSocialCare),
        agency_name: Some("Safeguarding Unit".into()),
    }
}

/// A born, school-age child with valid identifiers.
pub fn child_msg(case_id: Option<&str>, la_child_id: &str) -> pb::Child {
    pb::Child {
        authority_id: AUTHORITY.into(),
        case_id: case_id.unwrap_or_default().into(),
        la_child_id: la_child_id.into(),
        upn: "A950000178301".into(),
        nhs_number: "943 476 5919".into(),
        given_names: "Jamie".into(),
        family_name: "Smith".into(),
        birth_date: pd(2019, 3, 10),
        sex: pb::Sex::Male as i32,
        ethnicity_code: "WBRI".into(),
        disability_codes: vec!["NONE".into()],
        ..Default::default()
    }
}

/// Registers a child (new case unless `case_id`); returns it.
pub async fn register(
    h: &Harness,
    case_id: Option<&str>,
    la_child_id: &str,
    given: &str,
) -> pb::Child {
    let ctx = crate::common::ctx();
    let mut msg = child_msg(case_id, la_child_id);
    msg.given_names = given.into();
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(msg),
    };
    let (key, child) = cpc_cases::domain::child::ChildDetails::parse_request(&req, ctx.today)
        .expect("valid child");
    let written = run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &child
    ))
    .expect("created");
    written.response.child.expect("child")
}

pub fn violations(err: ApiError) -> Vec<(String, String)> {
    match err {
        ApiError::InvalidArgument(v) => v
            .violations()
            .iter()
            .map(|v| (v.field.clone(), v.description.clone()))
            .collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

pub fn fields(err: ApiError) -> Vec<String> {
    violations(err).into_iter().map(|(f, _)| f).collect()
}

pub fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("uuid")
}
