"""Command-line tools: `flask --app wsgi import-boundaries`, `seed-demo`, `seed-patrols`,
`seed-incidents`, `seed-turnover`, `import-streets`, `create-admin`, `set-password`,
`disable-account`, `worker`, `purge-personal-data`."""

from __future__ import annotations

import functools
import getpass
import sys
from pathlib import Path

import click
from flask import Flask

from portal.models import Level


def _progress_printer(label: str):
    """A progress bar per phase on stderr, for long imports."""
    bars: dict[str, object] = {}

    def report(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            bar = click.progressbar(length=total, label=f"{label} {phase}", file=sys.stderr)
            bar.__enter__()
            bars[phase] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return report


def refresh_coverage_of(area_ids: list[int], progress) -> None:
    """Recompute, in this process, the coverage of the communes these areas belong to."""
    from portal.coverage import services as coverage
    from portal.extensions import db

    coverage.refresh(coverage.communes_of_areas(area_ids), progress=progress)
    db.session.commit()


def getpass_actor() -> str:
    return f"cli:{getpass.getuser()}"


def as_cli(command):
    """Changes made by the command are logged as the operating-system user who ran it."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from portal.audit import cli_actor

        token = cli_actor.set(getpass_actor())
        try:
            return command(*args, **kwargs)
        finally:
            cli_actor.reset(token)

    return run


def demo_only(command):
    """The demo's data never goes into production: its accounts' passwords are published."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from flask import current_app

        if current_app.config["PORTAL_ENV"] == "production":
            raise click.ClickException(
                "Refusing to load demo data with PORTAL_ENV=production (its accounts' passwords "
                "are published). For a demonstration install, set PORTAL_ENV=demo."
            )
        return command(*args, **kwargs)

    return run


def register(app: Flask) -> None:
    @app.cli.command("import-boundaries")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--level", type=click.Choice(["province", "district", "commune", "village"]), required=True
    )
    @click.option(
        "--parent", "parent_code", help="Code of the parent unit (else found by location)."
    )
    @click.option("--skip-invalid", is_flag=True, help="Import the valid features, skip the rest.")
    @click.option(
        "--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="Date the boundaries apply from."
    )
    @click.option(
        "--valid-to", type=click.DateTime(["%Y-%m-%d"]), help="Last day (for a past layout)."
    )
    @click.option("--decision", "decision_number", help="Number of the decision behind the change.")
    @click.option(
        "--crs",
        "crs_key",
        default="auto",
        help="The file's CRS when it does not say: EPSG:4326, EPSG:3405, EPSG:3406, TM3:105.0 …",
    )
    @click.option("--layer", help="The layer to read, in a file that has several.")
    @click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
    @as_cli
    def import_boundaries(
        file,
        level,
        parent_code,
        skip_invalid,
        valid_from,
        valid_to,
        decision_number,
        crs_key,
        layer,
        dry_run,
    ):
        """Import boundaries (GeoJSON, zipped Shapefile, GeoPackage, KML); nothing is written
        if any feature is unusable. Warnings (outside the parent, overlaps, gaps) are listed.
        The import is recorded as a boundary change, which planners can review and revert."""
        from portal.audit import cli_actor
        from portal.boundaries.planning import (
            apply_plan,
            describe,
            describe_note,
            describe_warning,
            plan_file,
        )

        progress = _progress_printer(file.name)
        plan = plan_file(
            file.read_bytes(),
            file.name,
            Level(level),
            parent_code=parent_code,
            crs_key=crs_key,
            layer=layer,
            progress=progress,
        )
        for note in plan.notes:
            click.echo(describe_note(note), err=True)
        for warning in plan.warnings:
            click.echo(f"  cảnh báo: {describe_warning(warning)}", err=True)
        if plan.file_problems or (plan.problems and not skip_invalid):
            click.echo(f"Không nhập gì: {len(plan.problems)} lỗi trong tệp.", err=True)
            for problem in plan.problems:
                click.echo(f"  {describe(problem)}", err=True)
            if not plan.file_problems:
                click.echo("Dùng --skip-invalid để chỉ nhập các đối tượng hợp lệ.", err=True)
            raise SystemExit(1)
        if dry_run:
            chosen = plan.writable(repairs=False, clean_only=False)
            actions = [i.action for i in chosen]
            click.echo(
                f"Chạy thử {file.name}: {actions.count('create')} mới, "
                f"{actions.count('update')} cập nhật, {actions.count('unchanged')} không đổi, "
                f"{len(plan.problems)} lỗi. Không ghi gì."
            )
            return
        report = apply_plan(
            plan,
            valid_from=valid_from.date() if valid_from else None,
            valid_to=valid_to.date() if valid_to else None,
            decision_number=decision_number,
            actor=cli_actor.get(),
            note=file.name,
            progress=progress,
        )
        # the coverage pages' stored figures of the communes it touched
        refresh_coverage_of(report.area_ids, progress)
        click.echo(
            f"Đã nhập {file.name}: {report.created} mới, {report.updated} cập nhật, "
            f"{report.unchanged} không đổi, {len(report.skipped)} bỏ qua. "
            f"Thay đổi số {report.change_id} (xem và hoàn tác ở trang Ranh giới)."
        )
        for problem in report.skipped:
            click.echo(f"  bỏ qua: {describe(problem)}", err=True)

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--full-name", default="Quản trị thành phố")
    # asked twice, not echoed (a password given as --password stays in the shell's history)
    @click.password_option(help="Asked twice, not shown, when not given.")
    @as_cli
    def create_admin(username, full_name, password):
        """Create a city admin account (the first one, on a new installation)."""
        from portal.accounts.queries import username_taken
        from portal.accounts.services import USERNAME
        from portal.auth.services import create_account
        from portal.errors import Invalid
        from portal.extensions import db
        from portal.models import AccountRole

        username = username.strip().lower()
        if not USERNAME.match(username):
            raise click.ClickException(
                "A username is 3-40 letters without accents, digits, '.', '-' or '_'."
            )
        if db.session.scalar(username_taken(username)):
            raise click.ClickException(f"The username {username} is taken.")
        try:
            create_account(username, password, full_name, AccountRole.ADMIN)
        except Invalid as exc:
            raise click.ClickException(exc.message) from None
        db.session.commit()
        click.echo(f"Đã tạo tài khoản quản trị {username}.")

    def account_named(username: str):
        from sqlalchemy import func, select

        from portal.extensions import db
        from portal.models import Account

        account = db.session.scalar(
            select(Account).where(func.lower(Account.username) == username.strip().lower())
        )
        if account is None:
            raise click.ClickException(f"No account is named {username}.")
        return account

    @app.cli.command("set-password")
    @click.argument("username")
    @click.password_option(help="Asked twice, not shown, when not given.")
    @as_cli
    def set_password_command(username, password):
        """Give an account a new password (the policy applies); its sessions and API tokens end.
        For a demo account left on an installation, or an admin who lost theirs."""
        from portal.accounts.services import set_password
        from portal.auth.services import check_password
        from portal.errors import Invalid
        from portal.extensions import db

        account = account_named(username)
        try:
            check_password(password, account.username)
        except Invalid as exc:
            raise click.ClickException(exc.message) from None
        set_password(account, password)
        db.session.commit()
        click.echo(f"New password set for {account.username}; its sessions have ended.")

    @app.cli.command("disable-account")
    @click.argument("username")
    @as_cli
    def disable_account(username):
        """Disable an account: it can no longer sign in, its sessions and API tokens stop
        working (an admin can enable it again on the accounts page)."""
        from portal.extensions import db

        account = account_named(username)
        account.is_active = False
        db.session.commit()
        click.echo(f"Disabled {account.username}.")

    def run_job(kind: str, params: dict, title: str, stage: str, *, echo_lines=False):
        """Run a job in this process with a progress bar (one transaction); its result's lines
        echoed when asked; a failed job ends the command with its message."""
        from portal.jobs import runner, services

        job = services.submit(kind, params, title, actor=getpass_actor(), run=False)
        runner.execute(job.id, echo=_progress_printer(stage))
        job = services.reload(job.id)
        if echo_lines:
            for line in (job.result or {}).get("lines", []):
                click.echo(line)
        if job.status != "done":
            raise click.ClickException(job.message or f"{title} failed")
        return job

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when areas are already loaded.")
    @click.option("--reset", is_flag=True, help="Delete all areas, teams and accounts first.")
    @click.option(
        "--synthetic", is_flag=True, help="A synthetic city even if the Hanoi files exist."
    )
    @click.option(
        "--communes", type=int, default=None, help="Only the first N communes (quick demo)."
    )
    @as_cli
    @demo_only
    def seed_demo(if_empty, reset, synthetic, communes):
        """Load the demo: Hanoi's communes divided into villages, teams, members, accounts.

        It runs as a job (portal.jobs) in this process: one transaction, with progress."""
        params = {
            "data_dir": None if synthetic else str(app.config["SHARED_DATA_DIR"]),
            "if_empty": if_empty,
            "reset": reset,
            "limit_communes": communes,
        }
        run_job("demo.seed", params, "seed-demo", "seed", echo_lines=True)

    @app.cli.command("seed-patrols")
    @click.option("--if-empty", is_flag=True, help="Do nothing when patrols are already recorded.")
    @click.option("--reset", is_flag=True, help="Delete all routes and patrols first.")
    @click.option("--scale", type=float, default=1.0, help="Share of Hanoi's year (1 = 532,000).")
    @as_cli
    @demo_only
    def seed_patrols(if_empty, reset, scale):
        """Add the demo's year of patrols: routes, patrols, findings and next week's plans.

        It runs as a job (portal.jobs) in this process: one transaction, with progress."""
        params = {"if_empty": if_empty, "reset": reset, "scale": scale}
        run_job("demo.patrols", params, "seed-patrols", "seed", echo_lines=True)

    @app.cli.command("seed-incidents")
    @click.option(
        "--if-empty", is_flag=True, help="Do nothing when incidents are already recorded."
    )
    @click.option("--reset", is_flag=True, help="Delete all incidents and tips first.")
    @click.option("--scale", type=float, default=1.0, help="Share of Hanoi's year (1 = 25,300).")
    @as_cli
    @demo_only
    def seed_incidents(if_empty, reset, scale):
        """Add the demo's year of incidents and tips, placed in the villages and triaged.

        It runs as a job (portal.jobs) in this process: one transaction, with progress."""
        params = {"if_empty": if_empty, "reset": reset, "scale": scale}
        run_job("demo.incidents", params, "seed-incidents", "seed", echo_lines=True)

    # --- issue 15: demo turnover ---
    @app.cli.command("seed-turnover")
    @click.option(
        "--if-empty",
        is_flag=True,
        help="Do nothing when members already joined or left in the year.",
    )
    @as_cli
    @demo_only
    def seed_turnover(if_empty):
        """Add the demo year's turnover: about 6% of members leave, most replaced within weeks,
        their patrols given over. Run after seed-patrols (it takes the patrols' year).

        It runs as a job (portal.jobs) in this process: one transaction, with progress."""
        run_job("demo.turnover", {"if_empty": if_empty}, "seed-turnover", "seed", echo_lines=True)

    @app.cli.command("refresh-coverage")
    @click.option(
        "--commune", "codes", multiple=True, help="Only this commune's code (repeatable)."
    )
    @as_cli
    def refresh_coverage(codes):
        """Compute the coverage pages' figures: every current commune, or those named.

        It runs as a job (portal.jobs) in this process: one transaction, with progress."""
        from sqlalchemy import select

        from portal.coverage import services as coverage
        from portal.extensions import db
        from portal.models import Area

        ids = None
        if codes:
            found = dict(
                db.session.execute(
                    select(Area.code, Area.id).where(
                        Area.code.in_(codes), Area.level == "commune", Area.valid_to.is_(None)
                    )
                ).all()
            )
            unknown = sorted(set(codes) - set(found))
            if unknown:
                raise click.ClickException(f"Không có xã, phường mã {', '.join(unknown)}.")
            ids = sorted(found.values())
        job = run_job(coverage.JOB_KIND, {"commune_ids": ids}, "refresh-coverage", "coverage")
        click.echo(f"Đã tính độ phủ của {job.result['communes']} xã, phường.")

    @app.cli.command("rebuild-review")
    @as_cli
    def rebuild_review():
        """Write the review's monthly figures again from the patrols and items themselves.

        The triggers keep them right as rows change; this is for a restore or a suspicion."""
        from portal.review import services as review

        counts = review.rebuild()
        click.echo(
            "Đã tính lại số liệu sơ kết: {patrols} dòng tuần tra, {incidents} dòng tin báo,"
            " {communes} dòng xã, phường.".format(**counts)
        )

    # --- issue 14: streets ---
    @app.cli.command("import-streets")
    @click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--if-empty", is_flag=True, help="Do nothing when streets are already loaded.")
    def import_streets(paths, if_empty):
        """Load OpenStreetMap road lines (GeoJSON) for the maps' street layer, each file's rows
        replaced at once; by default the two Hanoi files beside the project, when present."""
        from geo.features import FileProblem
        from portal.extensions import db
        from portal.streets import services as streets

        if if_empty and not streets.is_empty():
            click.echo("Đã có dữ liệu đường phố: bỏ qua.")
            return
        for path in paths or streets.default_paths():
            if not path.is_file():
                click.echo(f"Không có tệp {path}: bỏ qua.")
                continue
            try:
                done = streets.import_file(path)
            except FileProblem as exc:
                raise click.ClickException(f"{path.name}: {exc}") from None
            click.echo(
                f"Đã nhập {path.name}: {done.lines} đoạn đường ({done.named} có tên), "
                f"{done.skipped} bỏ qua. © OpenStreetMap contributors (ODbL)."
            )
        db.session.commit()

    @app.cli.command("purge-personal-data")
    @click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
    def purge_personal_data(dry_run):
        """Delete reporters' contacts past the retention period and expired address hashes
        (the worker does it every night at 02:17); prints the counts."""
        from portal.retention import services

        actor = f"{services.ACTOR} ({getpass_actor()})"  # who ran it by hand, in the audit log
        purged = services.purge(dry_run=dry_run, actor=actor)
        when = purged.contacts_before.strftime("%Y-%m-%d %H:%M %z")
        verb = "would delete" if dry_run else "deleted"
        click.echo(f"Retention {purged.months} months: contacts of tips received before {when}.")
        for kind, count in purged.counts.items():
            click.echo(f"  {kind:<18} {count:>8} {verb}")
        if dry_run:
            click.echo("Dry run: nothing was deleted.")
        elif purged.total:
            click.echo("Recorded in the audit log (entity_type personal_data).")
        else:
            click.echo("Nothing to delete; no audit entry written.")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run the queued jobs, then stop.")
    def worker(once):
        """Run queued jobs (uploads, commits, exports): `make run` starts one beside gunicorn."""
        from portal.demo.guard import DemoAccountsLeft, refuse_demo_passwords
        from portal.jobs.worker import log, run

        # the factory leaves the check to the command under `flask` (portal.create_app)
        try:
            refuse_demo_passwords(app)
        except DemoAccountsLeft as exc:
            raise click.ClickException(str(exc)) from None
        # a JSON line like the rest of its log (portal/logs.py), not a bare echo
        log.info("worker: waiting for jobs (Ctrl-C stops it)")
        run(app, wait=not once)
