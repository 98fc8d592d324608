use chrono::{DateTime, TimeZone as _, Utc};
use icalendar::parser::{read_calendar, unfold};
use proptest::prelude::*;

use super::*;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("instant")
}

fn meeting(id: &str) -> Meeting {
    Meeting {
        id: id.into(),
        title: "Initial child protection conference".into(),
        case_reference: "GL-2026-0042".into(),
        start: at(2026, 12, 2, 10),
        end: at(2026, 12, 2, 12),
        location: Some("Shire Hall, Westgate Street; Room 3, Gloucester".into()),
        join_url: Some("https://meet.example.gov.uk/j/123456".into()),
        moves: 1,
        cancelled: false,
        updated: at(2026, 11, 25, 9),
    }
}

fn property(properties: &[icalendar::parser::Property<'_>], name: &str) -> String {
    properties
        .iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} present"))
        .val
        .as_str()
        .to_owned()
}

#[test]
fn the_export_parses_with_an_icalendar_parser() {
    let mut cancelled = meeting("0b9f6c1e-0000-4000-8000-000000000002");
    cancelled.cancelled = true;
    cancelled.location = None;
    cancelled.join_url = None;
    let text = calendar(
        "Chris Chair: conferences",
        &[meeting("0b9f6c1e-0000-4000-8000-000000000001"), cancelled],
        at(2026, 11, 25, 10),
    );
    assert!(text.split("\r\n").all(|l| l.len() <= 75), "folded");
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    let unfolded = unfold(&text);
    let parsed = read_calendar(&unfolded).expect("parses");
    assert_eq!(property(&parsed.properties, "VERSION"), "2.0");
    let events: Vec<_> = parsed
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(events.len(), 2);
    let first = &events[0].properties;
    assert_eq!(
        property(first, "UID"),
        "0b9f6c1e-0000-4000-8000-000000000001@cpc"
    );
    assert_eq!(property(first, "DTSTART"), "20261202T100000Z");
    assert_eq!(property(first, "SEQUENCE"), "1");
    assert_eq!(
        property(first, "LOCATION"),
        "Shire Hall, Westgate Street; Room 3, Gloucester"
    );
    assert_eq!(property(&events[1].properties, "STATUS"), "CANCELLED");
    // The typed model reads it too.
    let typed: icalendar::Calendar = text.parse().expect("typed parse");
    assert_eq!(typed.components.len(), 2);
}

proptest! {
    /// Whatever a venue or case reference holds (commas, semicolons, new
    /// lines, emoji, very long text), the export parses, every line is at
    /// most 75 octets, and the parsed value is the text given.
    #[test]
    fn any_text_is_escaped_and_folded(location in "\\PC{0,300}", reference in "[ -~]{1,40}") {
        let mut m = meeting("id-1");
        m.location = Some(location.clone());
        m.case_reference = reference;
        let text = calendar("cal", &[m], at(2026, 11, 25, 10));
        for line in text.split("\r\n") {
            prop_assert!(line.len() <= 75, "{} octets", line.len());
        }
        let unfolded = unfold(&text);
        let parsed = read_calendar(&unfolded).map_err(TestCaseError::fail)?;
        let event = parsed.components.iter().find(|c| c.name == "VEVENT").expect("event");
        let found = event
            .properties
            .iter()
            .find(|p| p.name.as_str() == "LOCATION")
            .map(|p| p.val.as_str().to_owned());
        // The parser unescapes: the value reads back as given, less control
        // characters other than new lines.
        let expected: String = location.chars().filter(|c| !c.is_control() || *c == '\n').collect();
        prop_assert_eq!(found.unwrap_or_default(), expected);
    }
}
