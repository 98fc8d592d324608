-- cpc-escalation: an escalation's response due date passing with no
-- resolution is told once on the feed (EscalationResponseOverdue) for each
-- due date it is given; the sweep notes which due date it told.

ALTER TABLE escalations ADD COLUMN overdue_told_for date;
