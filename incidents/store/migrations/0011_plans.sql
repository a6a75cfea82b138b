-- Emergency plans (应急预案): proposals, activations with their checklist steps and level
-- changes, the plan events' own append-only log, and the CAP 1.2 messages sent.

-- A plan is proposed to a case once: a second match of the same case says nothing new.
CREATE TABLE plan_proposals (
    case_id     bigint NOT NULL REFERENCES cases (id),
    plan_id     text NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    proposed_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, plan_id)
);

CREATE SEQUENCE plan_activation_id_seq;

CREATE TABLE plan_activations (
    id           bigint PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    plan_id      text NOT NULL,
    level        smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    status       text NOT NULL CHECK (status IN ('active', 'closed')),
    activated_by text NOT NULL,
    activated_at timestamptz NOT NULL,
    closed_by    text,
    closed_at    timestamptz,
    summary      text,
    version      integer NOT NULL,
    cap_area     jsonb NOT NULL,
    snapshot     jsonb NOT NULL,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- One running activation of a plan per case; a closed one may be followed by a new one.
CREATE UNIQUE INDEX plan_activations_one_active_idx ON plan_activations (case_id, plan_id)
    WHERE status = 'active';
CREATE INDEX plan_activations_case_idx ON plan_activations (case_id);

CREATE TABLE plan_steps (
    activation_id    bigint NOT NULL REFERENCES plan_activations (id),
    step_no          integer NOT NULL CHECK (step_no >= 1),
    title            text NOT NULL,
    role             text NOT NULL,
    due_at           timestamptz NOT NULL,
    done_at          timestamptz,
    done_by          text,
    late             boolean NOT NULL DEFAULT false,
    overdue_recorded boolean NOT NULL DEFAULT false,
    PRIMARY KEY (activation_id, step_no),
    CHECK ((done_at IS NULL) = (done_by IS NULL))
);
-- The deadline job reads only steps not done and not yet announced as overdue.
CREATE INDEX plan_steps_watch_idx ON plan_steps (due_at)
    WHERE done_at IS NULL AND NOT overdue_recorded;

CREATE TABLE plan_level_changes (
    activation_id bigint NOT NULL REFERENCES plan_activations (id),
    change_no     integer NOT NULL,
    from_level    smallint NOT NULL CHECK (from_level BETWEEN 1 AND 4),
    to_level      smallint NOT NULL CHECK (to_level BETWEEN 1 AND 4),
    changed_by    text NOT NULL,
    changed_at    timestamptz NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (activation_id, change_no)
);

-- Plan events take their ids from the case events' sequence, so one id space orders every
-- event on the stream and the outbox and its published bits serve both logs.
CREATE TABLE plan_events (
    id            bigint PRIMARY KEY,
    case_id       bigint NOT NULL,
    activation_id bigint,
    type          text NOT NULL,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    data          jsonb NOT NULL
);
CREATE INDEX plan_events_case_idx ON plan_events (case_id, id);

-- Accountability (责任追究制): like case_events, never changed, never deleted.
CREATE FUNCTION plan_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'plan_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER plan_events_no_update BEFORE UPDATE OR DELETE ON plan_events
    FOR EACH ROW EXECUTE FUNCTION plan_events_append_only();
CREATE TRIGGER plan_events_no_truncate BEFORE TRUNCATE ON plan_events
    FOR EACH STATEMENT EXECUTE FUNCTION plan_events_append_only();

-- Every public warning sent, as sent (the XML is what a receiver got).
CREATE TABLE plan_cap_messages (
    identifier    text PRIMARY KEY,
    activation_id bigint NOT NULL REFERENCES plan_activations (id),
    serial        integer NOT NULL,
    msg_type      text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    sent          timestamptz NOT NULL,
    xml           text NOT NULL,
    UNIQUE (activation_id, serial)
);
