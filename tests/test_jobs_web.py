"""Jobs on the web (run inline in tests): one's own jobs only, the polled fragment, the file a
job made, and the demo's generation run as a job from the CLI."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.jobs import services
from portal.models import Area, Job
from tests.conftest import csrf_token, signed_in, through_job

HX = {"HX-Request": "true"}


def start_city_export(client):
    token = csrf_token(client, "/boundaries/")
    return client.post("/boundaries/export.geojson", data={"commune_id": "", "csrf_token": token})


def test_a_job_page_shows_its_progress_and_the_polled_fragment_leads_to_the_result(
    app, admin, demo
):
    started = start_city_export(admin)
    job_url = started.headers["Location"]
    page = admin.get(job_url).get_data(as_text=True)
    assert 'data-status="done"' in page and '<progress max="100" value="100"' in page
    assert "Xuất ranh giới" in page and "Toàn thành phố (GeoJSON)" in page
    job_id = int(job_url.rsplit("/", 1)[1])
    fragment = admin.get(job_url, headers={**HX, "HX-Target": f"job-{job_id}"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card job-status"')  # the fragment only
    assert "hx-trigger" not in body  # done: it stops asking
    download = admin.get(through_job(admin, started).headers["Location"])
    assert download.mimetype == "application/geo+json"
    assert b'"FeatureCollection"' in download.data


def test_a_running_job_asks_again_and_says_its_stage_and_counts(app, admin, demo):
    job = Job(
        kind="boundaries.upload",
        status="running",
        created_by=admin_id(demo),
        actor="quantri",
        title="lang.geojson",
        params={},
        attempts=1,
        stage="check",
        done=1500,
        total=5000,
        counts={"read": 5000, "check": 1500},
    )
    demo.add(job)
    demo.commit()
    page = admin.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and 'value="30"' in page
    assert "Kiểm tra" in page and "1.500 / 5.000" in page and "Đọc tệp: 5.000" in page


def admin_id(session) -> int:
    from portal.models import Account

    return session.scalar(select(Account.id).where(Account.username == "quantri"))


def test_one_sees_only_ones_own_jobs_and_their_files(app, admin, demo):
    started = start_city_export(admin)
    job_url = started.headers["Location"]
    file_url = through_job(admin, started).headers["Location"]
    officer = signed_in(app, "canbo.xa")
    assert officer.get(job_url).status_code == 404
    assert officer.get(file_url).status_code == 404
    assert "Bạn chưa có việc nào." in officer.get("/jobs/").get_data(as_text=True)
    listing = admin.get("/jobs/").get_data(as_text=True)
    assert re.search(r'href="/jobs/\d+"', listing) and "Xuất ranh giới" in listing
    leader = signed_in(app, "totruong")
    assert leader.get(job_url).status_code == 404


def test_a_failed_job_shows_its_message(app, admin, demo):
    with app.test_request_context():
        from flask import g

        from portal.models import Account

        g.account = demo.scalar(select(Account).where(Account.username == "quantri"))
        job = services.submit(
            "boundaries.commit",
            {
                "batch_id": 424242,
                "mode": "all",
                "repairs": False,
                "number": "1",
                "when": "2026-01-01",
            },
            "x.geojson",
        )
    page = admin.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-status="failed"' in page
    assert "Không tìm thấy lần tải lên số 424242." in page


def test_the_demo_is_generated_by_a_job_from_the_cli(app, session):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--communes", "1"])
    assert result.exit_code == 0, result.output
    job = session.scalar(select(Job).where(Job.kind == "demo.seed").order_by(Job.id.desc()))
    assert job.status == "done" and job.actor.startswith("cli:")
    assert job.counts  # the progress it reported on the way
    villages = session.scalar(select(func.count()).select_from(Area).where(Area.level == "village"))
    assert job.result["villages"] == villages > 0
    assert "Tài khoản mẫu" in result.output


def test_one_account_cannot_fill_the_queue(app, admin, demo):
    for _ in range(4):
        demo.add(
            Job(
                kind="boundaries.export",
                status="queued",
                created_by=admin_id(demo),
                actor="quantri",
                title="x",
                params={"fmt": "gpkg"},
                attempts=0,
                done=0,
                total=0,
                counts={},
            )
        )
    demo.commit()
    refused = start_city_export(admin)
    assert refused.status_code == 429
    assert "Bạn đang có 4 việc chờ hoặc đang chạy" in refused.get_data(as_text=True)
    assert demo.scalar(select(func.count()).select_from(Job)) == 4  # nothing added
