-- Reserved for the forces domain (units, statuses, rosters, patrols); filled by its own change.
SELECT 1;
