-- cpc-scheduling: each membership's role on its case, from the cases feed
-- (CaseRole without its prefix, e.g. 'team_manager'). Allocation reads it:
-- a chair who works on the case (as its social worker, lead social worker
-- or team manager) is not independent of it and is not given its
-- conferences (Working Together: the chair is independent of operational
-- and line management responsibility for the case).
--
-- Memberships learnt before this migration have no role until the cases
-- feed next changes them.

ALTER TABLE case_members ADD COLUMN case_role text CHECK (case_role <> '');
