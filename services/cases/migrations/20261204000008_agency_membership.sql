-- cpc-cases: a membership may be held for the member's whole agency. While
-- it is current, every practitioner whose identity token names the same
-- agency (kind and name) is a member of the case.

ALTER TABLE case_memberships
    ADD COLUMN agency_wide boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT case_memberships_agency_wide_needs_agency
        CHECK (NOT agency_wide OR (agency_kind IS NOT NULL AND agency_name IS NOT NULL));

-- Lists across the authority find an agency's cases by its kind and name.
CREATE INDEX case_memberships_by_agency ON case_memberships (agency_kind, agency_name, case_id)
    WHERE agency_wide;
