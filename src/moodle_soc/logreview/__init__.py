"""Audit-log review: a period of Moodle's standard log turned into the security review an
auditor expects (authentication, privileged activity, the log's own integrity, daily series).

The site layer pushes every aggregate down to the database and streams the few rows read one
by one; this package runs no SQL itself, it detects patterns in what it is handed and builds
the ``LogReview`` model.
"""
