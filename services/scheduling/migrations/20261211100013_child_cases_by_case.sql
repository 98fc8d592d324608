-- cpc-scheduling: the children each case has now, found by case. A list
-- filtered by case (ListConferences, ListCoreGroupMeetings, a case's
-- calendar) returns the records about a child on the case now, whichever
-- case they were made in (a child moved by UpdateChild leaves them in the
-- old one): the list looks up the case's children here, and the list's
-- policy question asks about them (src/store/calendar.rs).

CREATE INDEX child_cases_by_case ON child_cases (case_id);
