"""Type II periods: per-control day timelines, finding histories, populations and samples."""
