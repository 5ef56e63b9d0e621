"""Paper forms, their batches and typed passes; a household paper response has no desk.

Revision ID: 5991b9eadfca
Revises: a8f39933abe5
Create Date: 2026-12-04 18:09:38.663718

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5991b9eadfca"
down_revision = "a8f39933abe5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "paper_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("expected_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(service_point_id IS NULL) <> (unit_id IS NULL)", name=op.f("ck_paper_batch_one_psu")
        ),
        sa.CheckConstraint("expected_count > 0", name=op.f("ck_paper_batch_positive_count")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user.id"], name=op.f("fk_paper_batch_closed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_paper_batch_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_paper_batch_service_point_id_service_point"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_paper_batch_unit_id_unit")),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], name=op.f("fk_paper_batch_wave_id_wave")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_batch")),
        sa.UniqueConstraint("code", name=op.f("uq_paper_batch_code")),
    )
    with op.batch_alter_table("paper_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_batch_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "paper_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=16), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("printed_by_id", sa.Integer(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(service_point_id IS NULL) <> (unit_id IS NULL)", name=op.f("ck_paper_form_one_psu")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["paper_batch.id"], name=op.f("fk_paper_form_batch_id_paper_batch")
        ),
        sa.ForeignKeyConstraint(
            ["printed_by_id"], ["user.id"], name=op.f("fk_paper_form_printed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["response.id"], name=op.f("fk_paper_form_response_id_response")
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_paper_form_service_point_id_service_point"),
        ),
        sa.ForeignKeyConstraint(
            ["settled_by_id"], ["user.id"], name=op.f("fk_paper_form_settled_by_id_user")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_paper_form_unit_id_unit")),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], name=op.f("fk_paper_form_wave_id_wave")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_form")),
        sa.UniqueConstraint("response_id", name=op.f("uq_paper_form_response_id")),
        sa.UniqueConstraint("serial", name=op.f("uq_paper_form_serial")),
    )
    with op.batch_alter_table("paper_form", schema=None) as batch_op:
        batch_op.create_index("ix_paper_form_batch_status", ["batch_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_paper_form_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "paper_pass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("typist_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number IN (1, 2)", name=op.f("ck_paper_pass_two_passes")),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["paper_form.id"],
            name=op.f("fk_paper_pass_form_id_paper_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["typist_id"], ["user.id"], name=op.f("fk_paper_pass_typist_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_pass")),
        sa.UniqueConstraint("form_id", "number", name="uq_paper_pass_form_number"),
        sa.UniqueConstraint("form_id", "typist_id", name="uq_paper_pass_form_typist"),
    )
    with op.batch_alter_table("paper_pass", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_pass_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_paper_pass_typist_id"), ["typist_id"], unique=False)

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.alter_column("service_point_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.alter_column("service_point_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("paper_pass", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_pass_typist_id"))
        batch_op.drop_index(batch_op.f("ix_paper_pass_completed_at"))

    op.drop_table("paper_pass")
    with op.batch_alter_table("paper_form", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_form_wave_id"))
        batch_op.drop_index("ix_paper_form_batch_status")

    op.drop_table("paper_form")
    with op.batch_alter_table("paper_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_batch_wave_id"))

    op.drop_table("paper_batch")
