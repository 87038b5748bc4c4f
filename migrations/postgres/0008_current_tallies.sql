-- The dashboard's overview counts each quarter's current rows by kind, agency and status
-- (report::overview): this partial index holds every column those counts read, so they
-- are read from the index alone instead of one table lookup per row (a national quarter
-- of 160,666 rows on SQLite: the members' tallies 151 → 84 ms, the aggregate counts and
-- the rows without an aggregate about 3× faster). It costs the evaluation one more index
-- entry per row it writes (docs/benchmarks.md).
CREATE INDEX evaluations_current_tallies ON evaluations
    (period, row_kind, agency_id, status, actual_kind, actual_num, actual_status, indicator_id)
    WHERE valid_to_run IS NULL;
