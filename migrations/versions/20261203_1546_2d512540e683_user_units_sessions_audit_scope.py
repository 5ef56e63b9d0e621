"""Users get units and a session version; audit entries record their unit.

Revision ID: 2d512540e683
Revises: c72bd61464fe
Create Date: 2026-12-03 15:46:24.678545

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2d512540e683"
down_revision = "c72bd61464fe"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_unit",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_user_unit_unit_id_unit"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_unit_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "unit_id", name=op.f("pk_user_unit")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_unit_id"), ["unit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_entry_unit_id_unit"), "unit", ["unit_id"], ["id"]
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_audit_entry_unit_id_unit"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_audit_entry_unit_id"))
        batch_op.drop_index("ix_audit_entry_entity")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_column("unit_id")

    op.drop_table("user_unit")
