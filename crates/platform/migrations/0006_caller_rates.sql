-- cpc-platform: calls per caller, shared by every replica of a service
-- (`crate::rate_limit`). One row per caller holds the GCRA's theoretical
-- arrival time: the moment by which the caller's calls so far would have
-- been served at the sustained rate. A call is accepted while that moment
-- is no further ahead than the burst allows.
--
-- UNLOGGED: the rows are a few seconds of counting, not records. After a
-- crash Postgres empties the table, which forgives every caller once; no
-- child's data is here and nothing needs to be kept.
CREATE UNLOGGED TABLE caller_rates (
    -- "<authority>/<kind>/<subject>" of an authenticated caller.
    caller text        PRIMARY KEY CHECK (caller <> ''),
    tat    timestamptz NOT NULL
);

-- Counts one call by `caller_key` at `emission` per call sustained and
-- `burst` at once. Returns zero when the call is accepted (and counted),
-- else how long until it would be (and counts nothing). The caller's row
-- is locked for the check, so replicas counting at once queue on it rather
-- than both taking the last place; the time is the database's, so replicas'
-- clocks need not agree.
CREATE FUNCTION take_call(caller_key text, emission interval, burst integer)
RETURNS interval
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    held timestamptz;
    at   timestamptz;
    due  timestamptz;
BEGIN
    IF caller_key IS NULL OR caller_key = '' OR emission <= interval '0' OR burst < 1 THEN
        RAISE EXCEPTION 'take_call: a caller, a positive emission interval and a burst of at least one';
    END IF;
    INSERT INTO caller_rates (caller, tat) VALUES (caller_key, '-infinity')
        ON CONFLICT (caller) DO NOTHING;
    SELECT tat INTO held FROM caller_rates WHERE caller = caller_key FOR UPDATE;
    -- Read after the lock: time spent queueing behind another replica
    -- counts as time passed.
    at := clock_timestamp();
    due := greatest(held, at) + emission;
    IF due - at > emission * burst THEN
        RETURN due - at - emission * burst;
    END IF;
    UPDATE caller_rates SET tat = due WHERE caller = caller_key;
    RETURN interval '0';
END
$$;
