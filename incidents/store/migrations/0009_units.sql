-- Forces: units, their current status with milestone stamps, the append-only status history,
-- duty rosters, patrol routes with check-in points, check-ins and patrol alarms.
-- History, check-in and alarm rows are keyed by their event's id, taken from the case
-- events' sequence, so the one outbox and publisher carry them and ids never collide.

CREATE TABLE units (
    unit_id       text PRIMARY KEY,
    call_sign     text NOT NULL UNIQUE,
    type          text NOT NULL,
    home_code     text NOT NULL REFERENCES jurisdictions (code),
    township_code text REFERENCES jurisdictions (code),
    capabilities  text[] NOT NULL,
    crew_size     integer NOT NULL CHECK (crew_size > 0),
    name          text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX units_township_idx ON units (township_code);

CREATE TABLE unit_states (
    unit_id       text PRIMARY KEY REFERENCES units (unit_id),
    status        text NOT NULL CHECK (status IN ('available', 'dispatched', 'en_route',
                      'on_scene', 'returning', 'busy', 'off_duty')),
    since         timestamptz NOT NULL,
    version       integer NOT NULL,
    case_id       bigint,
    dispatched_at timestamptz,
    en_route_at   timestamptz,
    on_scene_at   timestamptz,
    returning_at  timestamptz,
    available_at  timestamptz,
    busy_at       timestamptz,
    off_duty_at   timestamptz
);

CREATE TABLE unit_status_history (
    event_id            bigint PRIMARY KEY,
    unit_id             text NOT NULL REFERENCES units (unit_id),
    version             integer NOT NULL,
    before              text NOT NULL,
    after               text NOT NULL,
    at                  timestamptz NOT NULL,
    actor               text NOT NULL,
    cause               text NOT NULL,
    case_id             bigint,
    reason              text,
    overridden          boolean NOT NULL,
    recommendation_rank integer,
    UNIQUE (unit_id, version),
    -- Accountability: a dispatch of a unit that was not available says why.
    CHECK (NOT overridden OR reason IS NOT NULL)
);
CREATE INDEX unit_status_history_case_idx ON unit_status_history (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE unit_rosters (
    unit_id    text NOT NULL REFERENCES units (unit_id),
    shift_name text NOT NULL,
    starts     time NOT NULL,
    ends       time NOT NULL,
    PRIMARY KEY (unit_id, shift_name)
);

CREATE TABLE patrol_routes (
    route_id      text PRIMARY KEY,
    township_code text NOT NULL REFERENCES jurisdictions (code),
    name          text NOT NULL,
    area          jsonb NOT NULL  -- the outer ring, [[lon, lat], ...]
);

CREATE TABLE patrol_points (
    route_id text NOT NULL REFERENCES patrol_routes (route_id),
    ord      integer,  -- NULL: no longer on the route (kept for its check-ins)
    point_id text NOT NULL,
    name     text NOT NULL,
    lon      double precision NOT NULL,
    lat      double precision NOT NULL,
    PRIMARY KEY (route_id, point_id),
    UNIQUE (route_id, ord)
);

CREATE TABLE patrol_check_ins (
    event_id   bigint PRIMARY KEY,
    route_id   text NOT NULL,
    point_id   text NOT NULL,
    unit_id    text NOT NULL REFERENCES units (unit_id),
    at         timestamptz NOT NULL,
    distance_m real NOT NULL,
    FOREIGN KEY (route_id, point_id) REFERENCES patrol_points (route_id, point_id),
    -- The same check-in seen twice (positions re-read after a crash) is one row.
    UNIQUE (route_id, point_id, unit_id, at)
);
CREATE INDEX patrol_check_ins_at_idx ON patrol_check_ins (route_id, at);

CREATE TABLE patrol_alarms (
    event_id bigint PRIMARY KEY,
    route_id text NOT NULL REFERENCES patrol_routes (route_id),
    unit_id  text NOT NULL REFERENCES units (unit_id),
    kind     text NOT NULL CHECK (kind IN ('standing_still', 'left_area')),
    at       timestamptz NOT NULL,
    since    timestamptz NOT NULL,
    lon      double precision NOT NULL,
    lat      double precision NOT NULL,
    UNIQUE (route_id, unit_id, kind, since)
);

-- Accountability (责任追究制): what happened to a unit is never rewritten.
CREATE FUNCTION forces_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER unit_status_history_append_only BEFORE UPDATE OR DELETE ON unit_status_history
    FOR EACH ROW EXECUTE FUNCTION forces_append_only();
CREATE TRIGGER patrol_check_ins_append_only BEFORE UPDATE OR DELETE ON patrol_check_ins
    FOR EACH ROW EXECUTE FUNCTION forces_append_only();
CREATE TRIGGER patrol_alarms_append_only BEFORE UPDATE OR DELETE ON patrol_alarms
    FOR EACH ROW EXECUTE FUNCTION forces_append_only();
