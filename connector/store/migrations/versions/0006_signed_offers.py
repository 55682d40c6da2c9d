"""signed offers: the provider's offer proofs, the consumer's signed offers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('offer_proof',
    sa.Column('offer_id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('asset_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('verification_method', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('cryptosuite', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('proof', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('offer_id')
    )
    op.create_index(op.f('ix_offer_proof_asset_id'), 'offer_proof', ['asset_id'], unique=False)
    op.create_table('signed_offer',
    sa.Column('negotiation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('offer_id', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('provider_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('document', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('negotiation_id')
    )


def downgrade() -> None:
    op.drop_table('signed_offer')
    op.drop_index(op.f('ix_offer_proof_asset_id'), table_name='offer_proof')
    op.drop_table('offer_proof')
