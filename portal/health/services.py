"""Liveness and readiness for operators and load balancers."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.errors import DomainError
from portal.extensions import db


class DatabaseDown(DomainError):
    status = 503


def check(detail: bool) -> dict:
    """Up, and with `detail` the database and PostGIS versions (which tell an attacker which
    published flaws to try, so only operators get them); DatabaseDown when the database does
    not answer."""
    try:
        row = db.session.execute(
            text("SELECT current_setting('server_version'), postgis_lib_version()")
        ).one()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise DatabaseDown("database unavailable") from exc
    if not detail:
        return {"status": "ok"}
    return {"status": "ok", "database": f"PostgreSQL {row[0]}", "postgis": row[1]}
