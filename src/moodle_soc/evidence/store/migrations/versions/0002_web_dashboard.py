"""The web dashboard's tables: its users, their sessions, and its own append-only audit log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Who did what in the dashboard is evidence of its own: refuse edits and deletes at the database.
_SQLITE_GUARDS = (
    """CREATE TRIGGER web_audit_no_delete BEFORE DELETE ON web_audit
       BEGIN SELECT RAISE(ABORT, 'the dashboard audit log is append-only'); END""",
    """CREATE TRIGGER web_audit_no_update BEFORE UPDATE ON web_audit
       BEGIN SELECT RAISE(ABORT, 'the dashboard audit log is append-only'); END""",
)
_POSTGRES_GUARDS = (
    """CREATE FUNCTION web_audit_guard() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the dashboard audit log is append-only'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER web_audit_guard BEFORE UPDATE OR DELETE ON web_audit
       FOR EACH ROW EXECUTE FUNCTION web_audit_guard()""",
    """CREATE TRIGGER web_audit_no_truncate BEFORE TRUNCATE ON web_audit
       FOR EACH STATEMENT EXECUTE FUNCTION web_audit_guard()""",
)


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("username", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("sites", sa.Text, nullable=False),
        sa.Column("period_start", sa.String(10), nullable=True),
        sa.Column("period_end", sa.String(10), nullable=True),
        sa.Column("expires", sa.String(10), nullable=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(40), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("password_changed_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_web_sessions_username", "web_sessions", ["username"])
    op.create_table(
        "web_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    guards = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect, ())
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("The evidence store is never downgraded: evidence is kept.")
