"""The emulation movement's criteria: a province's ranking of communes and teams, as data.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

emulation_criteria: per province, each criterion's key (what the ranking reads from the
review's figures), its Vietnamese label, its weight (≥ 0) and whether more is better. The
provinces already in the database get the default set; a province without rows is ranked on
the same defaults (portal.review.emulation.DEFAULTS) until an admin saves its weights.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
PHASE = "expand"  # only adds: the code of the release before runs on it (script.py.mako)

# key, label, weight, higher is better, position: the same as portal.review.emulation.DEFAULTS
SEED = [
    ("patrols_per_member", "Lượt tuần tra bình quân mỗi thành viên", 3.0, True, 1),
    ("valuable_tips", "Tin báo có giá trị", 2.0, True, 2),
    ("coverage", "Thôn, tổ dân phố đã có tổ (%)", 2.0, True, 3),
    ("villages_patrolled", "Thôn, tổ dân phố được tuần tra (%)", 1.0, True, 4),
    ("cases_handled", "Vụ việc tổ đã xử lý", 2.0, True, 5),
    ("violations_found", "Vụ vi phạm tổ phát hiện", 1.0, True, 6),
    ("joint_patrols", "Lượt tuần tra cùng công an", 1.0, True, 7),
]


def upgrade():
    op.create_table(
        "emulation_criteria",
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(30), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("higher_better", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("weight >= 0", name="ck_emulation_criteria_weight"),
        sa.ForeignKeyConstraint(
            ["province_id"], ["areas.id"], name="fk_emulation_criteria_province_id_areas"
        ),
        sa.PrimaryKeyConstraint("province_id", "key", name="pk_emulation_criteria"),
    )
    insert = sa.text(
        "INSERT INTO emulation_criteria"
        " (province_id, key, label, weight, higher_better, position)"
        " SELECT id, :key, :label, :weight, :higher, :position FROM areas"
        " WHERE level = 'province'"
    )
    for key, label, weight, higher, position in SEED:
        op.execute(
            insert.bindparams(key=key, label=label, weight=weight, higher=higher, position=position)
        )


def downgrade():
    op.drop_table("emulation_criteria")
