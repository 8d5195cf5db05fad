"""The restore drill: scripts/backup.sh on a throwaway cluster, destroyed and brought back.

One installation (tests/clusters.py: its own cluster with production durability) set up for
backups by `backup.sh setup`, with a full backup of a few citizens' tips with photos. Then more
tips are committed one at a time, each commit's time read right after it; the cluster is killed
(SIGKILL) and its data directory deleted, and `backup.sh restore` brings it back from the
backup and the WAL archive: to a moment between two commits (exactly the tips committed before
it, photos byte for byte), or to the last archived commit (every tip). The portal then reads
them: its schema at the migrations' head, its models' query. Last, scripts/upgrade.sh on it:
no migration when the backup before it fails, the migrations and grants when it succeeds.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, text

from tests.clusters import ROOT, Installation

pytestmark = pytest.mark.long

BACKUP = ROOT / "scripts" / "backup.sh"
GAP = 1.0  # seconds between two commits: the target time falls clearly between them


@pytest.fixture(scope="module")
def installation():
    made = Installation.create()
    try:
        backup(made, "setup")
        yield made
    finally:
        made.destroy()


def backup(installation: Installation, *args: str) -> str:
    """scripts/backup.sh on the installation, as an operator runs it; what it said."""
    done = subprocess.run(
        [str(BACKUP), *args],
        cwd=ROOT,
        env=installation.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"backup.sh {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def photo(receipt: str) -> bytes:
    """Bytes of their own for each tip (the column holds whatever was stored)."""
    return b"".join(hashlib.sha256(f"{receipt}-{i}".encode()).digest() for i in range(64))


class Tips:
    """Tips written as the bootstrap superuser, one transaction each, in one commune."""

    def __init__(self, installation: Installation):
        self.engine = create_engine(installation.url("admin"), isolation_level="AUTOCOMMIT")
        with self.engine.begin() as db:
            self.commune = db.execute(
                text("SELECT id FROM areas WHERE code = 'drill'")
            ).scalar_one_or_none()
            if self.commune is None:
                insert = text(
                    "INSERT INTO areas (parent_id, code, name, name_search, level, kind,"
                    " valid_from, geom) VALUES (:parent, :code, :name, :name, :level, :kind,"
                    " '2025-07-01', ST_Multi(ST_MakeEnvelope(105.8, 21.0, 105.81, 21.01, 4326)))"
                    " RETURNING id"
                )
                province = db.execute(
                    insert,
                    {"parent": None, "code": "01", "name": "Hà Nội", "level": "province"}
                    | {"kind": "thanh_pho"},
                ).scalar_one()
                self.commune = db.execute(
                    insert,
                    {"parent": province, "code": "drill", "name": "Phường Diễn Tập"}
                    | {"level": "commune", "kind": "phuong"},
                ).scalar_one()

    def commit(self, receipt: str) -> datetime:
        """One tip and its photo in one transaction; a moment after its commit."""
        with self.engine.connect() as db:
            with db.begin():
                tip = db.execute(
                    text(
                        "INSERT INTO incidents (source, kind, receipt, status, occurred_at,"
                        " description, geom, located_by, commune_id, handed_to_police, has_photo,"
                        " has_contact) VALUES ('tip', 'theft', :receipt, 'received', now(),"
                        " :description, ST_SetSRID(ST_MakePoint(105.805, 21.005), 4326), 'map',"
                        " :commune, false, true, false) RETURNING id"
                    ),
                    {"receipt": receipt, "description": f"tin {receipt}", "commune": self.commune},
                ).scalar_one()
                db.execute(
                    text(
                        "INSERT INTO incident_photos (incident_id, data, width, height)"
                        " VALUES (:id, :data, 32, 24)"
                    ),
                    {"id": tip, "data": photo(receipt)},
                )
            return db.execute(text("SELECT clock_timestamp()")).scalar_one()

    def stored(self) -> set[tuple[str, bytes]]:
        with self.engine.connect() as db:
            return {
                (receipt, bytes(data))
                for receipt, data in db.execute(
                    text(
                        "SELECT i.receipt, p.data FROM incidents i"
                        " JOIN incident_photos p ON p.incident_id = i.id"
                    )
                )
            }

    def archive_all(self) -> None:
        """The segment holding the last commits switched out and archived (pgBackRest)."""
        with self.engine.connect() as db:
            segment = db.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar_one()
            deadline = time.monotonic() + 60
            while True:
                archived, failed = db.execute(
                    text("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")
                ).one()
                if archived and archived[8:] >= segment[8:]:  # same timeline or a later one
                    return
                assert time.monotonic() < deadline, (segment, archived, failed)
                time.sleep(0.1)

    def dispose(self) -> None:
        self.engine.dispose()


def destroy(installation: Installation) -> None:
    """A crash that loses the disk: the server killed, its data directory gone."""
    installation.kill9()
    shutil.rmtree(installation.data)
    assert not installation.data.exists()


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def portal_reads(installation: Installation) -> set[str]:
    """The schema at the migrations' head, and the receipts of the tips with a photo as the
    portal's own role reads them through the models."""
    from portal import create_app
    from portal.extensions import db
    from portal.models.incident import Incident, IncidentPhoto

    owner = create_engine(installation.url("owner"))
    with owner.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head()
    owner.dispose()
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": installation.url("app"),
            "SECRET_KEY": "drill",
        }
    )
    with app.app_context():
        receipts = set(
            db.session.scalars(
                select(Incident.receipt).join(
                    IncidentPhoto, IncidentPhoto.incident_id == Incident.id
                )
            )
        )
        db.session.remove()
        db.engine.dispose()
    return receipts


def test_archiving_sends_a_quiet_servers_wal_within_a_minute(installation):
    """Without archive_timeout a segment is archived only when 16 MB of WAL fill it: on a quiet
    portal the last hours' commits (a failed upgrade's way back too) would be in no archive
    when the disk is lost. Here and in the production instructions alike."""
    admin = create_engine(installation.url("admin"))
    with admin.connect() as db:
        assert (
            db.execute(
                text("SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'")
            ).scalar_one()
            == 60
        )
    admin.dispose()
    production = (ROOT / "deploy" / "pgbackrest" / "pgbackrest.conf").read_text()
    assert re.search(r"^#\s+archive_timeout = 60$", production, re.M)


def test_restore_to_a_time_between_two_commits(installation):
    tips = Tips(installation)
    for n in range(3):
        tips.commit(f"TRUOC{n}")
    backup(installation, "backup", "full")
    before = tips.stored()
    times = []
    for n in range(4):
        times.append(tips.commit(f"SAU{n}"))
        time.sleep(GAP)
    tips.archive_all()
    tips.dispose()
    # after the second commit since the backup and before the third (at least GAP later)
    target = times[1] + timedelta(seconds=GAP / 2)

    destroy(installation)
    said = backup(installation, "restore", "--yes", target.isoformat(sep=" "))

    print(said)
    assert "restored" in said
    tips = Tips(installation)
    stored = tips.stored()
    tips.dispose()
    expected = before | {(f"SAU{n}", photo(f"SAU{n}")) for n in range(2)}
    assert {receipt for receipt, _ in before} >= {f"TRUOC{n}" for n in range(3)}
    assert stored == expected
    assert portal_reads(installation) == {receipt for receipt, _ in expected}


def test_restore_to_the_end_of_the_archive(installation):
    """Every commit, the ones after the last backup from the WAL archive."""
    tips = Tips(installation)
    tips.commit("CUOI0")
    backup(installation, "backup", "incr")
    for n in range(1, 4):
        tips.commit(f"CUOI{n}")
    committed = tips.stored()
    tips.archive_all()
    tips.dispose()

    # without --yes and no terminal to ask at, nothing is stopped or replaced
    with pytest.raises(RuntimeError, match="add --yes"):
        backup(installation, "restore")
    assert installation.pg("status")

    destroy(installation)
    said = backup(installation, "restore", "--yes")

    print(said)
    assert "restored" in said
    tips = Tips(installation)
    stored = tips.stored()
    tips.dispose()
    assert {f"CUOI{n}" for n in range(4)} <= {receipt for receipt, _ in committed}
    assert stored == committed
    assert portal_reads(installation) == {receipt for receipt, _ in committed}


def test_upgrade_backs_up_first_and_stops_when_it_cannot(installation):
    """scripts/upgrade.sh (`make upgrade` without the installing): no migration without a
    backup; with one, the migrations to head and the portal role's grants."""
    migrations = str(ROOT / "migrations")
    installation.flask("db", "downgrade", "0017", "--directory", migrations)
    owner = create_engine(installation.url("owner"))

    def revision() -> str:
        with owner.connect() as db:
            return db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    def upgrade() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "scripts" / "upgrade.sh"), "--no-setup"],
            cwd=ROOT,
            env=installation.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def backups() -> int:
        return len(re.findall(r"(full|diff|incr) backup: ", backup(installation, "info")))

    # the repository's backup sets cannot be written: the backup fails
    sets = installation.data.parent / "backup" / "backup" / "portal"
    mode = sets.stat().st_mode
    kept = backups()
    sets.chmod(0)
    try:
        failed = upgrade()
    finally:
        sets.chmod(mode)
    assert failed.returncode != 0
    assert "nothing migrated" in failed.stderr
    assert revision() == "0017"

    done = upgrade()
    assert done.returncode == 0, done.stdout + done.stderr
    assert backups() == kept + 1
    assert revision() == head()
    assert "make restore TARGET=" in done.stdout
    app = create_engine(installation.url("app"))
    with app.connect() as db:  # 0018's table, granted to the portal's role
        assert db.execute(text("SELECT count(*) FROM tile_generation")).scalar_one() == 1
    app.dispose()
    owner.dispose()


def test_upgrade_on_a_production_server_prints_its_own_way_back_even_when_the_migration_fails():
    """With DATABASE_URL (Debian's cluster, deploy/pgbackrest/) `make restore` refuses to run,
    so the way back printed is pgBackRest's own restore, to a moment after the backup ended; and
    it is printed when the migration fails too (set -e used to stop before it)."""
    # readable by `postgres` too: upgrade.sh runs pgBackRest as that user when it is root
    bin_dir = Path(tempfile.mkdtemp(prefix="fake-pgbackrest-"))
    bin_dir.chmod(0o755)
    fake = bin_dir / "pgbackrest"  # the backup succeeds, and says when it ended
    fake.write_text('#!/bin/sh\necho "fake pgbackrest $* ended at $(date -u +%s.%N)"\n')
    fake.chmod(0o755)
    config = bin_dir / "pgbackrest.conf"
    config.write_text("[portal]\n")
    config.chmod(0o644)
    env = {
        "PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(ROOT),
        "PORTAL_ENV": "development",
        # nothing listens there: the migration fails after the backup
        "DATABASE_URL": "postgresql+psycopg://portal_app:x@127.0.0.1:1/antt_portal",
        "DATABASE_OWNER_URL": "postgresql+psycopg://portal_owner:x@127.0.0.1:1/antt_portal",
        "PGBACKREST_CONFIG": str(config),
    }
    done = subprocess.run(
        [str(ROOT / "scripts" / "upgrade.sh"), "--no-setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    shutil.rmtree(bin_dir)
    ended = re.search(r"fake pgbackrest .*backup ended at ([0-9.]+)", said)
    assert ended, said
    assert "make restore" not in said
    target = re.search(r'"--target=([^"]+)"', said)
    assert target, said
    assert f"--config={config}" in said and "--type=time" in said and "restore" in said
    # the moment is after the backup: a restore to before it would need an older backup
    moment = datetime.strptime(target.group(1) + ":00", "%Y-%m-%d %H:%M:%S%z")
    assert moment.timestamp() > float(ended.group(1))


def restore_in_an_empty_folder(tmp_path, target: str) -> subprocess.CompletedProcess:
    """backup.sh restore against a state folder with no cluster and no backups: how far the
    target's check lets it go."""
    local = tmp_path / "local"
    (local / "pg").mkdir(parents=True)
    (local / "pg.port").write_text("1\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PORTAL_LOCAL": str(local)}
    return subprocess.run(
        [str(BACKUP), "restore", "--yes", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "target", ["2026-11-29 18:00:00", "2026-11-29 18:00+07", "2026-11-29T11:00:00Z", "hôm qua"]
)
def test_restore_refuses_a_target_time_without_its_zone(tmp_path, target):
    """PostgreSQL would read a time without a zone in the server's zone (UTC on most servers),
    seven hours from what a Vietnamese operator meant: past the mistake, or long before it.
    And pgBackRest chooses the backup set by the time only in one form. Refused before anything
    is stopped."""
    done = restore_in_an_empty_folder(tmp_path, target)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "+07" in done.stderr  # says how to write one
    assert "stopping" not in done.stdout


@pytest.mark.parametrize(
    "target", ["2026-11-29 18:00:00+07", "2026-11-29 18:00:00.5+07:00", "2026-11-29 11:00:00+0000"]
)
def test_restore_takes_a_target_time_with_its_zone(tmp_path, target):
    done = restore_in_an_empty_folder(tmp_path, target)
    # past the target's check: nothing set up in this folder
    assert done.returncode == 1 and "no backups set up here" in done.stderr, done.stderr


def test_restore_with_no_backup_in_the_repository_leaves_the_server_running():
    """A repository set up (stanza-create) but holding no backup yet: pgBackRest would refuse
    the restore only after the server was stopped, leaving the portal down for nothing."""
    # readable by `postgres` too: backup.sh runs pgBackRest and pg_ctl as that user when root
    folder = Path(tempfile.mkdtemp(prefix="empty-repo-"))
    folder.chmod(0o755)
    calls = folder / "calls"
    calls.touch(mode=0o666)
    calls.chmod(0o666)
    bin_dir = folder / "bin"
    bin_dir.mkdir(mode=0o755)
    for program, answer in [
        # what pgBackRest's info says of a stanza without backups
        ("pgbackrest", '[{"archive":[],"backup":[],"name":"portal"}]'),
        ("pg_ctl", ""),  # the server runs ("status" succeeds)
    ]:
        fake = bin_dir / program
        fake.write_text(f"#!/bin/sh\necho \"{program} $*\" >>{calls}\necho '{answer}'\n")
        fake.chmod(0o755)
    local = folder / "local"
    home = local / "pg"
    (home / "pgbackrest").mkdir(parents=True)
    (home / "pgbackrest" / "pgbackrest.conf").write_text("[portal]\n")
    (local / "pg.port").write_text("1\n")
    for path in (local, home, home / "pgbackrest"):
        path.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PORTAL_LOCAL": str(local),
        "PGBIN": str(bin_dir),
    }
    try:
        done = subprocess.run(
            [str(BACKUP), "restore", "--yes"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        called = calls.read_text()
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no backup" in done.stderr
    assert "info" in called  # it asked
    # neither the server stopped nor a restore tried
    assert not [line for line in called.splitlines() if line.endswith((" stop", " restore"))]
