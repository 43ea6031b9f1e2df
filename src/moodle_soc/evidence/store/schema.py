"""Tables of the evidence store. Changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per evidence record. ``payload`` is the canonical JSON whose SHA-256 is
# ``content_sha256``; ``record_hash`` covers the header and chains to ``prev_hash``.
records = sa.Table(
    "evidence_records",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_key", sa.String(300), nullable=False),
    sa.Column("chain_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("collected_at", sa.String(40), nullable=False),
    sa.Column("effective_date", sa.String(10), nullable=True),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("record_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("signature", sa.Text, nullable=True),
    sa.Column("key_id", sa.String(32), nullable=True),
    sa.Column("pruned_by", sa.String(64), nullable=True),
    sa.UniqueConstraint("site_key", "chain_index", name="uq_evidence_chain_position"),
    sa.Index("ix_evidence_site_kind", "site_key", "kind", "collected_at"),
)

# Attachment bytes, addressed by their SHA-256 (stored once however often attached).
blobs = sa.Table(
    "evidence_blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Sites seen, for listing; not evidence itself (the records carry the site in their payload).
sites = sa.Table(
    "evidence_sites",
    metadata,
    sa.Column("site_key", sa.String(300), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("wwwroot", sa.Text, nullable=True),
)

# Public keys of every signer, so verification works without the private key.
keys = sa.Table(
    "evidence_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("added_at", sa.String(40), nullable=False),
)

# The web dashboard (migration 0002): its users, their sessions, and its append-only audit log.
# ``sites`` is a comma-separated list of site keys ("" = every site); dates are ISO days.
web_users = sa.Table(
    "web_users",
    metadata,
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

# A session is found by the SHA-256 of its cookie: the store never holds a usable token.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Index("ix_web_sessions_username", "username"),
)

web_audit = sa.Table(
    "web_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("client", sa.String(100), nullable=False),
)
