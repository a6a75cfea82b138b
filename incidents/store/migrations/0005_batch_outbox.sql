-- Intake throughput: one outbox row per committed transaction instead of one per event, and
-- no per-row foreign-key triggers on the three tables every report writes.

-- A transaction's events wait for publishing as one row: their log ids and public payloads
-- in order. `first_event_id` keys it, so "mark these events published" is a key lookup.
CREATE TABLE event_outbox_batches (
    first_event_id bigint PRIMARY KEY,
    event_ids      bigint[] NOT NULL,
    payloads       text[] NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(event_ids) = cardinality(payloads) AND event_ids[1] = first_event_id)
);
-- The payloads are written once and read only after a crash: compressing them costs CPU on
-- every commit for no gain.
ALTER TABLE event_outbox_batches ALTER COLUMN payloads SET STORAGE EXTERNAL;

INSERT INTO event_outbox_batches (first_event_id, event_ids, payloads, created_at)
SELECT event_id, ARRAY[event_id], ARRAY[payload], created_at FROM event_outbox;
DROP TABLE event_outbox;
ALTER TABLE event_outbox_batches RENAME TO event_outbox;
ALTER TABLE event_outbox RENAME CONSTRAINT event_outbox_batches_pkey TO event_outbox_pkey;

-- Per-row referential checks were a third of PostgreSQL's time per report (a trigger per
-- event row, and a deferred check per report at commit). Cases, reports and events are
-- written only by incidents.case_store and incidents.intake_store, in one transaction each;
-- tests/integration/test_store_integrity.py checks that no row points nowhere.
ALTER TABLE case_events DROP CONSTRAINT case_events_case_id_fkey;
ALTER TABLE case_reports DROP CONSTRAINT case_reports_case_id_fkey;
