-- cpc-escalation: an agency's report not submitted by the conference's
-- reports due date is a finding (REPORT_LATE); so is an agency with
-- several such findings or overdue actions on one case
-- (AGENCY_NOT_DELIVERING, subject 'Agency': the case and agency).
--
-- The request is scheduling's: each agency professional's invitation asks
-- for a report (InvitationSent, report_requested), due on the conference's
-- reports due date, which moves with the conference. What satisfies it is
-- reporting's: a report for the conference submitted by the invitee or by
-- anyone of the invitee's agency (AgencyReportSubmitted). Neither feed
-- orders itself against the other, so each is kept as it comes and the
-- requests of a conference are assessed again whenever either side
-- changes.

ALTER TABLE meetings ADD COLUMN reports_due_on date;

CREATE TABLE report_requests (
    -- The invitation.
    id            uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    conference_id uuid        NOT NULL,
    -- The invitee as a protobuf PersonRef: the finding's responsible.
    invitee       bytea       NOT NULL,
    invitee_id    text        NOT NULL,
    agency_kind   integer     NOT NULL CHECK (agency_kind > 0),
    agency_name   text        NOT NULL,
    version       bigint      NOT NULL CHECK (version >= 1),
    updated_at    timestamptz NOT NULL
);
CREATE INDEX report_requests_by_conference ON report_requests (conference_id);

-- Reports submitted: who by and for which conference, nothing of what
-- they say.
CREATE TABLE submitted_reports (
    -- The report.
    id            uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    conference_id uuid        NOT NULL,
    author_id     text        NOT NULL,
    agency_kind   integer     NOT NULL,
    agency_name   text        NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX submitted_reports_by_conference ON submitted_reports (conference_id);

ALTER TABLE drift_findings DROP CONSTRAINT drift_findings_kind_check;
ALTER TABLE drift_findings ADD CONSTRAINT drift_findings_kind_check CHECK (kind IN (
    'plan_action_overdue', 'core_group_missed', 'review_late', 'initial_conference_late',
    'plan_duration', 'report_late', 'agency_not_delivering'));

ALTER TABLE drift_findings DROP CONSTRAINT drift_findings_subject_type_check;
ALTER TABLE drift_findings ADD CONSTRAINT drift_findings_subject_type_check CHECK (subject_type IN (
    'PlanAction', 'Conference', 'CoreGroupMeeting', 'ChildProtectionPlan', 'ReportRequest',
    'Agency'));

SELECT isolate_by_authority('report_requests', 'submitted_reports');

-- Escalation did not ask scheduling's feed for invitations before this:
-- read that feed again from the start of what it retains, so the report
-- requests of conferences already arranged are learnt too. Every copy is
-- kept by version and a finding changes only when its assessment does, so
-- the events already applied change nothing.
UPDATE feed_positions SET last_sequence = 0 WHERE source = 'scheduling';
