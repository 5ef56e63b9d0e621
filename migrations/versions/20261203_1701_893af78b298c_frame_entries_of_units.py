"""Frame entries may be units (household clusters) as well as desks: exactly one of the two.

Revision ID: 893af78b298c
Revises: 2d512540e683
Create Date: 2026-12-03 17:01:33.632794

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "893af78b298c"
down_revision = "2d512540e683"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("frame_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.alter_column("service_point_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint("uq_frame_entry_wave_unit", ["wave_id", "unit_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_frame_entry_unit_id_unit"), "unit", ["unit_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_frame_entry_one_psu"), "(service_point_id IS NULL) <> (unit_id IS NULL)"
        )


def downgrade():
    op.execute("DELETE FROM frame_entry WHERE service_point_id IS NULL")
    with op.batch_alter_table("frame_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_frame_entry_one_psu"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_frame_entry_unit_id_unit"), type_="foreignkey")
        batch_op.drop_constraint("uq_frame_entry_wave_unit", type_="unique")
        batch_op.alter_column("service_point_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("unit_id")
