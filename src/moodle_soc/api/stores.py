"""Open the evidence store: where it is, and who signs what is written to it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodle_soc.evidence.store.signing import Signer
    from moodle_soc.evidence.store.store import EvidenceStore


def store_location(configured: str | None = None) -> str:
    """$MOODLE_SOC_STORE, else ``configured`` (moodle-soc.yaml's ``store:``), else
    evidence.sqlite in the user data directory. An explicit location beats all of these."""
    from moodle_soc.evidence.store.store import default_location

    return default_location(configured)


def open_evidence_store(
    location: str | None = None,
    *,
    create: bool = False,
    signer: Signer | None = None,
    sign_key: Path | None = None,
) -> EvidenceStore:
    """The evidence store at ``location`` (a SQLite path or a postgresql:// URL; default
    ``store_location()``), usable as a context manager that closes it.

    Only callers that write evidence pass ``create=True``: opening a store that does not exist
    otherwise raises ``StoreError``. New records are signed with ``signer`` (or the Ed25519 key
    at ``sign_key``).
    """
    from moodle_soc.evidence.store.signing import load_signer
    from moodle_soc.evidence.store.store import open_store

    if signer is None and sign_key is not None:
        signer = load_signer(sign_key)
    return open_store(location, create=create, signer=signer)
