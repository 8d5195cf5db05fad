"""Coverage: a village whose team has no leader now has its own status, "no_leader".

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Data only. The stored figures of every commune were computed with the older statuses, so each
is marked stale: the first page that shows a stale commune with no refresh on its way queues
one (portal.coverage.services), and `flask refresh-coverage` recomputes them all at once.
Downgrade does nothing: a stale mark only asks for a recomputation, which the older code
would make in its own terms.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)


def upgrade():
    op.execute(
        "UPDATE coverage_communes SET stale_since = coalesce(stale_since, clock_timestamp())"
    )


def downgrade():
    pass
