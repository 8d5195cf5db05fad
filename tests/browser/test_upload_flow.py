"""An upload as a planner lives it, through the real queue and worker: the file is sent, the job's
page shows its progress bar, the dry run opens by itself, the commit is a job too, and both are
listed among the planner's jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from playwright.sync_api import expect
from sqlalchemy import text

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def sign_in_as(page, base, username, password):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/areas/**")


def squares(centre, n: int) -> bytes:
    features = []
    for i in range(n):
        x = centre[0] + (i % 40) * 0.00004
        y = centre[1] + (i // 40) * 0.00004
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"E2E-{i:04}", "name": f"Tổ dân phố Thử {i}"},
                "geometry": shapely.geometry.mapping(shapely.box(x, y, x + 0.00003, y + 0.00003)),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_an_upload_runs_as_a_job_with_a_progress_bar_then_commits(page, live_server, live_db):
    with live_db.connect() as c:
        x, y = c.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas"
                " WHERE code = '00004') s"
            )
        ).one()
    sign_in_as(page, live_server, "canbo.xa", "ba-dinh-binh-yen-2025")
    page.goto(f"{live_server}/boundaries/")
    page.set_input_files(
        "#file",
        {
            "name": "to-moi.geojson",
            "mimeType": "application/geo+json",
            "buffer": squares((x, y), 400),
        },
    )
    page.get_by_role("button", name="Kiểm tra tệp").click()
    # the job's page: its progress bar, while the worker reads and checks the file
    page.wait_for_url("**/jobs/*")
    status = page.locator("[data-testid=job-status]")
    expect(status.locator("progress")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Đọc và kiểm tra tệp ranh giới")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "job-progress.png"), full_page=True)
    # done: the dry run opens by itself
    page.wait_for_url("**/boundaries/uploads/*", timeout=60_000)
    expect(page.locator("[data-testid=batch-map]")).to_be_visible()
    page.fill("#decision_number", "12/QĐ-UBND")
    page.fill("#decision_date", "2026-11-01")
    page.get_by_role("button", name="Ghi vào cơ sở dữ liệu").click()
    page.wait_for_url("**/boundaries/uploads/*", timeout=60_000)  # after the commit's job
    expect(page.locator(".alert-success")).to_contain_text("Đã nhập: 400 mới")
    page.goto(f"{live_server}/jobs/")
    rows = page.locator("#jobs tbody tr")  # newest first
    expect(rows.first).to_contain_text("Nhập ranh giới")
    expect(rows.nth(1)).to_contain_text("Đọc và kiểm tra tệp ranh giới")
    page.screenshot(path=str(SHOTS / "jobs-list.png"), full_page=True)
    with live_db.begin() as c:  # put the live database back as it was
        c.execute(text("DELETE FROM areas WHERE code LIKE 'E2E-%'"))
