"""Access-review campaigns as evidence: start, review files, decisions, sign-off, follow-ups."""
