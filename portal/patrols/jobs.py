"""Patrol work done as jobs (portal.jobs): reading a large GPS track. It runs with the scope of
the user who uploaded it."""

from __future__ import annotations

from flask import current_app

from geo.sandbox import ProcessLimits
from geo.tracks import read_gpx
from portal.jobs.runner import JobContext, JobFailed, handler
from portal.patrols import tracks


@handler("patrols.track")
def read_track(ctx: JobContext, patrol_id: int) -> dict:
    """Read the uploaded GPX in the limited reader and store it as the patrol's track."""
    patrol = tracks.get_patrol(patrol_id)  # the same scoped look-up as the request
    upload = ctx.input()
    seconds = current_app.config["UPLOAD_READ_SECONDS"]
    ctx.step("read")
    read = read_gpx(
        upload.data,
        upload.filename,
        process=ProcessLimits(cpu_seconds=seconds, wall_seconds=seconds * 1.5),
        progress=lambda done, total: ctx.progress("read", done, total),
    )
    if read.problem:
        raise JobFailed(tracks.describe(read.problem))  # nothing is written
    ctx.step("save")
    tracks.save_track(patrol, read, upload.filename, ctx.actor)
    ctx.step("save", finished=True)
    return {"endpoint": "patrols.show", "args": {"patrol_id": patrol.id}, "follow": True}
