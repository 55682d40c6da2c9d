"""part twins: the Digital Twin Registry and served submodels

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('part_twin',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('global_key', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('descriptor', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('global_key')
    )
    op.create_table('twin_asset_id',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('twin_id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('twin_asset_id', schema=None) as batch_op:
        batch_op.create_index('ix_twin_asset_id_name_value', ['name', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_twin_asset_id_twin_id'), ['twin_id'], unique=False)
    op.create_table('twin_submodel',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('twin_id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('semantic_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('descriptor', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('payload', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('twin_submodel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_twin_submodel_twin_id'), ['twin_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('twin_submodel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_twin_submodel_twin_id'))
    op.drop_table('twin_submodel')
    with op.batch_alter_table('twin_asset_id', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_twin_asset_id_twin_id'))
        batch_op.drop_index('ix_twin_asset_id_name_value')
    op.drop_table('twin_asset_id')
    op.drop_table('part_twin')
