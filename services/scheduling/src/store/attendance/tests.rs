use chrono::NaiveDate;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn a_conference_held_after_its_deadline_needs_a_reason() {
    let due = date(2027, 1, 11);
    let late = date(2027, 1, 12);
    // On the due date itself, or before: in time, and no reason is kept,
    // whatever the booking said; one given is refused.
    assert_eq!(
        held_past_deadline(due, due, None, None).expect("in time"),
        None
    );
    assert_eq!(
        held_past_deadline(date(2027, 1, 8), due, None, Some("Chair ill")).expect("in time"),
        None
    );
    let given_in_time = held_past_deadline(due, due, Some("Chair ill"), None).expect_err("in time");
    assert!(
        matches!(&given_in_time, ApiError::InvalidArgument(_)),
        "{given_in_time:?}"
    );
    // The next day: past the deadline, with the reason given now, else the
    // booking's.
    assert_eq!(
        held_past_deadline(late, due, Some("Snow"), Some("Chair ill")).expect("given"),
        Some("Snow".to_owned())
    );
    assert_eq!(
        held_past_deadline(late, due, None, Some("Chair ill")).expect("booked"),
        Some("Chair ill".to_owned())
    );
    let refused = held_past_deadline(late, due, None, None).expect_err("no reason");
    assert!(
        matches!(&refused, ApiError::FailedPrecondition(message)
            if message.contains("held_date") && message.contains("2027-01-11")),
        "{refused:?}"
    );
}
