"""Attack suite, injection: hostile text in every free-text field of an intake entry is stored
as given (or dead-lettered with its reason), and shown as text in Chromium, never executed."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
import redis

from tests.browser import browser, fence
from tests.e2e.sessions import sign_in
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

# Each is accepted by the contract and must come back byte for byte, shown as text.
HOSTILE = [
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=2">',
    "<svg onload=window.__xss=3>",
    "'; DROP TABLE cases; -- 老街",
    "1' OR '1'='1",
    "javascript:window.__xss=4",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "&lt;b&gt;entity&amp;text",
    "abc\u202edcba\u2066isolate\u2069 RLO",  # bidirectional overrides
    "bell\u0007 tab\t vertical\u000b escape\u001b[31m",  # control characters
    "👮\u200d♂️ e\u0301 \ufeffBOM \U0001f1e8\U0001f1f3",
    "长" * 500,  # the longest summary the contract allows
]


CATEGORIES = ("public_service", "dispute", "other", "safety_production")


def entry(summary: str, tag: str, n: int = 0) -> bytes:
    """One intake entry with hostile text in its summary, address and reporter name."""
    # Apart in place and category, so that no two merge into one case.
    document = {
        "schema": "intake/1",
        "source_id": f"inj-{tag}-{uuid.uuid4().hex[:8]}",
        "channel": "12345",
        "category": CATEGORIES[n % len(CATEGORIES)],
        "summary": summary,
        "location": {"lon": 118.85 + 0.01 * n, "lat": 31.32, "address": summary[:200]},
        "reported_at": "2026-11-26T21:14:05+08:00",
        "reporter": {"name": summary[:40], "phone": "13951234567"},
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


async def stored(database_url: str) -> dict[str, tuple[str, str | None, str | None]]:
    """source_id → (summary, address, reporter name) as PostgreSQL holds them."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT source_id, summary, address, reporter_name FROM cases"
            " WHERE source_id LIKE 'inj-%'"
        )
    finally:
        await conn.close()
    return {r["source_id"]: (r["summary"], r["address"], r["reporter_name"]) for r in rows}


def test_hostile_text_is_stored_as_given_and_shown_as_text(stack: RunningStack) -> None:
    """Twelve accepted payloads round-trip exactly and render inert; broken ones dead-letter."""
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    intake = stack.stream_prefix + "intake"
    sent = {}
    broken = {
        "nul": entry("nul\x00byte", "nul"),
        "too-long": entry("长" * 501, "long"),
        "bad-utf8": b'{"schema": "intake/1", "summary": "\xff\xfe broken"}',
        "lone-surrogate": entry("x", "sur").replace(b'"x"', b'"\\ud800"'),
        "huge": b"{" + b" " * 70_000 + b"}",
    }
    with browser() as chromium:
        page = chromium.new_page()
        outside = fence(page)
        sign_in(page, stack)
        page.goto(stack.base_url + "/")
        page.wait_for_selector("#link-status.live", timeout=15_000)
        for n, summary in enumerate(HOSTILE):
            data = entry(summary, str(n), n)
            sent[json.loads(data)["source_id"]] = summary
            client.xadd(intake, {"data": data})
        for data in broken.values():
            client.xadd(intake, {"data": data})
        page.wait_for_function(
            "(n) => document.querySelectorAll(`#case-queue .ag-center-cols-container .ag-row`)"
            ".length >= n",
            arg=len(HOSTILE),
            timeout=20_000,
        )
        shown = page.eval_on_selector_all(
            '#case-queue [col-id="summary"]', "cells => cells.map(c => c.textContent)"
        )
        for summary in HOSTILE:
            # innerText folds some whitespace: compare the DOM's text nodes, which keep it.
            assert any(summary in text for text in shown), summary[:40]
        assert page.evaluate("window.__xss === undefined"), "no payload ran"
        assert page.locator("#case-queue .ag-row :is(img, svg, script)").count() == 0
        assert "13951234567" not in page.content()
        assert outside == []

    kept = asyncio.run(stored(stack.env["DATABASE_URL"]))
    assert set(kept) == set(sent), "every accepted payload became a case"
    for source_id, summary in sent.items():
        assert kept[source_id] == (summary, summary[:200], summary[:40]), "stored as given"
    dead = client.xrange(stack.stream_prefix + "intake:dead")
    reasons = [fields[b"reason"].decode() for _, fields in dead]
    assert len(reasons) == len(broken), reasons
    assert all(reason.strip() for reason in reasons)
    originals = {fields[b"data"] for _, fields in dead}
    assert originals == set(broken.values()), "each rejected entry kept with its original bytes"
