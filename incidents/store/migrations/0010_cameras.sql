-- Camera defence (技防, 点线面): the camera registry and every status change it went through.

CREATE TABLE cameras (
    -- GB/T 28181 device (channel) id; other platforms' ids are kept as they are.
    code          text PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 64),
    name          text NOT NULL,
    placement     text NOT NULL CHECK (placement IN ('point', 'line', 'area')),
    lon           double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat           double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    heading_deg   real NOT NULL CHECK (heading_deg >= 0 AND heading_deg < 360),
    fov_deg       real NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m       real NOT NULL CHECK (range_m > 0),
    township_code text NOT NULL REFERENCES jurisdictions (code),
    synthetic     boolean NOT NULL DEFAULT false
);
CREATE INDEX cameras_township_idx ON cameras (township_code);

-- One row per camera.status_changed event. No foreign key to cameras: a status from a camera
-- the registry does not know yet is still history, never dropped.
CREATE TABLE camera_status_history (
    -- The events-stream entry id: an event delivered twice is one row.
    event_id    text PRIMARY KEY,
    camera_id   text NOT NULL,
    at          timestamptz NOT NULL,
    status      text NOT NULL CHECK (status IN ('online', 'offline', 'fault', 'alarm')),
    previous    text CHECK (previous IN ('online', 'offline', 'fault', 'alarm')),
    cause       text NOT NULL,
    actor       text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX camera_status_history_camera_idx ON camera_status_history (camera_id, at DESC);
CREATE INDEX camera_status_history_at_idx ON camera_status_history (at);

CREATE FUNCTION camera_status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'camera_status_history is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER camera_status_history_no_update BEFORE UPDATE OR DELETE ON camera_status_history
    FOR EACH ROW EXECUTE FUNCTION camera_status_history_append_only();
CREATE TRIGGER camera_status_history_no_truncate BEFORE TRUNCATE ON camera_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION camera_status_history_append_only();
