"""The evidence store's first schema: records, blobs, sites, keys, and append-only guards.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Refuse edits and deletes at the database itself: the only permitted change is retention
# clearing a payload while naming the seal record that accounts for it.
_SQLITE_GUARDS = (
    """CREATE TRIGGER evidence_records_no_delete BEFORE DELETE ON evidence_records
       BEGIN SELECT RAISE(ABORT, 'evidence records are append-only'); END""",
    """CREATE TRIGGER evidence_records_no_update BEFORE UPDATE ON evidence_records
       WHEN NOT (new.payload IS NULL AND new.pruned_by IS NOT NULL
                 AND new.record_hash = old.record_hash
                 AND new.content_sha256 = old.content_sha256
                 AND new.signature IS old.signature AND new.key_id IS old.key_id)
       BEGIN SELECT RAISE(ABORT, 'evidence records are append-only'); END""",
)
_POSTGRES_GUARDS = (
    """CREATE FUNCTION evidence_records_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'evidence records are append-only'; END IF;
         IF NOT (NEW.payload IS NULL AND NEW.pruned_by IS NOT NULL
                 AND NEW.record_hash = OLD.record_hash
                 AND NEW.content_sha256 = OLD.content_sha256
                 AND NEW.signature IS NOT DISTINCT FROM OLD.signature
                 AND NEW.key_id IS NOT DISTINCT FROM OLD.key_id) THEN
           RAISE EXCEPTION 'evidence records are append-only';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER evidence_records_guard BEFORE UPDATE OR DELETE ON evidence_records
       FOR EACH ROW EXECUTE FUNCTION evidence_records_guard()""",
    # TRUNCATE fires no row trigger: refuse it with a statement trigger.
    """CREATE FUNCTION evidence_records_no_truncate() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'evidence records are append-only'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER evidence_records_no_truncate BEFORE TRUNCATE ON evidence_records
       FOR EACH STATEMENT EXECUTE FUNCTION evidence_records_no_truncate()""",
)


def upgrade() -> None:
    op.create_table(
        "evidence_records",
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
    )
    op.create_index(
        "ix_evidence_site_kind", "evidence_records", ["site_key", "kind", "collected_at"]
    )
    op.create_table(
        "evidence_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "evidence_sites",
        sa.Column("site_key", sa.String(300), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("wwwroot", sa.Text, nullable=True),
    )
    op.create_table(
        "evidence_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    guards = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(dialect, ())
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("The evidence store is never downgraded: evidence is kept.")
