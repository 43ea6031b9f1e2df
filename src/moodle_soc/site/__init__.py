"""Everything that knows Moodle's storage: tables, prefixes, config.php and log formats."""
