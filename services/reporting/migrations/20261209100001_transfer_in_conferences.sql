-- cpc-reporting: a child who moves in on another authority's plan starts
-- this authority's plan at a transfer-in conference, not at an initial
-- conference after a section 47 enquiry. The census return gives its date
-- as the DateOfInitialCPC of the child's CINdetails, where validator rule
-- 2885 looks for the plan's start when the episode has no Section47
-- (src/census/assemble.rs). Transfer-in outcomes are now kept beside the
-- initial conferences', marked, so that no section 47 enquiry takes one
-- for its initial conference. A RECONVENED outcome is still told apart by
-- the kind of the conference it reconvened, when the census is read.
--
-- Transfer-in outcomes cases published before this version were not kept,
-- and, as in 20261208100001_census.sql, the cases feed is not read again:
-- a plan that started at one of them is returned without the date, and
-- the validation names it (2885).

ALTER TABLE initial_conferences
    ADD COLUMN transfer_in boolean NOT NULL DEFAULT false;
