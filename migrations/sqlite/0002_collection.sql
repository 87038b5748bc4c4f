-- Collection: runs, raw snapshots, fetches, ingestions, versioned observations, rejects.

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT NOT NULL,             -- collect | evaluate | remind | cycle | report
    period      INTEGER,                   -- period code: 20242 for 2024-Q2
    source_id   TEXT,
    round       TEXT,
    params      TEXT NOT NULL,             -- JSON of everything the run was asked
    trigger     TEXT NOT NULL,             -- cli | schedule | api
    operator    TEXT,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    rerun_of    INTEGER REFERENCES runs (id),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,             -- running | succeeded | partial | failed | cancelled
    counts      TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    host        TEXT,
    pid         INTEGER
);
CREATE INDEX runs_by_job ON runs (job, period, started_at);
CREATE INDEX runs_by_status ON runs (status);

-- Every fetched or received file, addressed by its sha256 and kept in the warehouse so
-- any figure can be traced to it and any period re-parsed without fetching.
CREATE TABLE raw_files (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,              -- xlsx | xlsm | xlsb | xls | ods | json | html | unknown
    content    BLOB NOT NULL,
    first_seen TEXT NOT NULL
);

CREATE TABLE fetches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER REFERENCES runs (id),
    source_id     TEXT NOT NULL,
    period        INTEGER NOT NULL,
    url           TEXT NOT NULL,           -- URL, or path for folder sources
    file_name     TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL,
    http_status   INTEGER,
    attempts      INTEGER NOT NULL,
    outcome       TEXT NOT NULL,           -- fetched | not_modified | unchanged | failed
    sha256        TEXT REFERENCES raw_files (sha256),
    size          INTEGER,
    etag          TEXT,
    last_modified TEXT,
    error         TEXT
);
CREATE INDEX fetches_by_source ON fetches (source_id, period, url);

-- One processing of one file for one period.
CREATE TABLE ingestions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER REFERENCES runs (id),
    fetch_id     INTEGER REFERENCES fetches (id),
    source_id    TEXT NOT NULL,
    period       INTEGER NOT NULL,
    sha256       TEXT NOT NULL REFERENCES raw_files (sha256),
    file_name    TEXT NOT NULL,
    agency_id    TEXT,
    layout       TEXT,
    sheet        TEXT,
    status       TEXT NOT NULL,            -- loaded | rejected
    observations INTEGER NOT NULL,
    superseded   INTEGER NOT NULL,
    unchanged    INTEGER NOT NULL,
    rejects      INTEGER NOT NULL,
    is_current   INTEGER NOT NULL DEFAULT 1,
    loaded_at    TEXT NOT NULL
);
CREATE INDEX ingestions_by_source ON ingestions (source_id, period, file_name, is_current);

-- Reported values. History is kept: a re-report supersedes the earlier value.
CREATE TABLE observations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    period        INTEGER NOT NULL,
    indicator_id  INTEGER NOT NULL REFERENCES indicators (id),
    measure       TEXT NOT NULL,           -- '' for single-measure indicators
    agency_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,           -- percent | count | status
    value_num     REAL,
    value_status  TEXT,
    raw_text      TEXT NOT NULL,
    note          TEXT,
    ingestion_id  INTEGER NOT NULL REFERENCES ingestions (id),
    location      TEXT NOT NULL,           -- Sheet!D12, or the API record
    loaded_at     TEXT NOT NULL,
    superseded_at TEXT,
    superseded_by INTEGER
);
CREATE INDEX observations_current ON observations (period, indicator_id, agency_id, measure) WHERE superseded_at IS NULL;

-- Everything that could not be used, with where, what and why (in Vietnamese).
CREATE TABLE rejects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER REFERENCES runs (id),
    ingestion_id INTEGER REFERENCES ingestions (id),
    fetch_id     INTEGER REFERENCES fetches (id),
    source_id    TEXT NOT NULL,
    period       INTEGER NOT NULL,
    agency_id    TEXT,
    file_name    TEXT,
    location     TEXT NOT NULL,
    item_key     TEXT,
    raw_text     TEXT NOT NULL,
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    is_current   INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);
CREATE INDEX rejects_by_period ON rejects (period, is_current);
