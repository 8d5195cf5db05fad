"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}
# Expand/contract (README "Upgrading"): during an upgrade the code of the release before still
# serves on the new schema, and after a restore or a rollback the code of this release may meet
# the old one. So a migration is one of:
#   "expand"   only adds: tables, nullable columns (or NOT NULL with a server default), indexes,
#              functions, rows. Never drops or renames a table or a column, changes a column's
#              type, or sets NOT NULL on an existing column (tests/test_migration_phases.py).
#   "contract" removes or tightens what the code stopped using: it ships in the release AFTER the
#              one whose code stopped reading and writing the thing, never with it.
# A rename is an expand (add the new, write both, backfill) and, a release later, a contract.
PHASE = "expand"


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
