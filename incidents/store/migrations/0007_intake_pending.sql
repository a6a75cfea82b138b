-- Reports received but not yet formed into cases. An ingest worker acknowledges an intake
-- entry once its report is here (durable on disk, not only in Redis); the case former then
-- takes rows in `seq` order, opens or links cases, and deletes the rows in the same
-- transaction. No unique key on source_id: a redelivered entry may land twice, and the
-- former skips any source_id already in case_reports, so a report still forms once.
CREATE TABLE intake_pending (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id      text NOT NULL,
    channel        text NOT NULL,
    category       text NOT NULL,
    severity       smallint NOT NULL,
    summary        text NOT NULL,
    address        text,
    lon            double precision NOT NULL,
    lat            double precision NOT NULL,
    reporter_name  text,
    reporter_phone text,
    reported_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    county_code    text NOT NULL,
    township_code  text,
    village_code   text,
    grid_code      text,
    inside_county  boolean NOT NULL,
    township_name  text,
    village_name   text
);
-- Rows live for milliseconds: vacuum the table often, so a flood leaves no bloat behind.
ALTER TABLE intake_pending SET (autovacuum_vacuum_scale_factor = 0.0,
                                autovacuum_vacuum_threshold = 10000);
