-- Reserved for camera defence (registry, keepalive, status history); filled by its own change.
SELECT 1;
