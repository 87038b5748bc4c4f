-- The daemon: leases that make a job for a period run once at a time across processes,
-- and the schedule's ticks, each claimed once across replicas (and caught up once).

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,          -- collect:2024-Q2, evaluate:2024-Q2, …
    holder      TEXT NOT NULL,             -- host:pid:nonce
    run_id      INTEGER,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL              -- renewed while held; free once passed
);

CREATE TABLE schedule_ticks (
    schedule   TEXT NOT NULL,              -- the [[serve.schedule]] id
    tick       TEXT NOT NULL,              -- the cron time the run answers
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    catch_up   INTEGER NOT NULL DEFAULT 0, -- claimed at start for missed ticks
    run_id     INTEGER,
    PRIMARY KEY (schedule, tick)
);
