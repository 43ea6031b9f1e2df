"""The fleet: many Moodle sites scanned on a schedule, locally or on Celery workers.

A face over the core API (``moodle_soc.api``), above it and below the CLI: ``inventory`` reads
sites.yaml; ``scanning`` scans one site through ``api.scan_site`` and says how it went;
``local`` runs N worker processes with per-site wall-clock limits; ``celery_app`` runs the same
scan as Celery tasks; ``runs`` tags fleet runs and stores each request once; ``monitor``,
``alerting``, ``state`` and ``notify`` schedule scans and send de-duplicated alerts; ``report``
draws the fleet at a glance; ``tenancy`` keeps each client's evidence apart. docs/fleet.md
documents it.
"""
