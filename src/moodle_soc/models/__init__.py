"""Models: the plain data every layer shares (a scan run, evidence records, access entries,
review campaigns, period views). They import nothing above the ground layer."""
