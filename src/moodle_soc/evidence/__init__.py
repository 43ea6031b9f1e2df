"""The evidence locker: ``store`` (append-only, hash-chained records and their kinds),
``periods`` (Type II periods, populations, samples), ``package`` (the auditor's export) and
``oscal`` (OSCAL assessment results)."""
