-- cpc-reporting: what timeliness statistics are computed from, kept from
-- the feeds: each conference's kind, statutory due date and the date its
-- clock started (scheduling); each core group meeting's due and held dates
-- (scheduling); each section 47 enquiry's actual start date (cases), the
-- start of the DfE's ICPC measure.

ALTER TABLE conferences
    ADD COLUMN kind             text CHECK (kind IS NULL OR kind IN (
                                    'initial', 'review', 'transfer_in', 'pre_birth', 'reconvened',
                                    'post_birth_review')),
    ADD COLUMN statutory_due_on date,
    ADD COLUMN clock_started_on date;

CREATE TABLE core_group_meetings (
    id               uuid        PRIMARY KEY,
    authority_id     text        NOT NULL CHECK (authority_id <> ''),
    case_id          uuid        NOT NULL,
    sequence_number  integer     NOT NULL CHECK (sequence_number >= 1),
    status           text        NOT NULL CHECK (status IN ('due', 'scheduled', 'held', 'missed', 'cancelled')),
    due_on           date        NOT NULL,
    held_on          date,
    clock_started_on date,
    version          bigint      NOT NULL CHECK (version >= 1),
    updated_at       timestamptz NOT NULL
);
CREATE INDEX core_group_meetings_by_due ON core_group_meetings (authority_id, due_on);

CREATE TABLE s47_enquiries (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    start_on     date        NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX s47_enquiries_by_child ON s47_enquiries (child_id, start_on);

SELECT isolate_by_authority('core_group_meetings', 's47_enquiries');
