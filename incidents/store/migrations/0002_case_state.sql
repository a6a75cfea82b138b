-- The incident core: the case's full state beside indexed columns, the event log's envelope,
-- and projections for assignments, linked reports and evaluations.

ALTER TABLE cases
    ADD COLUMN source_id           text,
    ADD COLUMN owning_org          text,
    ADD COLUMN township_name       text,
    ADD COLUMN village_name        text,
    ADD COLUMN last_report_at      timestamptz,
    ADD COLUMN report_count        integer NOT NULL DEFAULT 1,
    ADD COLUMN deadline_kind       text,
    ADD COLUMN deadline_started_at timestamptz,
    ADD COLUMN deadline_at         timestamptz,
    ADD COLUMN deadline_warn_at    timestamptz,
    ADD COLUMN overdue_recorded    boolean NOT NULL DEFAULT false,
    ADD COLUMN reopen_count        integer NOT NULL DEFAULT 0,
    ADD COLUMN overdue_count       integer NOT NULL DEFAULT 0,
    ADD COLUMN resolution_tier     text,
    ADD COLUMN satisfaction        text,
    ADD COLUMN closed_at           timestamptz,
    ADD COLUMN last_seq            integer NOT NULL DEFAULT 1,
    ADD COLUMN snapshot            jsonb;
ALTER TABLE cases ALTER COLUMN township_code DROP NOT NULL;

-- The overdue scan reads only open cases whose warning time has come.
CREATE INDEX cases_open_deadline_idx ON cases (deadline_warn_at) WHERE status = 'open';
-- Merge candidates: open cases of a category, recently reported, near a point.
CREATE INDEX cases_open_merge_idx ON cases (category, last_report_at, lon, lat)
    WHERE status = 'open';

ALTER TABLE case_events
    ADD COLUMN seq          integer,
    ADD COLUMN version      integer,
    ADD COLUMN causation_id text;
CREATE UNIQUE INDEX case_events_case_seq_idx ON case_events (case_id, seq);

-- How a report reached its case: the one that opened it, or linked (auto, manual, merged).
ALTER TABLE case_reports
    ADD COLUMN link_kind text NOT NULL DEFAULT 'opened',
    ADD COLUMN linked_at timestamptz;

CREATE TABLE case_assignments (
    case_id         bigint NOT NULL REFERENCES cases (id),
    assignment_no   integer NOT NULL,
    unit_id         text NOT NULL,
    kind            text NOT NULL,
    name            text NOT NULL,
    status          text NOT NULL,
    dispatched_at   timestamptz NOT NULL,
    dispatched_by   text NOT NULL,
    acknowledged_at timestamptz,
    arrived_at      timestamptz,
    finished_at     timestamptz,
    PRIMARY KEY (case_id, assignment_no)
);
CREATE INDEX case_assignments_active_unit_idx ON case_assignments (unit_id)
    WHERE status IN ('dispatched', 'acknowledged', 'arrived');

CREATE TABLE case_evaluations (
    case_id         bigint PRIMARY KEY REFERENCES cases (id),
    satisfaction    text,
    comment         text,
    resolution_tier text,
    evaluated_by    text NOT NULL,
    evaluated_at    timestamptz NOT NULL
);

-- The outbox keeps the public form of each event (reporters masked, the case view attached),
-- so a drain after a crash publishes exactly what the writer would have.
ALTER TABLE event_outbox ADD COLUMN payload text;
-- Outbox rows written before this migration carry no public payload; they were demo data.
DELETE FROM event_outbox WHERE payload IS NULL;
ALTER TABLE event_outbox ALTER COLUMN payload SET NOT NULL;
