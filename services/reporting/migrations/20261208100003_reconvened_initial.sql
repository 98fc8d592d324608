-- cpc-reporting: an initial (or pre-birth) conference that was inquorate
-- reconvenes, and the reconvened conference is where the child's initial
-- conference is held (DfE census DateOfInitialCPC). Its outcome names the
-- kind RECONVENED, so the census needs what it reconvened: scheduling's
-- previous_conference_id, and the conference each outcome was for.

ALTER TABLE conferences
    ADD COLUMN previous_conference_id uuid;

ALTER TABLE initial_conferences
    ADD COLUMN conference_id uuid,
    -- The outcome of a RECONVENED conference: it counts as the initial
    -- conference only when the conference it reconvened was initial or
    -- pre-birth (decided when the census is read, as the two feeds may
    -- arrive in either order).
    ADD COLUMN reconvened boolean NOT NULL DEFAULT false;
