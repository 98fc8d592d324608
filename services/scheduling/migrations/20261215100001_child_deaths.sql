-- cpc-scheduling: each child's date of death, as the cases feed last
-- described the child (ChildRegistered, ChildUpdated, ChildDied), and the
-- version of the child record it was read from.
--
-- Nothing is made due for a child who has died (src/store/needs.rs). Cases
-- refuses an enquiry started after a recorded death, but an enquiry dated
-- on or before the death can still be recorded after it, and a plan's
-- review or core group can be counted after it: scheduling is where the
-- clock stops.
--
-- Deaths applied before this migration are learnt by a follow of the cases
-- feed of its own, from the start of what the feed retains
-- (CHILD_DEATHS_FEED in src/follow.rs). Both follows write a death only
-- from a version of the child at least as new as the one kept, so neither
-- puts back an older state while the other is behind it.

ALTER TABLE child_cases
    ADD COLUMN death_date date,
    ADD COLUMN death_version bigint NOT NULL DEFAULT 0 CHECK (death_version >= 0);
