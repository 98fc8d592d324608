-- cpc-reporting: what the children in need census return is written from,
-- kept from the cases feed (src/census/learn.rs), each row the latest
-- version cases published (an older copy never overwrites a newer one):
-- - census_children: the child's census identifiers and characteristics
--   (ChildIdentifiers, ChildCharacteristics). No names: the census does
--   not carry them, so reporting does not keep them.
-- - cin_episodes: each children in need episode (CINdetails).
-- - s47_enquiries (from migration 3): now also its episode, initial child
--   protection conference target and whether no conference was needed.
-- - initial_conferences: the date each child's initial (or pre-birth)
--   conference was held, from the outcomes recorded for it
--   (DateOfInitialCPC).
-- - child_protection_plans: each plan's dates, categories, previous plan
--   count and review conference dates (ChildProtectionPlans, Reviews).
--
-- Census items cases leaves unset are kept NULL rather than refused, so a
-- gap never stops the feed: the return is written without them and the
-- DfE validation names the child and the item.

CREATE TABLE census_children (
    id                uuid        PRIMARY KEY,
    authority_id      text        NOT NULL CHECK (authority_id <> ''),
    la_child_id       text        NOT NULL CHECK (la_child_id <> ''),
    upn               text,
    upn_unknown       text        CHECK (upn_unknown IS NULL OR upn_unknown ~ '^UN[1-7]$'),
    former_upn        text,
    birth_on          date,
    expected_birth_on date,
    death_on          date,
    sex               text        CHECK (sex IS NULL OR sex IN ('M', 'F', 'U')),
    ethnicity         text,
    disabilities      text[]      NOT NULL DEFAULT '{}',
    version           bigint      NOT NULL CHECK (version >= 1),
    updated_at        timestamptz NOT NULL
);

CREATE TABLE cin_episodes (
    id              uuid        PRIMARY KEY,
    authority_id    text        NOT NULL CHECK (authority_id <> ''),
    child_id        uuid        NOT NULL,
    referral_on     date        NOT NULL,
    referral_source text,
    primary_need    text,
    referral_nfa    boolean     NOT NULL,
    closure_on      date,
    closure_reason  text,
    version         bigint      NOT NULL CHECK (version >= 1),
    updated_at      timestamptz NOT NULL
);
CREATE INDEX cin_episodes_by_child ON cin_episodes (child_id, referral_on);
CREATE INDEX cin_episodes_by_period ON cin_episodes (authority_id, referral_on);

ALTER TABLE s47_enquiries
    ADD COLUMN cin_episode_id    uuid,
    ADD COLUMN icpc_target_on    date,
    ADD COLUMN icpc_not_required boolean NOT NULL DEFAULT false;

CREATE TABLE initial_conferences (
    outcome_id   uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    held_on      date        NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX initial_conferences_by_child ON initial_conferences (child_id, held_on);

CREATE TABLE child_protection_plans (
    id               uuid        PRIMARY KEY,
    authority_id     text        NOT NULL CHECK (authority_id <> ''),
    child_id         uuid        NOT NULL,
    cin_episode_id   uuid,
    start_on         date        NOT NULL,
    end_on           date,
    initial_category text        CHECK (initial_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    latest_category  text        CHECK (latest_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    previous_plans   integer     NOT NULL CHECK (previous_plans >= 0),
    review_dates     date[]      NOT NULL DEFAULT '{}',
    version          bigint      NOT NULL CHECK (version >= 1),
    updated_at       timestamptz NOT NULL
);
CREATE INDEX child_protection_plans_by_child ON child_protection_plans (child_id, start_on);

SELECT isolate_by_authority('census_children', 'cin_episodes', 'initial_conferences',
                            'child_protection_plans');

-- What cases published before this version is not read again: reporting's
-- position on the cases feed stays where it was. Replaying from the start
-- would fill these tables, but would also, for a while, put back older
-- versions of conference exclusions (they are replaced, not versioned),
-- and an excluded person could be sent minutes meanwhile.
