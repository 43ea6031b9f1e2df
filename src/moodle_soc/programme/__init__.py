"""The readiness programme: audit scope, manual controls, risk exceptions and remediation,
kept as records in the evidence store next to the automated evidence."""
