"""The abuse limits hold across the server's workers: tips sent at once from one address to a
gunicorn with two workers are accepted up to the limit, and not one more (the counts live in
PostgreSQL, not in a worker). The advisory lock in portal.tips.limits closes the narrower race of
two workers checking the same key in the same milliseconds, which this test cannot force."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.browser  # against the live server

DESCRIPTION = "Tin thử giới hạn gửi đồng thời (kiểm thử)"


def forget(live_db) -> None:
    with live_db.begin() as connection:
        connection.execute(text("DELETE FROM incidents WHERE description = :d"), {"d": DESCRIPTION})
        connection.execute(text("DELETE FROM tip_limits"))


def test_tips_sent_at_once_to_two_workers_stop_at_the_limit(live_server, live_db):
    with live_db.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas"
                " WHERE level = 'village' AND valid_to IS NULL ORDER BY id LIMIT 1) s"
            )
        ).one()
    body = json.dumps(
        {
            "kind": "gambling",
            "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "description": DESCRIPTION,
            "lat": lat,
            "lon": lon,
        }
    ).encode()

    def send(_n: int) -> int:
        request = urllib.request.Request(
            live_server + "/api/tips", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as refused:
            return refused.code

    forget(live_db)
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(send, range(12)))
        limit = 5  # TIP_MAX_PER_HOUR
        assert sorted(answers) == [201] * limit + [429] * (12 - limit), answers
        with live_db.connect() as connection:
            stored = connection.execute(
                text("SELECT count(*) FROM incidents WHERE description = :d"), {"d": DESCRIPTION}
            ).scalar()
        assert stored == limit
    finally:
        forget(live_db)
