"""NIST OSCAL assessment results for a period."""
