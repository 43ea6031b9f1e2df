"""Integration tests against the real Moodle fixtures and the local database servers."""
