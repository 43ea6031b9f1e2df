"""The evidence store and its chain: records, record kinds, signing, verification, retention.

Import from the modules (this package imports nothing, so hashing code stays light to load):
``store`` (``open_store``, ``EvidenceStore``, ``StoreError``, ``default_location``), ``kinds``
(one handler per ``RecordKind``: ``HANDLERS``, ``handler_for``, ``describe``), ``verify``
(``verify_store``, ``VerifyReport``), ``runs``, ``attachments``, ``retention``, ``signing``,
``canonical``; ``engine`` and ``rows`` are the store's own plumbing.
"""
