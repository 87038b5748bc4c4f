-- Collection: runs, raw snapshots, fetches, ingestions, versioned observations, rejects.

CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    job         TEXT NOT NULL,             -- collect | evaluate | remind | cycle | report
    period      BIGINT,                   -- period code: 20242 for 2024-Q2
    source_id   TEXT,
    round       TEXT,
    params      TEXT NOT NULL,             -- JSON of everything the run was asked
    trigger     TEXT NOT NULL,             -- cli | schedule | api
    operator    TEXT,
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    rerun_of    BIGINT REFERENCES runs (id),
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      TEXT NOT NULL,             -- running | succeeded | partial | failed | cancelled
    counts      TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    host        TEXT,
    pid         BIGINT
);
CREATE INDEX runs_by_job ON runs (job, period, started_at);
CREATE INDEX runs_by_status ON runs (status);

-- Every fetched or received file, addressed by its sha256 and kept in the warehouse so
-- any figure can be traced to it and any period re-parsed without fetching.
CREATE TABLE raw_files (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    media_type TEXT NOT NULL,              -- xlsx | xlsm | xlsb | xls | ods | json | html | unknown
    content    BYTEA NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL
);

CREATE TABLE fetches (
    id            BIGSERIAL PRIMARY KEY,
    run_id        BIGINT REFERENCES runs (id),
    source_id     TEXT NOT NULL,
    period        BIGINT NOT NULL,
    url           TEXT NOT NULL,           -- URL, or path for folder sources
    file_name     TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    http_status   BIGINT,
    attempts      BIGINT NOT NULL,
    outcome       TEXT NOT NULL,           -- fetched | not_modified | unchanged | failed
    sha256        TEXT REFERENCES raw_files (sha256),
    size          BIGINT,
    etag          TEXT,
    last_modified TEXT,
    error         TEXT
);
CREATE INDEX fetches_by_source ON fetches (source_id, period, url);

-- One processing of one file for one period.
CREATE TABLE ingestions (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT REFERENCES runs (id),
    fetch_id     BIGINT REFERENCES fetches (id),
    source_id    TEXT NOT NULL,
    period       BIGINT NOT NULL,
    sha256       TEXT NOT NULL REFERENCES raw_files (sha256),
    file_name    TEXT NOT NULL,
    agency_id    TEXT,
    layout       TEXT,
    sheet        TEXT,
    status       TEXT NOT NULL,            -- loaded | rejected
    observations BIGINT NOT NULL,
    superseded   BIGINT NOT NULL,
    unchanged    BIGINT NOT NULL,
    rejects      BIGINT NOT NULL,
    is_current   BOOLEAN NOT NULL DEFAULT TRUE,
    loaded_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ingestions_by_source ON ingestions (source_id, period, file_name, is_current);

-- Reported values. History is kept: a re-report supersedes the earlier value.
CREATE TABLE observations (
    id            BIGSERIAL PRIMARY KEY,
    period        BIGINT NOT NULL,
    indicator_id  BIGINT NOT NULL REFERENCES indicators (id),
    measure       TEXT NOT NULL,           -- '' for single-measure indicators
    agency_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,           -- percent | count | status
    value_num     DOUBLE PRECISION,
    value_status  TEXT,
    raw_text      TEXT NOT NULL,
    note          TEXT,
    ingestion_id  BIGINT NOT NULL REFERENCES ingestions (id),
    location      TEXT NOT NULL,           -- Sheet!D12, or the API record
    loaded_at     TIMESTAMPTZ NOT NULL,
    superseded_at TIMESTAMPTZ,
    superseded_by BIGINT
);
CREATE INDEX observations_current ON observations (period, indicator_id, agency_id, measure) WHERE superseded_at IS NULL;

-- Everything that could not be used, with where, what and why (in Vietnamese).
CREATE TABLE rejects (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT REFERENCES runs (id),
    ingestion_id BIGINT REFERENCES ingestions (id),
    fetch_id     BIGINT REFERENCES fetches (id),
    source_id    TEXT NOT NULL,
    period       BIGINT NOT NULL,
    agency_id    TEXT,
    file_name    TEXT,
    location     TEXT NOT NULL,
    item_key     TEXT,
    raw_text     TEXT NOT NULL,
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    is_current   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX rejects_by_period ON rejects (period, is_current);
