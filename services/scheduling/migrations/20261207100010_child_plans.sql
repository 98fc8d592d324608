-- cpc-scheduling: each child's plans as the cases feed describes them
-- (PlanStarted, PlanUpdated, PlanTransferOutNotified, PlanEnded): whether a
-- pre-birth conference started the plan, and whether it is still in force.
-- ChildBorn names only the child; the birth of a child on a pre-birth plan
-- in force makes a post-birth review due (src/due.rs, src/store/needs.rs).
--
-- Filled from the feed from here on: a plan whose events were all applied
-- before this migration is not here, so the birth of its child makes no
-- post-birth review due (nothing scheduling holds says reliably that a
-- plan was started at a pre-birth conference).

CREATE TABLE child_plans (
    plan_id      uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    pre_birth    boolean     NOT NULL,
    in_force     boolean     NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX child_plans_by_child ON child_plans (child_id) WHERE in_force;

SELECT isolate_by_authority('child_plans');
