"""the shared jti replay cache of DCP tokens

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('used_token_id',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index('ix_used_token_id_expires_at', 'used_token_id', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_used_token_id_expires_at', table_name='used_token_id')
    op.drop_table('used_token_id')
