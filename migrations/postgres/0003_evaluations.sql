-- Gap evaluations. A row is valid from the run that produced it until a later run
-- produced a different row for the same key (or none): the current view is
-- `valid_to_run IS NULL`, and what was known at run R is
-- `valid_from_run <= R AND (valid_to_run IS NULL OR valid_to_run > R)`.

CREATE TABLE evaluations (
    id             BIGSERIAL PRIMARY KEY,
    period         BIGINT NOT NULL,
    indicator_id   BIGINT NOT NULL REFERENCES indicators (id),
    measure        TEXT NOT NULL,
    row_kind       TEXT NOT NULL,           -- member | aggregate | district
    agency_id      TEXT NOT NULL,           -- '*' for the province
    status         TEXT NOT NULL,
    target         TEXT NOT NULL,
    expected       DOUBLE PRECISION,
    actual_kind    TEXT,
    actual_num     DOUBLE PRECISION,
    actual_status  TEXT,
    gap            DOUBLE PRECISION,
    pace           DOUBLE PRECISION,
    reason         TEXT NOT NULL,
    co             TEXT NOT NULL,           -- JSON array of agency ids
    members_judged BIGINT,
    members_good   BIGINT,
    observation_id BIGINT,
    content_hash   BIGINT NOT NULL,
    valid_from_run BIGINT NOT NULL REFERENCES runs (id),
    valid_to_run   BIGINT REFERENCES runs (id),
    evaluated_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX evaluations_current ON evaluations (period, indicator_id, measure, row_kind, agency_id) WHERE valid_to_run IS NULL;
CREATE INDEX evaluations_by_run ON evaluations (period, valid_from_run);
