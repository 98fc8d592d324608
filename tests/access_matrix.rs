//! Reads `tests/access-matrix.csv`, the one table of who may make which call:
//! every RPC × every role × every relation, with the expected answer.
//!
//! Two kinds of test read it. `crates/authz/tests/matrix.rs` asks the
//! shipped policies about every row (so a policy change that changes an
//! answer fails until the table says so too); the authorization matrix
//! tests of each served service (`tests/cases/matrix.rs`, which also calls
//! the audit service on the cases log, and `tests/scheduling/matrix.rs`)
//! make every row's call over real gRPC and compare the service's answer
//! with the table.
//! The file's header says what each column means.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The columns after `rpc,target,relation`, one per role, in this order.
pub const ROLE_COLUMNS: [&str; 10] = [
    "social_worker",
    "team_manager",
    "conference_chair",
    "service_manager",
    "head_of_service",
    "business_support",
    "agency_practitioner",
    "auditor",
    "integration",
    "cpc_service",
];

/// What the call acts on, as the policies see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The authority the request names, as a whole: creating, lists,
    /// feeds, chairs.
    Authority,
    /// The caller's own authority, as a whole: the request names none.
    OwnAuthority,
    /// One record of a child's case.
    Record,
}

/// How the caller stands to the case of the record (for an authority-level
/// call, to a case of the authority: only `OtherAuthority` can matter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relation {
    /// The caller is personally a current member of the case.
    Member,
    /// The caller's agency is a current member (a membership held for the
    /// whole agency by a colleague); they are not.
    AgencyMember,
    /// The caller's membership ended last month.
    FormerMember,
    /// Neither the caller nor their agency is, or was, a member.
    NonMember,
    /// The caller belongs to another authority.
    OtherAuthority,
    /// A current member whom the chair excluded from this conference's
    /// minutes (minutes calls only; policies only until reporting is
    /// served).
    Excluded,
}

impl Relation {
    /// The relations the gRPC matrix tests can produce with the API.
    pub const OVER_GRPC: [Relation; 6] = [
        Relation::Member,
        Relation::AgencyMember,
        Relation::FormerMember,
        Relation::NonMember,
        Relation::OtherAuthority,
        Relation::Excluded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Member => "member",
            Relation::AgencyMember => "agency_member",
            Relation::FormerMember => "former_member",
            Relation::NonMember => "non_member",
            Relation::OtherAuthority => "other_authority",
            Relation::Excluded => "excluded",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Relation::Member,
            Relation::AgencyMember,
            Relation::FormerMember,
            Relation::NonMember,
            Relation::OtherAuthority,
            Relation::Excluded,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Authority => "authority",
            Target::OwnAuthority => "own_authority",
            Target::Record => "record",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row: a call, what it acts on, the caller's relation, and the
/// expected answer for each role (`true` = allowed), in [`ROLE_COLUMNS`]
/// order.
#[derive(Clone, Debug)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    /// Full method path, `/cpc.cases.v1.CasesService/GetChild`.
    pub rpc: String,
    pub target: Target,
    pub relation: Relation,
    pub allow: [bool; 10],
}

impl Row {
    /// The expected answer for the role named `role` (a [`ROLE_COLUMNS`]
    /// name).
    pub fn allows(&self, role: &str) -> bool {
        let column = ROLE_COLUMNS
            .iter()
            .position(|c| *c == role)
            .unwrap_or_else(|| panic!("access-matrix.csv has no column for role {role}"));
        self.allow[column]
    }
}

/// The table, in file order, with the comment lines that head it.
pub struct Matrix {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// The column line.
const COLUMNS: &str = "rpc,target,relation";

/// Where the table lives.
pub fn path() -> PathBuf {
    // The e2e tests' manifest sits beside the table; `crates/authz` is two
    // levels below the workspace root.
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = if here.join("access-matrix.csv").exists() {
        here
    } else {
        here.join("../../tests")
    };
    root.join("access-matrix.csv")
}

impl Matrix {
    /// Reads and checks the table; any malformed line fails the test with
    /// its line number.
    pub fn load() -> Self {
        let path = path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Self {
        let mut header = Vec::new();
        let mut rows = Vec::new();
        let mut columns_seen = false;
        for (i, line) in text.lines().enumerate() {
            let at = i + 1;
            let trimmed = line.trim();
            if !columns_seen {
                if trimmed.starts_with(COLUMNS) {
                    let expected = format!("{COLUMNS},{}", ROLE_COLUMNS.join(","));
                    assert_eq!(trimmed, expected, "access-matrix.csv:{at}: columns");
                    columns_seen = true;
                } else {
                    header.push(line.to_owned());
                }
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
            assert_eq!(
                fields.len(),
                3 + ROLE_COLUMNS.len(),
                "access-matrix.csv:{at}: expected {} fields",
                3 + ROLE_COLUMNS.len()
            );
            let target = match fields[1] {
                "authority" => Target::Authority,
                "own_authority" => Target::OwnAuthority,
                "record" => Target::Record,
                other => panic!("access-matrix.csv:{at}: unknown target `{other}`"),
            };
            let relation = Relation::parse(fields[2]).unwrap_or_else(|| {
                panic!("access-matrix.csv:{at}: unknown relation `{}`", fields[2])
            });
            let mut allow = [false; 10];
            for (cell, value) in allow.iter_mut().zip(&fields[3..]) {
                *cell = match *value {
                    "allow" => true,
                    "deny" => false,
                    other => {
                        panic!("access-matrix.csv:{at}: expected allow or deny, not `{other}`")
                    }
                };
            }
            assert!(
                fields[0].starts_with("/cpc.") && fields[0].matches('/').count() == 2,
                "access-matrix.csv:{at}: `{}` is not a full method path",
                fields[0]
            );
            rows.push(Row {
                line: at,
                rpc: fields[0].to_owned(),
                target,
                relation,
                allow,
            });
        }
        assert!(columns_seen, "access-matrix.csv has no column line");
        let mut seen = BTreeMap::new();
        for row in &rows {
            if let Some(first) = seen.insert((&row.rpc, row.target, row.relation), row.line) {
                panic!(
                    "access-matrix.csv:{}: repeats line {first} ({} {} {})",
                    row.line,
                    row.rpc,
                    row.target.as_str(),
                    row.relation
                );
            }
        }
        Self { header, rows }
    }

    /// The row for a call, if the table has one.
    pub fn row(&self, rpc: &str, target: Target, relation: Relation) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.rpc == rpc && r.target == target && r.relation == relation)
    }

    /// The rows of one gRPC service (`cpc.cases.v1.CasesService`) that the
    /// gRPC matrix tests can call.
    pub fn over_grpc<'m>(&'m self, service: &'m str) -> impl Iterator<Item = &'m Row> + 'm {
        self.rows.iter().filter(move |r| {
            r.rpc
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(service))
                .is_some_and(|rest| rest.starts_with('/'))
                && Relation::OVER_GRPC.contains(&r.relation)
        })
    }

    /// [`Matrix::over_grpc`]'s rows whose method is one of `served` (the
    /// service's calls that are built).
    pub fn served<'m>(&'m self, service: &'m str, served: &[&str]) -> Vec<&'m Row> {
        self.over_grpc(service)
            .filter(|row| {
                served
                    .iter()
                    .any(|rpc| row.rpc.ends_with(&format!("/{rpc}")))
            })
            .collect()
    }

    /// The table as text, with `header` first: for rewriting the cells.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(COLUMNS);
        for role in ROLE_COLUMNS {
            out.push(',');
            out.push_str(role);
        }
        out.push('\n');
        let mut last_rpc = "";
        for row in &self.rows {
            if !last_rpc.is_empty() && row.rpc != last_rpc {
                out.push('\n');
            }
            last_rpc = &row.rpc;
            out.push_str(&format!(
                "{},{},{}",
                row.rpc,
                row.target.as_str(),
                row.relation
            ));
            for allowed in row.allow {
                out.push_str(if allowed { ",allow" } else { ",deny" });
            }
            out.push('\n');
        }
        out
    }
}
