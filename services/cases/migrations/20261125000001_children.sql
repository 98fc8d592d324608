-- cpc-cases: family cases (sibling groups), children and family members.
--
-- Runs with search_path = cases (see cpc_platform::db), so no name here is
-- schema-qualified. Every table carries authority_id (the tenant) and is
-- isolated by row-level security (see 20261125000006_row_level_security.sql).
-- Codes are stored as the census codes (sex M/F/U, ethnicity, disability,
-- UPN unknown UN1-UN7) or as short lower-case names of the API enums.
--
-- Composite foreign keys include authority_id, so no row can ever point at
-- another authority's row.

-- Exclusion constraints need GiST equality on uuid/text. btree_gist is a
-- trusted extension (Postgres 13+), so the database owner may create it; it
-- lives in public because extensions are per database, not per schema.
-- Default operator classes are found whatever the search_path.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

-- True when an array holds no value twice (used by check constraints).
CREATE FUNCTION array_is_distinct(values_ anyarray) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT cardinality(values_) = (SELECT count(DISTINCT v) FROM unnest(values_) AS v) $$;

-- A PersonRef stored as JSON: person_id (uuid text), display_name and, for
-- professionals, agency_kind and agency_name.
CREATE FUNCTION is_person_ref(p jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT jsonb_typeof(p) = 'object'
       AND p ? 'person_id'
       AND (p->>'person_id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       AND char_length(coalesce(p->>'display_name', '')) BETWEEN 1 AND 200
$$;

CREATE FUNCTION is_person_ref_list(ps jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT jsonb_typeof(ps) = 'array'
       AND coalesce((SELECT bool_and(is_person_ref(p)) FROM jsonb_array_elements(ps) AS p), true)
$$;

CREATE TABLE cases (
    id                  uuid        PRIMARY KEY,
    authority_id        text        NOT NULL CHECK (authority_id <> ''),
    display_name        text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    -- [{"system": "LCS", "id": "..."}]
    external_references jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(external_references) = 'array'),
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id)
);
CREATE INDEX cases_by_name ON cases (authority_id, lower(display_name), id);

CREATE TABLE children (
    id                  uuid        PRIMARY KEY,
    authority_id        text        NOT NULL CHECK (authority_id <> ''),
    case_id             uuid        NOT NULL,
    -- LAchildID (N00097).
    la_child_id         text        NOT NULL CHECK (la_child_id ~ '^[A-Za-z0-9]{1,20}$'),
    -- UPN (N00001) / FormerUPN: check letter, 11 digits, digit or letter
    -- (never I, O, S). The check letter itself is verified on entry.
    upn                 text        CHECK (upn ~ '^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$'),
    upn_unknown_reason  text        CHECK (upn_unknown_reason IN ('UN1', 'UN2', 'UN3', 'UN4', 'UN5', 'UN6', 'UN7')),
    former_upn          text        CHECK (former_upn ~ '^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$'),
    -- 10 digits; the modulus-11 check digit is verified on entry.
    nhs_number          text        CHECK (nhs_number ~ '^[0-9]{10}$'),
    given_names         text        NOT NULL CHECK (char_length(given_names) BETWEEN 1 AND 100),
    family_name         text        NOT NULL CHECK (char_length(family_name) BETWEEN 1 AND 100),
    preferred_name      text        CHECK (char_length(preferred_name) BETWEEN 1 AND 100),
    birth_date          date,       -- PersonBirthDate (N00066); NULL while unborn
    expected_birth_date date,       -- ExpectedPersonBirthDate (N00098)
    death_date          date,       -- PersonDeathDate (N00108)
    sex                 text        NOT NULL CHECK (sex IN ('M', 'F', 'U')),
    ethnicity_code      text        CHECK (ethnicity_code IN (
        'WBRI', 'WIRI', 'WIRT', 'WOTH', 'WROM', 'MWBC', 'MWBA', 'MWAS', 'MOTH', 'AIND', 'APKN',
        'ABAN', 'AOTH', 'BCRB', 'BAFR', 'BOTH', 'CHNE', 'OOTH', 'REFU', 'NOBT')),
    disability_codes    text[]      NOT NULL DEFAULT '{}' CHECK (
        disability_codes <@ ARRAY['NONE', 'MOB', 'HAND', 'PC', 'INC', 'COMM', 'LD', 'HEAR', 'VIS', 'BEH', 'CON', 'AUT', 'DDA']
        AND array_is_distinct(disability_codes)
        AND NOT ('NONE' = ANY (disability_codes) AND cardinality(disability_codes) > 1)),
    first_language      text        CHECK (char_length(first_language) BETWEEN 1 AND 60),
    external_references jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(external_references) = 'array'),
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, case_id),
    CONSTRAINT children_la_child_id_unique UNIQUE (authority_id, la_child_id),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CONSTRAINT children_born_or_expected CHECK (birth_date IS NOT NULL OR expected_birth_date IS NOT NULL),
    CONSTRAINT children_unborn_sex_unknown CHECK (birth_date IS NOT NULL OR sex = 'U'),
    CONSTRAINT children_death_after_birth CHECK (death_date IS NULL OR (birth_date IS NOT NULL AND death_date >= birth_date)),
    CONSTRAINT children_upn_or_reason CHECK (upn IS NULL OR upn_unknown_reason IS NULL)
);
CREATE INDEX children_by_name ON children (authority_id, lower(family_name), lower(given_names), id);
CREATE INDEX children_by_case ON children (case_id);
CREATE INDEX children_by_nhs_number ON children (authority_id, nhs_number) WHERE nhs_number IS NOT NULL;

CREATE TABLE family_members (
    id                   uuid        PRIMARY KEY,
    authority_id         text        NOT NULL CHECK (authority_id <> ''),
    case_id              uuid        NOT NULL,
    given_names          text        NOT NULL CHECK (char_length(given_names) BETWEEN 1 AND 100),
    family_name          text        NOT NULL CHECK (char_length(family_name) BETWEEN 1 AND 100),
    birth_date           date,
    address_lines        text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(address_lines) <= 4),
    address_town         text        CHECK (char_length(address_town) BETWEEN 1 AND 60),
    address_postcode     text        CHECK (char_length(address_postcode) BETWEEN 5 AND 8),
    address_confidential boolean     NOT NULL DEFAULT false,
    phone                text        CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    email                text        CHECK (char_length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    preferred_language   text        CHECK (char_length(preferred_language) BETWEEN 1 AND 60),
    interpreter_needed   boolean     NOT NULL DEFAULT false,
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, case_id),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id)
);
CREATE INDEX family_members_by_case ON family_members (case_id, lower(family_name), lower(given_names), id);

-- A family member's relationship to one child of the same case: the
-- (child_id, case_id) key makes a relationship to a child of another case
-- unrepresentable (and a child cannot be moved out of the case while
-- relationships to it remain).
CREATE TABLE family_relationships (
    family_member_id        uuid    NOT NULL,
    child_id                uuid    NOT NULL,
    case_id                 uuid    NOT NULL,
    authority_id            text    NOT NULL CHECK (authority_id <> ''),
    relationship            text    NOT NULL CHECK (relationship IN (
        'mother', 'father', 'step_parent', 'parent_partner', 'sibling', 'grandparent',
        'other_relative', 'guardian', 'family_friend', 'other')),
    relationship_detail     text    CHECK (char_length(relationship_detail) BETWEEN 1 AND 200),
    parental_responsibility boolean NOT NULL DEFAULT false,
    lives_with_child        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (family_member_id, child_id),
    CONSTRAINT family_relationships_member_fk FOREIGN KEY (family_member_id, case_id)
        REFERENCES family_members (id, case_id) ON DELETE CASCADE,
    CONSTRAINT family_relationships_child_fk FOREIGN KEY (child_id, case_id)
        REFERENCES children (id, case_id),
    CHECK (relationship <> 'other' OR relationship_detail IS NOT NULL)
);
CREATE INDEX family_relationships_by_child ON family_relationships (child_id);
