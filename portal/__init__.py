"""The grassroots security portal: application factory."""

from __future__ import annotations

import os

from flask import Flask, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as config_module


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app; `overrides` replace configuration taken from the environment (tests)."""
    root = config_module.ROOT
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.config.update(config_module.load(overrides))
    from portal import logs

    logs.configure()  # JSON lines from here on (issue 18)
    if app.config["LOOKUP_INDEX"]:  # issue 16: fast look-up, inside ProxyFix (its environ)
        from portal.lookup import fast

        fast.init_app(app)
    if app.config["PROXY_HOPS"]:
        # behind a reverse proxy: trust its X-Forwarded-For/-Proto for client address and https
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from portal import (
        assets,
        audit,
        cli,
        compression,
        errors,
        i18n,
        inputs,
        metrics,
        replica,
        security,
    )
    from portal.extensions import csrf, db, htmx, migrate
    from portal.jobs import queue as jobs_queue

    compression.init_app(app)  # first: its after-request hook runs last, on the final body
    db.init_app(app)
    metrics.init_app(app)  # issue 18: its pool gauges watch the engine db.init_app made
    replica.init_app(app)  # issue 16: public reads from DATABASE_REPLICA_URL
    migrate.init_app(app, db, directory=str(root / "migrations"))
    csrf.init_app(app)
    compression.use_masked_tokens(app)
    htmx.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    audit.init_app(app)
    assets.init_app(app)
    errors.register(app)
    inputs.init_app(app)  # before the blueprints: their <int:…> take its bounded converter
    cli.register(app)
    jobs_queue.init_app(app)

    # the work each kind of job does, registered for the web (which submits) and the worker
    import portal.boundaries.jobs
    import portal.coverage.jobs
    import portal.demo.jobs
    import portal.patrols.jobs
    import portal.review.jobs  # noqa: F401  (issue 15: exports)
    from portal.accounts.views import bp as accounts_bp
    from portal.areas.views import bp as areas_bp
    from portal.auth.views import bp as auth_bp
    from portal.boundaries.views import bp as boundaries_bp
    from portal.coverage.views import bp as coverage_bp
    from portal.duty.views import bp as duty_bp
    from portal.health.views import bp as health_bp
    from portal.incidents.views import bp as incidents_bp
    from portal.jobs.views import bp as jobs_bp
    from portal.lookup.views import bp as lookup_bp
    from portal.ogc.views import bp as ogc_bp
    from portal.open311.views import bp as open311_bp
    from portal.patrols.views import bp as patrols_bp
    from portal.retention.views import bp as retention_bp
    from portal.review.views import bp as review_bp
    from portal.streets.views import bp as streets_bp
    from portal.teams.views import bp as teams_bp
    from portal.tiles.views import bp as tiles_bp
    from portal.tips.views import bp as tips_bp
    from portal.tokens.views import bp as tokens_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(areas_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(teams_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(boundaries_bp)
    app.register_blueprint(coverage_bp)
    app.register_blueprint(lookup_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(patrols_bp)
    app.register_blueprint(duty_bp)
    app.register_blueprint(incidents_bp)
    app.register_blueprint(tips_bp)
    app.register_blueprint(streets_bp)  # issue 14: streets
    app.register_blueprint(review_bp)
    app.register_blueprint(open311_bp)  # issue 17: Open311 GeoReport v2 for tips
    app.register_blueprint(tiles_bp)  # issue 17: vector tiles
    app.register_blueprint(ogc_bp)  # issue 17: OGC API – Features
    app.register_blueprint(tokens_bp)  # issue 17: API tokens for /ogc/
    app.register_blueprint(retention_bp)  # issue 18: the retention of reporters' data

    @app.get("/")
    def home():
        # citizens land on the look-up; a team leader on their team's week; planners on the
        # area browser
        account = security.current_account()
        if account is None:
            return redirect(url_for("lookup.index"))
        if account.role == "team_leader":
            return redirect(url_for("patrols.home"))
        return redirect(url_for("areas.index"))

    # issue 18: last, so outermost: the request id and the access line span everything above
    logs.init_app(app)

    @app.after_request
    def vary_on_htmx(response):
        # one URL answers with a page or a fragment, so caches must key on HX-Request
        response.vary.add("HX-Request")
        return response

    # Production refuses to start while a demo account keeps its published password. Not for
    # the `flask` command (Flask sets FLASK_RUN_FROM_CLI for every one of them): its tools are
    # how an operator migrates and repairs such an account, and its `worker` checks for itself.
    # But `flask run` serves the portal as gunicorn does, so it is checked.
    from portal.demo.guard import refuse_demo_passwords, served_by_flask_run

    if os.environ.get("FLASK_RUN_FROM_CLI") != "true" or served_by_flask_run():
        refuse_demo_passwords(app)
    return app
