"""accounts: member sign-in state, sign-in attempts, sessions

- ``member_accounts``: per member, a temporary password flag, when the password
  last changed, and ``removed_at`` (a removed member keeps their work).
- ``sign_in_attempts``: every try, read by rate limiting and lock-out, so the
  limits hold across app instances.
- ``session_tokens``: browser and CLI sessions; only SHA-256 hashes of their
  secrets are stored.

New tables only: nothing existing is rebuilt, so SQLite needs no batch mode.
Existing projects keep their mode (local mode for every project made before
accounts existed); a lead turns it off once they have set a password.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_accounts",
        sa.Column("coder_id", sa.String(length=36), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["coder_id"], ["coders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("coder_id"),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("coder_id", sa.String(length=36), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=5), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('ok', 'fail', 'reset')", name="sign_in_outcome"),
        sa.ForeignKeyConstraint(["coder_id"], ["coders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_attempts_coder_at", "sign_in_attempts", ["coder_id", "at"])
    op.create_index("ix_sign_in_attempts_source_at", "sign_in_attempts", ["source", "at"])
    op.create_table(
        "session_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("coder_id", sa.String(length=36), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("grant_hash", sa.String(length=64), nullable=True),
        sa.Column("grant_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["coder_id"], ["coders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grant_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_session_tokens_coder_id", "session_tokens", ["coder_id"])


def downgrade() -> None:
    op.drop_index("ix_session_tokens_coder_id", table_name="session_tokens")
    op.drop_table("session_tokens")
    op.drop_index("ix_sign_in_attempts_source_at", table_name="sign_in_attempts")
    op.drop_index("ix_sign_in_attempts_coder_at", table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
    op.drop_table("member_accounts")
