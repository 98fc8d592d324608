//! iCalendar (RFC 5545) export of a chair's or a case's meetings, so people
//! see them in the calendar tools they already use.
//!
//! Calendars leave the secure system (phones, shared diaries), so an event
//! names the kind of meeting and the case reference, never a child's or a
//! family member's name. Each booking is one `VEVENT` whose `UID` is the
//! conference's id and whose `SEQUENCE` counts its moves, so a calendar
//! client updates the entry it already has rather than adding another.

use chrono::{DateTime, Utc};

/// One meeting in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// The conference or core group id: the event's stable `UID`.
    pub id: String,
    /// "Initial child protection conference", "Core group meeting", ...
    pub title: String,
    /// The case reference shown with the title (no names).
    pub case_reference: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Venue name and address, if any.
    pub location: Option<String>,
    /// Joining link of a virtual meeting, if any.
    pub join_url: Option<String>,
    /// How many times the booking moved (`SEQUENCE`).
    pub moves: u32,
    pub cancelled: bool,
    /// When the booking last changed (`LAST-MODIFIED`).
    pub updated: DateTime<Utc>,
}

/// The calendar of `meetings`, named `name`, as of `now` (`DTSTAMP`).
pub fn calendar(name: &str, meetings: &[Meeting], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |text: String| fold_into(&mut out, &text);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//cpc//scheduling//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for meeting in meetings {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}@cpc", escape(&meeting.id)));
        line(format!("DTSTAMP:{}", stamp(now)));
        line(format!("DTSTART:{}", stamp(meeting.start)));
        line(format!("DTEND:{}", stamp(meeting.end)));
        line(format!("SEQUENCE:{}", meeting.moves));
        line(format!("LAST-MODIFIED:{}", stamp(meeting.updated)));
        line(format!(
            "SUMMARY:{}",
            escape(&format!(
                "{} (case {})",
                meeting.title, meeting.case_reference
            ))
        ));
        if let Some(location) = &meeting.location {
            line(format!("LOCATION:{}", escape(location)));
        }
        if let Some(url) = &meeting.join_url {
            line(format!("URL:{}", url.replace(['\r', '\n'], "")));
            line(format!(
                "DESCRIPTION:{}",
                escape(&format!("Join online: {url}"))
            ));
        }
        line(format!(
            "STATUS:{}",
            if meeting.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ));
        line("TRANSP:OPAQUE".into());
        line("CLASS:CONFIDENTIAL".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// UTC date-time form (`20261202T100000Z`).
fn stamp(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma,
/// newline; other control characters are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (RFC 5545 §3.1), never inside a
/// UTF-8 character, with CRLF line ends.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            // The continuation's leading space counts towards its 75.
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests;
