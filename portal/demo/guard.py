"""No published demo password in production.

The demo's accounts and passwords are printed by `seed-demo` and written in the README, so an
installation that still lets one of them in is open to anyone who has read either. With
PORTAL_ENV=production the web app (the factory) and the job worker refuse to start while an
active account named like a demo account still takes its demo password; PORTAL_ENV=demo is the
environment of a demonstration install (`make run`), which is production in everything else.

Only the demo's few usernames are verified (an argon2 check each), so start-up stays cheap.
"""

from __future__ import annotations

import logging

import click
from flask import Flask, abort
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from portal.auth.passwords import verify_password
from portal.demo.seed import DEMO_ACCOUNTS
from portal.errors import database_unavailable
from portal.extensions import db
from portal.models import Account

log = logging.getLogger(__name__)

DEMO_PASSWORDS = {username: password for username, password, *_rest in DEMO_ACCOUNTS}
UNDEFINED_TABLE = "42P01"  # a database not migrated yet holds no accounts at all


class DemoAccountsLeft(RuntimeError):
    """Production with an account that still takes its published demo password."""

    def __init__(self, usernames: list[str]):
        self.usernames = usernames
        names = ", ".join(usernames)
        super().__init__(
            f"Refusing to start with PORTAL_ENV=production: the demo account(s) {names} still "
            "take the password published by seed-demo and the README. For each, change the "
            "password (flask --app wsgi set-password USERNAME) or disable the account "
            "(flask --app wsgi disable-account USERNAME). A demonstration install runs with "
            "PORTAL_ENV=demo instead."
        )


def accounts_with_demo_passwords() -> list[str]:
    """The active demo accounts whose password is still the published one."""
    rows = db.session.execute(
        select(Account.username, Account.password_hash).where(
            Account.username.in_(DEMO_PASSWORDS), Account.is_active
        )
    ).all()
    return sorted(name for name, hashed in rows if verify_password(hashed, DEMO_PASSWORDS[name]))


def served_by_flask_run() -> bool:
    """Whether the app is being loaded by `flask run`, which serves it (unlike the other
    `flask` commands, the operator's tools)."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.command.name == "run"


def _check(app: Flask, *, dispose: bool = True) -> list[str] | None:
    """The accounts found, or None when the database does not answer."""
    with app.app_context():
        try:
            return accounts_with_demo_passwords()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE:
                return []
            if database_unavailable(exc):
                return None
            raise
        finally:
            db.session.remove()
            if dispose:
                # nothing pooled outlives the start-up check: a server that forks its workers
                # after loading the app (gunicorn's preload) must not hand them one connection
                db.engine.dispose()


def refuse_demo_passwords(app: Flask) -> None:
    """DemoAccountsLeft in production when a demo password still works.

    When the database does not answer at start (it is restarting), the portal starts all the
    same, as it does without the check (answering 503 meanwhile), and checks on the first
    request that finds the database: with a demo password it then answers 503 to everything.
    """
    if app.config["PORTAL_ENV"] != "production":
        return
    found = _check(app)
    if found:
        raise DemoAccountsLeft(found)
    if found is None:
        log.warning("could not check for demo passwords: the database does not answer; later")
        _check_on_first_request(app)


def _check_on_first_request(app: Flask) -> None:
    state = {"done": False, "found": []}

    def demo_passwords_checked():
        if not state["done"]:
            found = _check(app, dispose=False)
            if found is None:
                return None  # still away: the request meets it and answers 503 as usual
            state.update(done=True, found=found)
            if found:
                log.critical("%s", DemoAccountsLeft(found))
        if state["found"]:
            abort(503)
        return None

    # first of the hooks: one that answers (a redirect to sign in) would skip the later ones
    app.before_request_funcs.setdefault(None, []).insert(0, demo_passwords_checked)
