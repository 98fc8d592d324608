-- cpc-escalation: when each authority's drift sweep was last begun, so that
-- of several replicas one sweeps an authority each interval and the others
-- skip it (crate::sweep::claim), instead of each assessing every aged
-- subject again. The time is the database's, so replicas' clocks need not
-- agree.
CREATE TABLE drift_sweeps (
    authority_id text        PRIMARY KEY CHECK (authority_id <> ''),
    begun_at     timestamptz NOT NULL
);

SELECT isolate_by_authority('drift_sweeps');
