"""The evidence locker: an append-only, hash-chained record of runs, attachments and reviews."""

from moodle_soc.evidence.store import EvidenceStore, SiteRef, StoredRecord, open_store

__all__ = ["EvidenceStore", "SiteRef", "StoredRecord", "open_store"]
