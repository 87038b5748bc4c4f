-- The outbox: every reminder or correction, under an idempotency key that is unique
-- (plan/period/agency/round[/correction]): a rerun never queues the same message twice.

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    plan_id         TEXT NOT NULL,
    period          INTEGER NOT NULL,
    agency_id       TEXT NOT NULL,          -- the agency written to
    round           TEXT NOT NULL,
    kind            TEXT NOT NULL,          -- reminder | correction
    run_id          INTEGER REFERENCES runs (id),
    evaluation_run  INTEGER,                -- the evaluate run the digest was based on
    items           TEXT NOT NULL,          -- JSON: the gap rows the digest lists
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    status          TEXT NOT NULL,          -- queued | sending | sent | partial | failed | cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT NOT NULL,          -- earliest send: round schedule, interval, backoff
    claimed_by      TEXT,
    claimed_until   TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_by_period ON outbox (period, agency_id);

CREATE TABLE outbox_recipients (
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    address   TEXT NOT NULL,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,                -- to | cc
    agency_id TEXT,
    status    TEXT NOT NULL,                -- pending | sent | failed
    smtp_code INTEGER,
    error     TEXT,
    sent_at   TEXT,
    PRIMARY KEY (outbox_id, address)
);

CREATE TABLE outbox_attachments (
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id),
    position     INTEGER NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (outbox_id, position)
);
