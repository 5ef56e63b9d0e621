"""Result sets and their rows, calibration targets, and the household cluster of a response.

Revision ID: a8f39933abe5
Revises: 893af78b298c
Create Date: 2026-12-04 15:06:31.711767

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a8f39933abe5"
down_revision = "893af78b298c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calibration_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("margin", sa.String(length=200), nullable=False),
        sa.Column("cell", sa.JSON(), nullable=False),
        sa.Column("count", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
            name=op.f("fk_calibration_target_wave_id_wave"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_target")),
    )
    with op.batch_alter_table("calibration_target", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calibration_target_wave_margin", ["wave_id", "margin"], unique=False
        )

    op.create_table(
        "result_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("response_count", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("weighting", sa.String(length=32), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_result_set_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], name=op.f("fk_result_set_wave_id_wave")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_set")),
    )
    with op.batch_alter_table("result_set", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_set_input_hash"), ["input_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_result_set_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "result_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("variable", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.JSON(), nullable=True),
        sa.Column("estimate", sa.Double(), nullable=True),
        sa.Column("se", sa.Double(), nullable=True),
        sa.Column("ci_low", sa.Double(), nullable=True),
        sa.Column("ci_high", sa.Double(), nullable=True),
        sa.Column("df", sa.Integer(), nullable=True),
        sa.Column("deff", sa.Double(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_set_id"],
            ["result_set.id"],
            name=op.f("fk_result_row_result_set_id_result_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_row")),
    )
    with op.batch_alter_table("result_row", schema=None) as batch_op:
        batch_op.create_index(
            "ix_result_row_set_position", ["result_set_id", "position"], unique=False
        )

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_response_unit_id"), ["unit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_response_unit_id_unit"), "unit", ["unit_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_response_unit_id_unit"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_response_unit_id"))
        batch_op.drop_column("unit_id")

    with op.batch_alter_table("result_row", schema=None) as batch_op:
        batch_op.drop_index("ix_result_row_set_position")

    op.drop_table("result_row")
    with op.batch_alter_table("result_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_set_wave_id"))
        batch_op.drop_index(batch_op.f("ix_result_set_input_hash"))

    op.drop_table("result_set")
    with op.batch_alter_table("calibration_target", schema=None) as batch_op:
        batch_op.drop_index("ix_calibration_target_wave_margin")

    op.drop_table("calibration_target")
