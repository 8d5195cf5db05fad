"""Production refuses the demo's published passwords; the demo runs as PORTAL_ENV=demo; the seed
commands refuse production; the operator's account commands work there (issue 18)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.auth.passwords import verify_password
from portal.demo.guard import DemoAccountsLeft
from portal.models import Account, Area
from tests.conftest import DEMO_PASSWORDS, copy_in, login, rolled_back_session

STRONG = "ngõ nhỏ phố nhỏ nhà tôi ở đó"


@pytest.fixture(autouse=True)
def not_under_flask_command(monkeypatch):
    # the factory leaves the check to the command under `flask`; pytest is not one
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)


def portal_in(app, env: str, **overrides):
    """The portal as PORTAL_ENV=env on the suite's database (the test's transaction)."""
    return create_app(
        {
            "PORTAL_ENV": env,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "guard-test-key",
            "LOOKUP_INDEX": False,
            "SHARED_DATA_DIR": app.config["SHARED_DATA_DIR"],
            **overrides,
        }
    )


def account(session, username: str) -> Account:
    return session.scalar(select(Account).where(Account.username == username))


def test_production_refuses_to_start_with_a_demo_password(app, demo):
    with pytest.raises(DemoAccountsLeft) as refused:
        portal_in(app, "production")
    message = str(refused.value)
    assert refused.value.usernames == ["canbo.xa", "quantri", "totruong"]
    assert "canbo.xa, quantri, totruong" in message
    assert "set-password" in message and "disable-account" in message
    assert "PORTAL_ENV=demo" in message


def test_production_starts_once_each_demo_password_is_changed_or_its_account_disabled(app, demo):
    from portal.accounts.services import set_password

    set_password(account(demo, "quantri"), STRONG)
    demo.commit()
    with pytest.raises(DemoAccountsLeft) as refused:
        portal_in(app, "production")
    assert refused.value.usernames == ["canbo.xa", "totruong"]  # the changed one is no more

    set_password(account(demo, "totruong"), STRONG + " nữa")
    account(demo, "canbo.xa").is_active = False  # disabled: nobody signs in with it
    demo.commit()
    started = portal_in(app, "production")
    assert started.config["PORTAL_ENV"] == "production"


def test_flask_run_in_production_refuses_a_demo_password_as_gunicorn_does(app, demo, monkeypatch):
    """`flask run` serves the portal too: it is a `flask` command (FLASK_RUN_FROM_CLI), but not
    one of the operator's tools the check is left to."""
    from click.testing import CliRunner
    from flask import cli as flask_cli

    served = []
    monkeypatch.setattr(flask_cli, "run_simple", lambda *args, **kwargs: served.append(args))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # as FlaskGroup sets it for every command
    info = flask_cli.ScriptInfo(create_app=lambda: portal_in(app, "production"))
    result = CliRunner().invoke(flask_cli.run_command, ["--port", "5105"], obj=info)
    assert isinstance(result.exception, DemoAccountsLeft), result.output
    assert served == []


def test_a_demo_account_enabled_again_in_production_does_not_sign_in_with_its_demo_password(
    app, demo
):
    """The start-up check sees the accounts as they are then; an admin who enables a disabled
    demo account later (or sets its demo password again) must not reopen it."""
    from portal.accounts.services import set_password
    from tests.conftest import login

    set_password(account(demo, "quantri"), STRONG)
    set_password(account(demo, "totruong"), STRONG + " nữa")
    account(demo, "canbo.xa").is_active = False
    demo.commit()
    started = portal_in(app, "production")
    account(demo, "canbo.xa").is_active = True  # the accounts page's "enable", after the start
    demo.commit()
    client = started.test_client()
    refused = login(client, "canbo.xa", DEMO_PASSWORDS["canbo.xa"])
    assert refused.status_code == 401
    assert login(client, "quantri", STRONG).status_code in (302, 303)  # others still sign in


def test_the_demo_environment_starts_with_the_demo_accounts(app, demo):
    started = portal_in(app, "demo")
    assert started.config["PORTAL_ENV"] == "demo"
    # production in everything else: the key must come from outside, as there
    assert started.config["TESTING"] is False


def test_an_unknown_environment_is_refused(app):
    with pytest.raises(RuntimeError, match="PORTAL_ENV is 'prod'"):
        portal_in(app, "prod")


def test_database_away_at_start_checked_on_the_first_request_that_finds_it(app, demo_rows):
    # nothing listens there: the portal starts all the same, as it does when PostgreSQL restarts
    started = portal_in(app, "production", SQLALCHEMY_DATABASE_URI=unreachable())
    # then the database answers (the test's session, which every query goes through), with
    # the demo's accounts in it: everything answers 503
    with rolled_back_session(app) as session:
        copy_in(session, demo_rows)
        client = started.test_client()
        assert client.get("/login").status_code == 503
        assert client.get("/tra-cuu").status_code == 503


def test_database_away_at_start_then_found_clean_serves(app):
    started = portal_in(app, "production", SQLALCHEMY_DATABASE_URI=unreachable())
    with rolled_back_session(app):
        assert started.test_client().get("/login").status_code == 200


def unreachable() -> str:
    import socket

    with socket.socket() as s:  # a port just freed: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://nobody:x@127.0.0.1:{port}/nothing"


# --- the command line in production ---------------------------------------------------------


SEEDS = ["seed-demo", "seed-patrols", "seed-incidents", "seed-turnover"]


@pytest.mark.parametrize("command", SEEDS)
def test_seed_commands_refuse_production(app, session, command):
    production = portal_in(app, "production")
    done = production.test_cli_runner().invoke(args=[command])
    assert done.exit_code == 1
    assert "PORTAL_ENV=demo" in done.output
    assert session.scalar(select(func.count()).select_from(Area)) == 0


def test_create_admin_works_in_production_and_asks_the_password_twice_unseen(app, session):
    production = portal_in(app, "production")
    runner = production.test_cli_runner()
    done = runner.invoke(args=["create-admin", "Truong.Phong"], input=f"{STRONG}\n{STRONG}\n")
    assert done.exit_code == 0, done.output
    assert "Repeat for confirmation" in done.output
    assert STRONG not in done.output  # not echoed
    made = account(session, "truong.phong")
    assert made.role == "admin" and made.is_active
    assert verify_password(made.password_hash, STRONG)


def test_create_admin_enforces_the_password_policy_and_the_name(app, session):
    runner = portal_in(app, "production").test_cli_runner()
    weak = runner.invoke(args=["create-admin", "chief"], input="password1234\npassword1234\n")
    assert weak.exit_code == 1
    assert "phổ biến" in weak.output or "common" in weak.output  # the commonest passwords
    mismatch = runner.invoke(
        args=["create-admin", "chief"], input=f"{STRONG}\nsomething else\n{STRONG}\n{STRONG}\n"
    )
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output  # asked again, then made
    taken = runner.invoke(args=["create-admin", "Chief"], input=f"{STRONG}\n{STRONG}\n")
    assert taken.exit_code == 1 and "taken" in taken.output
    bad_name = runner.invoke(args=["create-admin", "x y"], input=f"{STRONG}\n{STRONG}\n")
    assert bad_name.exit_code == 1
    assert session.scalar(select(func.count()).select_from(Account)) == 1


def test_an_operator_repairs_a_demo_account_with_the_flask_command(app, demo, monkeypatch):
    # the web refuses to start, so the `flask` command is the way: under it (Flask sets
    # FLASK_RUN_FROM_CLI) the factory leaves the check to the commands that serve: the worker
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    runner = portal_in(app, "production").test_cli_runner()
    worker = runner.invoke(args=["worker", "--once"])
    assert worker.exit_code == 1
    assert "canbo.xa, quantri, totruong" in worker.output

    weak = runner.invoke(args=["set-password", "quantri"], input="quantri2025\nquantri2025\n")
    assert weak.exit_code == 1
    assert verify_password(account(demo, "quantri").password_hash, DEMO_PASSWORDS["quantri"])
    for name in ("quantri", "totruong"):
        done = runner.invoke(args=["set-password", name], input=f"{STRONG}\n{STRONG}\n")
        assert done.exit_code == 0, done.output
        assert STRONG not in done.output
    assert account(demo, "quantri").session_epoch == 1  # its open sessions ended
    assert runner.invoke(args=["disable-account", "canbo.xa"]).exit_code == 0
    assert runner.invoke(args=["disable-account", "nobody"]).exit_code == 1

    monkeypatch.delenv("FLASK_RUN_FROM_CLI")
    assert portal_in(app, "production").config["PORTAL_ENV"] == "production"  # starts


@pytest.mark.parametrize(("env", "hinted"), [("production", False), ("demo", True)])
def test_the_first_admin_of_an_empty_install_is_shown_the_import_not_the_demo(
    app, session, monkeypatch, env, hinted
):
    """After create-admin on a new install there are no areas yet: production points at the
    boundary import only, as its seed commands are refused (the demo may name them)."""
    done = app.test_cli_runner().invoke(
        args=["create-admin", "truong.phong"], input=f"{STRONG}\n{STRONG}\n"
    )
    assert done.exit_code == 0, done.output
    monkeypatch.setitem(app.config, "PORTAL_ENV", env)
    client = app.test_client()
    assert login(client, "truong.phong", STRONG).status_code == 302
    page = client.get("/areas/").get_data(as_text=True)
    assert "flask import-boundaries" in page
    assert ("flask seed-demo" in page) is hinted
