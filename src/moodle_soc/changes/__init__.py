"""Change management from the site's own records: the change population of a period (settings,
plugins, core, config.php, roles), its matching to approved tickets, drift between two
environments, and the plugin inventory with its risks, advisories and support status.

Everything here judges values the site layer read (or states stored with earlier scans); it
runs no SQL itself and reads no files other than an approvals file it is given.
"""
