-- cpc-escalation: read scheduling's feed again from the start of what it
-- retains, this time for certain.
--
-- 20261207100005 reset the feed position with a plain UPDATE. The table is
-- under forced row-level security, which binds the schema's owner too: run
-- by an owner that is not a superuser (as production should be), that
-- UPDATE matched no row and the invitations already arranged were never
-- learnt. The owner lifts the forcing for the length of this migration's
-- transaction only. Replaying is harmless: every copy is kept by version and
-- a finding changes only when its assessment does. It also tells escalation
-- every plan of the core group meetings kept before 20261207100006.
ALTER TABLE feed_positions NO FORCE ROW LEVEL SECURITY;
UPDATE feed_positions SET last_sequence = 0 WHERE source = 'scheduling';
ALTER TABLE feed_positions FORCE ROW LEVEL SECURITY;
