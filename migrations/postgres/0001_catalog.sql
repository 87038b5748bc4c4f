-- The plan catalogue and the agency directory.
-- Never edit a released migration: add a new one.

CREATE TABLE plans (
    id            TEXT PRIMARY KEY,
    symbol        TEXT NOT NULL,
    title         TEXT NOT NULL,
    issued_on     DATE NOT NULL,
    years         TEXT NOT NULL,
    source        TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    loaded_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE agencies (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    short_name   TEXT,
    level        TEXT NOT NULL,
    parent_id    TEXT,
    code         TEXT,
    emails       TEXT NOT NULL,
    aliases      TEXT NOT NULL,
    valid_from   DATE,
    valid_to     DATE,
    successors   TEXT NOT NULL,
    members      TEXT,
    contact_via  TEXT,
    note         TEXT,
    content_sha  TEXT NOT NULL,
    in_directory BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE indicators (
    id          BIGSERIAL PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    item_key    TEXT NOT NULL,
    number      BIGINT NOT NULL,
    sub         BIGINT NOT NULL,
    section     TEXT NOT NULL,
    task        TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    measures    TEXT NOT NULL,
    trajectory  TEXT NOT NULL,
    aggregate   TEXT NOT NULL,
    tolerance   DOUBLE PRECISION,
    flags       TEXT NOT NULL,
    settled     TEXT,
    content_sha TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (plan_id, item_key)
);

CREATE TABLE targets (
    indicator_id BIGINT NOT NULL REFERENCES indicators (id),
    year         BIGINT NOT NULL,
    raw          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    PRIMARY KEY (indicator_id, year)
);

CREATE TABLE assignments (
    indicator_id BIGINT NOT NULL REFERENCES indicators (id),
    agency_id    TEXT NOT NULL REFERENCES agencies (id),
    role         TEXT NOT NULL CHECK (role IN ('lead', 'co')),
    position     BIGINT NOT NULL,
    PRIMARY KEY (indicator_id, agency_id, role)
);
CREATE INDEX assignments_by_agency ON assignments (agency_id, role);
