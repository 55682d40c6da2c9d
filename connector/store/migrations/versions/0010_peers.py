"""peers added at run time

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('peer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('dsp_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('bpn', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('claims', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('peer')
