-- A case's state no longer carries every linked report (they are in case_reports and in the
-- log): only how many reports it stands for and when the latest came in. Without this, each
-- further call about a busy incident rewrote all the earlier ones, so the thousandth call
-- cost a thousand times the first.

SET LOCAL TimeZone = 'UTC';

UPDATE cases AS c
SET snapshot = (
    (c.snapshot::jsonb - 'linked_reports')
    || jsonb_build_object(
        'report_count', 1 + jsonb_array_length(c.snapshot::jsonb -> 'linked_reports'),
        'latest_report_at', (
            SELECT to_jsonb(max((r ->> 'reported_at')::timestamptz))
            FROM jsonb_array_elements(c.snapshot::jsonb -> 'linked_reports') AS r
        )
    )
)::text
WHERE c.snapshot IS NOT NULL AND c.snapshot::jsonb ? 'linked_reports';
