-- cpc-reporting: the reports agencies (and the social worker, and
-- advocates) write for a conference, and whom each was shared with.
--
-- Reporting keeps, from scheduling's feed, each conference's reports due
-- date and chair, and who was invited (a report is shared only with an
-- invitee or a member of the case); from the cases feed, whom the chair
-- excluded from attending (they receive a report only when the chair
-- shares it with them).

ALTER TABLE conferences
    ADD COLUMN reports_due_on date,
    ADD COLUMN chair_id       text CHECK (chair_id IS NULL OR chair_id <> '');

CREATE TABLE conference_invitees (
    conference_id uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    invitation_id uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (conference_id, person_id)
);

-- As minutes_exclusions, for the outcome's exclusions with scope
-- ATTENDANCE.
CREATE TABLE attendance_exclusions (
    conference_id uuid        NOT NULL,
    child_id      uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    outcome_id    uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (conference_id, child_id, person_id)
);

CREATE TABLE agency_reports (
    id            uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    conference_id uuid        NOT NULL,
    child_ids     uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    kind          text        NOT NULL CHECK (kind IN ('social_worker', 'agency', 'advocacy')),
    -- The author as written on the report (protobuf PersonRef), and the
    -- two fields the visibility rule and the lists read.
    author        bytea       NOT NULL,
    author_id     text        NOT NULL CHECK (author_id <> ''),
    agency_kind   integer     NOT NULL CHECK (agency_kind >= 0),
    status        text        NOT NULL CHECK (status IN ('draft', 'submitted', 'withdrawn')),
    -- At most one of the two; submission needs one.
    document      bytea,
    body          text        CHECK (char_length(body) BETWEEN 1 AND 100000),
    submitted_at  timestamptz,
    -- The reports due date when it was submitted, and whether it was late
    -- then; a draft is judged against the conference's date as it stands.
    due_on        date,
    late          boolean     NOT NULL DEFAULT false,
    version       bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id),
    CONSTRAINT agency_reports_one_content CHECK (document IS NULL OR body IS NULL),
    CONSTRAINT agency_reports_submitted_with_content CHECK (
        status = 'draft' OR ((document IS NOT NULL OR body IS NOT NULL) AND submitted_at IS NOT NULL))
);
CREATE INDEX agency_reports_by_conference ON agency_reports (conference_id);
CREATE INDEX agency_reports_by_child ON agency_reports USING gin (child_ids);

-- Each sharing of a report: appended, never changed.
CREATE TABLE agency_report_shares (
    report_id    uuid        NOT NULL,
    position     integer     NOT NULL CHECK (position >= 0),
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    person_id    text        NOT NULL CHECK (person_id <> ''),
    share        bytea       NOT NULL,
    shared_at    timestamptz NOT NULL,
    PRIMARY KEY (report_id, position),
    FOREIGN KEY (authority_id, report_id) REFERENCES agency_reports (authority_id, id)
);
CREATE INDEX agency_report_shares_by_person ON agency_report_shares (person_id);

SELECT isolate_by_authority(
    'conference_invitees', 'attendance_exclusions', 'agency_reports', 'agency_report_shares');

-- Whom a report is shown to, in one place (the store reads through it for
-- a single report and for lists): its author always; nobody else while it
-- is a draft; once submitted, the local authority's readers
-- (`reads_every_submitted`, from the caller's roles) and anyone it was
-- shared with. The policies decide first who may read a conference's
-- reports at all.
CREATE FUNCTION report_visible(r agency_reports, reader text, reads_every_submitted boolean)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT r.author_id = reader
        OR (r.status <> 'draft'
            AND (reads_every_submitted
                 OR EXISTS (SELECT 1 FROM agency_report_shares s
                             WHERE s.report_id = r.id AND s.person_id = reader)))
$$;
