-- Merge candidates by map cell: the lookup costs the cases in a few ~1 km cells, not every
-- open case of the category in the time window (which made intake slow down as it grew).
-- The cell key must match incidents.intake_store.merge_cell_key.
ALTER TABLE cases ADD COLUMN merge_cell bigint GENERATED ALWAYS AS (
    (floor(lon / 0.01)::bigint + 20000) * 100000 + (floor(lat / 0.01)::bigint + 10000)
) STORED;
CREATE INDEX cases_open_cell_idx ON cases (category, merge_cell, last_report_at)
    WHERE status = 'open';
DROP INDEX cases_open_merge_idx;

-- (case_id, seq) is unique and serves every per-case read of the log.
DROP INDEX case_events_case_idx;

-- The snapshot and the logged event are read back whole, never queried inside: text spares
-- PostgreSQL parsing ~1 KB of JSON per row on every write.
ALTER TABLE cases ALTER COLUMN snapshot TYPE text USING snapshot::text;
ALTER TABLE case_events ALTER COLUMN data TYPE text USING data::text;
