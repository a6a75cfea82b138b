-- Queues and snapshots select open cases by a prefix of where they lie (grid, else village,
-- else township, else owner: incidents.store.queries.PLACE), for readers at every tier.
CREATE INDEX cases_open_place_idx ON cases
    ((coalesce(grid_code, village_code, nullif(township_code, ''), owning_org)) text_pattern_ops,
     opened_at DESC)
    WHERE status = 'open';
