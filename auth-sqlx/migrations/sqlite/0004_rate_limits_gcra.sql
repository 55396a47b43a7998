-- Rate limits become GCRA buckets: one theoretical arrival time per bucket (microseconds
-- since the Unix epoch), named by a keyed hash. The fixed-window counters are dropped:
-- every limit starts with its whole allowance after the upgrade.
DROP TABLE rate_limits;
CREATE TABLE rate_limits (
    bucket  TEXT PRIMARY KEY NOT NULL,
    tat     INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limits_tat_idx ON rate_limits (tat);
