-- Unit track history: fixes sampled from the positions stream (the latest lives in Redis).

CREATE TABLE unit_tracks (
    unit_id text NOT NULL,
    at      timestamptz NOT NULL,
    lon     double precision NOT NULL,
    lat     double precision NOT NULL,
    speed   real,
    heading real,
    -- A fix re-applied after a worker crash is the same row: the key makes it a no-op.
    PRIMARY KEY (unit_id, at)
);
CREATE INDEX unit_tracks_at_idx ON unit_tracks (at);

