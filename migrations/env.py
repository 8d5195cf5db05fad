"""Alembic environment: the app's engine and metadata, through Flask-Migrate."""

import logging
import os
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from portal import logs

config = context.config
if config.config_file_name and not logs.configured():
    fileConfig(config.config_file_name)
elif config.config_file_name:
    # run by the portal (flask db upgrade, the tests): its JSON lines stay (portal/logs.py),
    # at alembic.ini's levels; fileConfig would replace them and disable the portal's loggers
    for name in ("alembic", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata

# PostGIS owns these tables; autogenerate must not try to drop them.
IGNORED_TABLES = {"spatial_ref_sys", "topology", "layer"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in IGNORED_TABLES)


def run_migrations_offline():
    context.configure(
        url=str(_engine().url).replace("%", "%%"),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _engine():
    """The schema owner's engine: the portal's own role may not create or alter tables."""
    url = current_app.config.get("MIGRATION_DATABASE_URI")
    if url and url != current_app.config["SQLALCHEMY_DATABASE_URI"]:
        return create_engine(url, poolclass=NullPool)
    return db.engine


def lock_timeout() -> str:
    """How long a migration waits for each lock (PostgreSQL's units: "10s", "500ms"; "0": for
    ever). An ALTER TABLE queued behind a serving request's lock makes every later request on
    that table queue behind the ALTER: better that the upgrade fails and is run again."""
    return str(
        current_app.config.get("MIGRATION_LOCK_TIMEOUT")
        or os.environ.get("PORTAL_MIGRATION_LOCK_TIMEOUT", "10s")
    )


def run_migrations_online():
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
        )
        with context.begin_transaction():
            # for this transaction only (all the migrations run in it)
            connection.execute(
                text("SELECT set_config('lock_timeout', :value, true)"), {"value": lock_timeout()}
            )
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
