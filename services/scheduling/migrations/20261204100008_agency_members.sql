-- cpc-scheduling: a membership held for a whole agency (CaseMembership
-- agency_wide) names the agency as access decisions do, `<kind>:<name>`;
-- NULL for a membership of the person alone.

ALTER TABLE case_members
    ADD COLUMN agency text CHECK (agency IS NULL OR agency <> '');
