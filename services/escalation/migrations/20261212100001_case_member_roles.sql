-- cpc-escalation: each membership's role on its case, from the cases feed
-- (CaseRole without its prefix, e.g. 'team_manager'). Every service's copy
-- of the memberships is kept alike (cpc_platform::case_members::record);
-- scheduling reads the role to keep a chair who works on a case from
-- chairing its conferences.

ALTER TABLE case_members ADD COLUMN case_role text CHECK (case_role <> '');
