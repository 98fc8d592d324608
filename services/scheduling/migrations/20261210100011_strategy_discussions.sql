-- cpc-scheduling: when each strategy discussion that started a section 47
-- enquiry was held (Section47Started).
--
-- An unborn child's pre-birth conference is due by the later of the
-- gestation deadline (from the expected date of birth) and the deadline
-- after the discussion (src/due.rs, pre_birth). When the gestation deadline
-- governs, the conference's basis keeps the expected date and only the
-- discussion's id; a revised expected date of birth recounts the
-- conference from both, so the discussion's date is kept here.
--
-- Filled from the feed from here on: a pre-birth conference counted from
-- the expected date before this migration, whose discussion is not here,
-- is left as it is when the expected date is revised (one counted from the
-- discussion keeps its date in its basis, and is recounted).

CREATE TABLE strategy_discussions (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    held_on      date        NOT NULL,
    updated_at   timestamptz NOT NULL
);

SELECT isolate_by_authority('strategy_discussions');
