-- cpc-cases: case membership, the basis of access control. Explicit rows,
-- one per person, role and period, queryable by case and by person.

CREATE TABLE case_memberships (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    case_id      uuid        NOT NULL,
    person_id    uuid        NOT NULL,
    display_name text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    agency_kind  text        CHECK (agency_kind IN (
        'childrens_social_care', 'police', 'health', 'education', 'early_years', 'probation', 'housing',
        'other_specialist', 'nspcc', 'adult_social_care', 'youth_justice', 'voluntary_sector')),
    agency_name  text        CHECK (char_length(agency_name) BETWEEN 1 AND 200),
    case_role    text        NOT NULL CHECK (case_role IN (
        'lead_social_worker', 'social_worker', 'team_manager', 'conference_chair', 'core_group_member',
        'agency_practitioner', 'business_support', 'advocate', 'manager_oversight')),
    start_date   date        NOT NULL,
    end_date     date,       -- inclusive; NULL while current
    end_reason   text        CHECK (end_reason IN (
        'involvement_ended', 'reallocated', 'left_post', 'granted_in_error', 'conflict_of_interest')),
    granted_by   jsonb       NOT NULL CHECK (is_person_ref(granted_by)),
    version      bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, case_id),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CHECK (agency_kind IS NULL OR agency_name IS NOT NULL),
    CONSTRAINT case_memberships_end_complete CHECK ((end_date IS NULL) = (end_reason IS NULL)),
    CONSTRAINT case_memberships_end_after_start CHECK (end_date IS NULL OR end_date >= start_date),
    -- A person holds at most one membership per role per case at any time.
    CONSTRAINT case_memberships_no_overlap EXCLUDE USING gist (
        case_id WITH =, person_id WITH =, case_role WITH =, daterange(start_date, end_date, '[]') WITH &&)
);
CREATE INDEX case_memberships_by_person ON case_memberships (person_id, case_id);
CREATE INDEX case_memberships_by_case ON case_memberships (case_id, (end_date IS NOT NULL), start_date, id);

-- The children a membership covers; none means every child of the case.
-- (child_id, case_id) makes covering a child of another case unrepresentable.
CREATE TABLE case_membership_children (
    membership_id uuid NOT NULL,
    child_id      uuid NOT NULL,
    case_id       uuid NOT NULL,
    authority_id  text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (membership_id, child_id),
    FOREIGN KEY (membership_id, case_id) REFERENCES case_memberships (id, case_id) ON DELETE CASCADE,
    CONSTRAINT case_membership_children_child_fk FOREIGN KEY (child_id, case_id) REFERENCES children (id, case_id)
);
CREATE INDEX case_membership_children_by_child ON case_membership_children (child_id);
