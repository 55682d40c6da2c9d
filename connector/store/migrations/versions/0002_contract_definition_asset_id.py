"""contract_definition.asset_id: the indexed asset of an ``id = X`` selector

The model (and the catalog's lookup by asset) has had this column since the first schema, but
0001 left it out, so a migrated database lacked it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:00:00
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contract_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asset_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True))
        batch_op.create_index(batch_op.f('ix_contract_definition_asset_id'), ['asset_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contract_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_definition_asset_id'))
        batch_op.drop_column('asset_id')
