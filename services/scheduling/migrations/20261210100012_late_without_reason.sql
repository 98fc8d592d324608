-- cpc-scheduling: a booking that a change of its children's deadlines puts
-- past the due date (a sibling joining with an earlier deadline, a
-- corrected date of birth) is flagged booked_past_deadline, with no reason:
-- no one gave one when it was booked in time. Holding it late asks for one
-- (RecordConferenceHeld), as moving it late does. A reason is still only
-- kept for a conference booked (or held) past its deadline.

ALTER TABLE conferences
    DROP CONSTRAINT conferences_past_deadline_has_reason,
    ADD CONSTRAINT conferences_past_deadline_reason_flagged CHECK (
        past_deadline_reason IS NULL OR booked_past_deadline);
