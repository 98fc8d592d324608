//! `cpcctl timescales`: the rules engine's face on the command line.
//!
//! Exactly one event date in, the statutory dates that follow from it out,
//! as one JSON object, computed with the default authority profile for the
//! chosen nation.

use chrono::NaiveDate;
use cpc_rules::Nation;
use cpc_rules::RulesError;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::{CalendarDeadline, ConferenceKind, Timescales};
use serde_json::{Map, Value, json};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("event").required(true).multiple(false)))]
pub struct Args {
    /// Date of the strategy discussion that started the s47 enquiry → `icpc_due`.
    #[arg(long, value_name = "DATE", group = "event", value_parser = iso_date)]
    strategy_discussion: Option<NaiveDate>,
    /// Date of the initial conference → `first_core_group_due`, `first_review_due`.
    #[arg(long, value_name = "DATE", group = "event", value_parser = iso_date)]
    icpc: Option<NaiveDate>,
    /// Date of a review conference → `next_review_due`.
    #[arg(long, value_name = "DATE", group = "event", value_parser = iso_date)]
    review: Option<NaiveDate>,
    /// Date of a conference → `reports_due`, the day agency reports must be shared by.
    #[arg(long, value_name = "DATE", group = "event", value_parser = iso_date)]
    conference: Option<NaiveDate>,
    /// Date of written notification of a transfer in → `transfer_in_conference_due`.
    #[arg(long, value_name = "DATE", group = "event", value_parser = iso_date)]
    transfer_in: Option<NaiveDate>,
    /// Kind of conference for `--conference` (the profile's report notice differs by kind).
    /// Defaults to `initial`.
    #[arg(long, value_enum, conflicts_with_all = ["strategy_discussion", "icpc", "review", "transfer_in"])]
    kind: Option<Kind>,
    /// Whose bank holidays count.
    #[arg(long, default_value = "england-and-wales")]
    nation: Nation,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    Initial,
    Review,
    TransferIn,
    PreBirth,
}

impl From<Kind> for ConferenceKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Initial => Self::Initial,
            Kind::Review => Self::Review,
            Kind::TransferIn => Self::TransferIn,
            Kind::PreBirth => Self::PreBirth,
        }
    }
}

/// The JSON object for `args`, or why it cannot be computed (a date outside 2000–2100).
pub fn run(args: &Args) -> Result<Value, RulesError> {
    let profile = AuthorityProfile {
        nation: args.nation,
        ..AuthorityProfile::default()
    };
    let rules = Timescales::new(&profile)?;
    let mut out = Map::new();
    out.insert("nation".into(), json!(args.nation.to_string()));
    if let Some(date) = args.strategy_discussion {
        out.insert("icpc_due".into(), iso(rules.icpc_due(date)?));
    } else if let Some(date) = args.icpc {
        out.insert(
            "first_core_group_due".into(),
            iso(rules.first_core_group_due(date)?),
        );
        deadline(&mut out, "first_review", rules.first_review_due(date)?);
    } else if let Some(date) = args.review {
        deadline(&mut out, "next_review", rules.next_review_due(date)?);
    } else if let Some(date) = args.conference {
        out.insert(
            "reports_due".into(),
            iso(rules.reports_due(date, args.kind.unwrap_or(Kind::Initial).into())?),
        );
    } else if let Some(date) = args.transfer_in {
        out.insert(
            "transfer_in_conference_due".into(),
            iso(rules.transfer_in_conference_due(date)?),
        );
    }
    Ok(Value::Object(out))
}

/// `<name>_due` is the date the rule gives; `<name>_latest_working_day` is
/// the last working day on or before it, the practical booking limit.
fn deadline(out: &mut Map<String, Value>, name: &str, deadline: CalendarDeadline) {
    out.insert(format!("{name}_due"), iso(deadline.due));
    out.insert(
        format!("{name}_latest_working_day"),
        iso(deadline.latest_working_day),
    );
}

/// Strict ISO 8601 calendar dates (`YYYY-MM-DD`), nothing looser: a date
/// typed as `2024-2-3` is more likely a mistake than a request.
fn iso_date(text: &str) -> Result<NaiveDate, String> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return Err(format!("expected a date as YYYY-MM-DD, got {text:?}"));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text} is not a calendar date"))
}

fn iso(date: NaiveDate) -> Value {
    json!(date.format("%Y-%m-%d").to_string())
}
