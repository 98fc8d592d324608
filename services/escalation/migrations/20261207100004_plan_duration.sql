-- cpc-escalation: plans reaching a plan-duration review point (12, 15, 18
-- and 21 months by default) are findings too; the plan's start date is
-- kept from the cases feed.

ALTER TABLE plans ADD COLUMN start_date date;

ALTER TABLE drift_findings DROP CONSTRAINT drift_findings_kind_check;
ALTER TABLE drift_findings ADD CONSTRAINT drift_findings_kind_check CHECK (kind IN (
    'plan_action_overdue', 'core_group_missed', 'review_late', 'initial_conference_late',
    'plan_duration'));

ALTER TABLE drift_findings DROP CONSTRAINT drift_findings_subject_type_check;
ALTER TABLE drift_findings ADD CONSTRAINT drift_findings_subject_type_check CHECK (subject_type IN (
    'PlanAction', 'Conference', 'CoreGroupMeeting', 'ChildProtectionPlan'));
