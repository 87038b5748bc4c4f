-- The plan catalogue and the agency directory.
-- Never edit a released migration: add a new one.

CREATE TABLE plans (
    id            TEXT PRIMARY KEY,
    symbol        TEXT NOT NULL,
    title         TEXT NOT NULL,
    issued_on     TEXT NOT NULL,
    years         TEXT NOT NULL,            -- JSON array of years
    source        TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,            -- plan file + overrides
    loaded_at     TEXT NOT NULL
);

CREATE TABLE agencies (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    short_name   TEXT,
    level        TEXT NOT NULL,
    parent_id    TEXT,
    code         TEXT,
    emails       TEXT NOT NULL,             -- JSON array
    aliases      TEXT NOT NULL,             -- JSON array, as declared
    valid_from   TEXT,
    valid_to     TEXT,
    successors   TEXT NOT NULL,             -- JSON array of ids
    members      TEXT,                      -- JSON: list of ids or {level, parent}
    contact_via  TEXT,
    note         TEXT,
    content_sha  TEXT NOT NULL,
    in_directory INTEGER NOT NULL DEFAULT 1,
    updated_at   TEXT NOT NULL
);

CREATE TABLE indicators (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    item_key    TEXT NOT NULL,
    number      INTEGER NOT NULL,
    sub         INTEGER NOT NULL,
    section     TEXT NOT NULL,
    task        TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    measures    TEXT NOT NULL,              -- JSON
    trajectory  TEXT NOT NULL,
    aggregate   TEXT NOT NULL,
    tolerance   REAL,
    flags       TEXT NOT NULL,              -- JSON
    settled     TEXT,
    content_sha TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL,
    UNIQUE (plan_id, item_key)
);

CREATE TABLE targets (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id),
    year         INTEGER NOT NULL,
    raw          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    spec         TEXT NOT NULL,             -- JSON of the parsed target
    PRIMARY KEY (indicator_id, year)
);

CREATE TABLE assignments (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id),
    agency_id    TEXT NOT NULL REFERENCES agencies (id),
    role         TEXT NOT NULL CHECK (role IN ('lead', 'co')),
    position     INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, agency_id, role)
);
CREATE INDEX assignments_by_agency ON assignments (agency_id, role);
