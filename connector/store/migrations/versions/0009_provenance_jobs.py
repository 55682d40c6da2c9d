"""provenance traversal jobs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

In this branch it follows 0008 (part twins, the same issue); the lead re-chains at merge.
"""
import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes  # AutoString: the submodule is imported by name for the type checker
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provenance_job',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('global_asset_id', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('bpn', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('parameter', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('result', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('summary', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('exception', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('lease_until', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('deadline_at', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=True),
    sa.Column('completed_at', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('provenance_job', schema=None) as batch_op:
        batch_op.create_index('ix_provenance_job_due', ['state', 'lease_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('provenance_job', schema=None) as batch_op:
        batch_op.drop_index('ix_provenance_job_due')
    op.drop_table('provenance_job')
