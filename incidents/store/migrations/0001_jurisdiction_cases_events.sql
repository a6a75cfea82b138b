-- The jurisdiction tree, cases, their reports, the append-only event log and its outbox.

CREATE TABLE jurisdictions (
    code        text PRIMARY KEY,
    tier        text NOT NULL CHECK (tier IN ('county', 'township', 'village', 'grid')),
    name        text NOT NULL,
    parent_code text REFERENCES jurisdictions (code),
    synthetic   boolean NOT NULL DEFAULT false
);
CREATE INDEX jurisdictions_parent_idx ON jurisdictions (parent_code);

-- Case numbers a person can read out: <county>-<yyyymmdd>-<seq>, seq per county per local day.
CREATE TABLE case_counters (
    county_code text NOT NULL,
    day         date NOT NULL,
    last_seq    integer NOT NULL,
    PRIMARY KEY (county_code, day)
);

CREATE SEQUENCE case_id_seq;

CREATE TABLE cases (
    id             bigint PRIMARY KEY,
    case_no        text NOT NULL UNIQUE,
    channel        text NOT NULL,
    category       text NOT NULL,
    severity       smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    summary        text NOT NULL,
    address        text,
    lon            double precision NOT NULL,
    lat            double precision NOT NULL,
    inside_county  boolean NOT NULL,
    county_code    text NOT NULL,
    township_code  text NOT NULL,
    village_code   text,
    grid_code      text,
    reporter_name  text,
    reporter_phone text,
    step           text NOT NULL,
    status         text NOT NULL,
    owning_tier    text NOT NULL,
    owner          text,
    reported_at    timestamptz NOT NULL,
    opened_at      timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        integer NOT NULL DEFAULT 1
);
CREATE INDEX cases_open_township_idx ON cases (township_code, opened_at DESC) WHERE status = 'open';
CREATE INDEX cases_opened_idx ON cases (opened_at DESC);

-- Every accepted report; source_id is the idempotency key of the intake contract.
CREATE TABLE case_reports (
    source_id      text PRIMARY KEY,
    case_id        bigint NOT NULL DEFAULT nextval('case_id_seq')
                   REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED,
    channel        text NOT NULL,
    summary        text NOT NULL,
    address        text,
    lon            double precision NOT NULL,
    lat            double precision NOT NULL,
    reporter_name  text,
    reporter_phone text,
    reported_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL
);
CREATE INDEX case_reports_case_idx ON case_reports (case_id);

-- Ids come from a sequence so a writer can put an event's id inside the event it publishes.
CREATE SEQUENCE case_event_id_seq;

CREATE TABLE case_events (
    id          bigint PRIMARY KEY DEFAULT nextval('case_event_id_seq'),
    case_id     bigint REFERENCES cases (id),
    type        text NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    reason      text,
    step_before text,
    step_after  text,
    data        jsonb NOT NULL
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

-- Accountability (责任追究制): the event log is append-only, whoever connects.
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Events committed but not yet on the events stream; drained after publish.
CREATE TABLE event_outbox (
    event_id   bigint PRIMARY KEY REFERENCES case_events (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
