"""Gaia-X credentials (our label and the credentials it covers)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gaiax_credential',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('jwt', sa.Text(), nullable=False),
    sa.Column('valid_until', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_gaiax_credential_kind'), 'gaiax_credential', ['kind'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gaiax_credential_kind'), table_name='gaiax_credential')
    op.drop_table('gaiax_credential')
