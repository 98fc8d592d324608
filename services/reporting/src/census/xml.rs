//! The census XML: `Message` → `Header`, `Children/Child` (DOMAIN.md,
//! "Children in need census"), elements in the DfE's order, dates as
//! `YYYY-MM-DD`. An item not known is left out rather than written empty,
//! so the validation reports it as missing.
//!
//! Where the date of the initial conference goes: in the `Section47` of
//! the enquiry it followed; and, for a plan started at a transfer-in
//! conference, which follows no enquiry here, in `CINdetails`, where rule
//! 2885 looks for the plan's start when the episode has no `Section47`.
//! Never the same date at both levels (2884): [`assemble`](super::assemble)
//! decides which.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};

use super::assemble::{ReturnedChild, ReturnedEpisode};

/// The return's header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Collection year, as in `Year` (2026 for 2025–26).
    pub year: i32,
    pub reference_date: NaiveDate,
    /// The authority's DfE local authority number (`LEA`).
    pub la_number: u16,
    /// `SerialNo`: 1 for the first file of a year, then each resubmission.
    pub serial_no: u16,
    pub generated: DateTime<Utc>,
}

/// `SoftwareCode` and `Release`: which software wrote the file.
const SOFTWARE_CODE: &str = "cpc";
const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// The whole file, UTF-8.
pub fn render(header: &Header, children: &[ReturnedChild]) -> String {
    let mut out = Xml::default();
    out.text
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.open("Message");
    out.open("Header");
    out.open("CollectionDetails");
    out.item("Collection", Some("CIN"));
    out.item("Year", Some(&header.year.to_string()));
    out.date("ReferenceDate", Some(header.reference_date));
    out.close("CollectionDetails");
    out.open("Source");
    out.item("SourceLevel", Some("L"));
    out.item("LEA", Some(&format!("{:03}", header.la_number)));
    out.item("SoftwareCode", Some(SOFTWARE_CODE));
    out.item("Release", Some(RELEASE));
    out.item("SerialNo", Some(&header.serial_no.to_string()));
    out.item(
        "DateTime",
        Some(&header.generated.format("%Y-%m-%dT%H:%M:%S").to_string()),
    );
    out.close("Source");
    out.close("Header");
    out.open("Children");
    for child in children {
        write_child(&mut out, child);
    }
    out.close("Children");
    out.close("Message");
    out.text
}

fn write_child(out: &mut Xml, returned: &ReturnedChild) {
    let child = &returned.child;
    out.open("Child");
    out.open("ChildIdentifiers");
    out.item("LAchildID", Some(&child.la_child_id));
    out.item("UPN", child.upn.as_deref());
    out.item("FormerUPN", child.former_upn.as_deref());
    out.item("UPNunknown", child.upn_unknown.as_deref());
    out.date("PersonBirthDate", child.birth_on);
    out.date("ExpectedPersonBirthDate", child.expected_birth_on);
    out.item("Sex", child.sex.as_deref());
    out.date("PersonDeathDate", child.death_on);
    out.close("ChildIdentifiers");
    out.open("ChildCharacteristics");
    out.item("Ethnicity", child.ethnicity.as_deref());
    if !child.disabilities.is_empty() {
        out.open("Disabilities");
        for code in &child.disabilities {
            out.item("Disability", Some(code));
        }
        out.close("Disabilities");
    }
    out.close("ChildCharacteristics");
    for episode in &returned.episodes {
        write_episode(out, episode);
    }
    out.close("Child");
}

fn write_episode(out: &mut Xml, returned: &ReturnedEpisode) {
    let episode = &returned.episode;
    out.open("CINdetails");
    out.date("CINreferralDate", Some(episode.referral_on));
    out.item("ReferralSource", episode.referral_source.as_deref());
    out.item("PrimaryNeedCode", episode.primary_need.as_deref());
    out.date("CINclosureDate", episode.closure_on);
    out.item("ReasonForClosure", episode.closure_reason.as_deref());
    out.date("DateOfInitialCPC", episode.initial_cpc_on);
    out.item("ReferralNFA", Some(boolean(episode.referral_nfa)));
    for enquiry in &returned.enquiries {
        out.open("Section47");
        out.date("S47ActualStartDate", Some(enquiry.start_on));
        out.date("InitialCPCtarget", enquiry.icpc_target_on);
        out.date("DateOfInitialCPC", enquiry.initial_cpc_on);
        out.item("ICPCnotRequired", Some(boolean(enquiry.icpc_not_required)));
        out.close("Section47");
    }
    for plan in &returned.plans {
        out.open("ChildProtectionPlans");
        out.date("CPPstartDate", Some(plan.start_on));
        out.date("CPPendDate", plan.end_on);
        out.item("InitialCategoryOfAbuse", plan.initial_category.as_deref());
        out.item("LatestCategoryOfAbuse", plan.latest_category.as_deref());
        out.item(
            "NumberOfPreviousCPP",
            Some(&plan.previous_plans.to_string()),
        );
        if !plan.review_dates.is_empty() {
            out.open("Reviews");
            for review in &plan.review_dates {
                out.date("CPPreviewDate", Some(*review));
            }
            out.close("Reviews");
        }
        out.close("ChildProtectionPlans");
    }
    out.close("CINdetails");
}

/// An `xs:boolean` as `1` or `0`. The schema also allows `true` and
/// `false`, but the DfE validator's rules do not read them alike: rule
/// 8740 checks an enquiry whose ICPCnotRequired is `0`, rule 2885 leaves
/// out one whose flag is `1`, and a `false` or `true` would slip past both.
/// Every rule reads `1` and `0`.
fn boolean(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

/// An indented XML writer for elements holding text or other elements.
#[derive(Default)]
struct Xml {
    text: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.text, "<{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.text, "</{name}>");
    }

    /// `<name>value</name>`, or nothing when there is no value.
    fn item(&mut self, name: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        self.indent();
        let _ = write!(self.text, "<{name}>");
        escape_into(&mut self.text, value);
        let _ = writeln!(self.text, "</{name}>");
    }

    fn date(&mut self, name: &str, value: Option<NaiveDate>) {
        let formatted = value.map(|d| d.format("%Y-%m-%d").to_string());
        self.item(name, formatted.as_deref());
    }
}

/// Codes and ids come from other systems; none may break the markup.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all: dropped rather than written.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_control_characters_dropped() {
        let mut out = String::new();
        escape_into(&mut out, "A<1>&'\"\u{1}");
        assert_eq!(out, "A&lt;1&gt;&amp;&apos;&quot;");
    }

    fn header() -> Header {
        Header {
            year: 2026,
            reference_date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
            la_number: 94,
            serial_no: 2,
            generated: DateTime::<Utc>::from_timestamp(1_775_030_400, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn an_empty_return_is_a_header_and_no_children() {
        let xml = render(&header(), &[]);
        assert!(xml.contains("<LEA>094</LEA>"), "{xml}");
        assert!(
            xml.contains("<ReferenceDate>2026-03-31</ReferenceDate>"),
            "{xml}"
        );
        assert!(xml.contains("<SerialNo>2</SerialNo>"), "{xml}");
        assert!(xml.contains("<Children>\n  </Children>"), "{xml}");
        assert!(xml.ends_with("</Message>\n"), "{xml}");
    }

    #[test]
    fn an_episodes_own_initial_conference_is_written_where_the_schema_puts_it() {
        use uuid::Uuid;

        use crate::census::assemble::{Child, Episode, Plan};

        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap_or_default();
        let child = ReturnedChild {
            child: Child {
                id: Uuid::from_u128(1),
                la_child_id: "A1".to_owned(),
                upn: None,
                former_upn: None,
                upn_unknown: Some("UN1".to_owned()),
                birth_on: Some(day(1, 5)),
                expected_birth_on: None,
                sex: Some("F".to_owned()),
                death_on: None,
                ethnicity: Some("WBRI".to_owned()),
                disabilities: Vec::new(),
            },
            episodes: vec![ReturnedEpisode {
                episode: Episode {
                    id: Uuid::from_u128(10),
                    child_id: Uuid::from_u128(1),
                    referral_on: day(2, 2),
                    referral_source: Some("6".to_owned()),
                    primary_need: Some("N1".to_owned()),
                    closure_on: None,
                    closure_reason: None,
                    referral_nfa: false,
                    initial_cpc_on: Some(day(2, 16)),
                },
                enquiries: Vec::new(),
                plans: vec![Plan {
                    child_id: Uuid::from_u128(1),
                    cin_episode_id: Some(Uuid::from_u128(10)),
                    start_on: day(2, 16),
                    end_on: None,
                    initial_category: Some("NEG".to_owned()),
                    latest_category: Some("NEG".to_owned()),
                    previous_plans: 1,
                    review_dates: Vec::new(),
                }],
            }],
        };
        let xml = render(&header(), &[child]);
        // The CIN schema's order: after the closure, before ReferralNFA.
        let order: Vec<Option<usize>> = [
            "<PrimaryNeedCode>",
            "<DateOfInitialCPC>2026-02-16</DateOfInitialCPC>",
            "<ReferralNFA>",
            "<ChildProtectionPlans>",
        ]
        .iter()
        .map(|item| xml.find(item))
        .collect();
        assert!(order.iter().all(Option::is_some), "{xml}");
        assert!(order.is_sorted(), "{xml}");
        assert_eq!(xml.matches("<DateOfInitialCPC>").count(), 1, "{xml}");
    }
}
