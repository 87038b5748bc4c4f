-- The daemon: leases that make a job for a period run once at a time across processes
-- (held as advisory locks; the rows say who holds them), and the schedule's ticks, each
-- claimed once across replicas (and caught up once).

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,          -- collect:2024-Q2, evaluate:2024-Q2, …
    holder      TEXT NOT NULL,             -- host:pid:nonce
    run_id      BIGINT,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE schedule_ticks (
    schedule   TEXT NOT NULL,
    tick       TIMESTAMPTZ NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    catch_up   BOOLEAN NOT NULL DEFAULT FALSE,
    run_id     BIGINT,
    PRIMARY KEY (schedule, tick)
);
