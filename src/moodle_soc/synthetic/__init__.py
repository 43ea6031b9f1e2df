"""The project's own synthetic Moodle site: tiny ones for check tests, Acme Academy for demos.

``SiteBuilder`` starts from a fresh Moodle install and adds exactly the records a test needs;
``build_acme()`` assembles the demo site with its documented weaknesses. Both write into
SQLite, PostgreSQL or MariaDB with Moodle's real table and column names.
"""

from .acme import ACME_STRENGTHS, ACME_WEAKNESSES, ACME_WWWROOT, build_acme
from .builder import SYSTEM_CONTEXT, SiteBuilder
from .events import encode_other, event_row
from .install import RELEASES
from .schema import SECRET_COLUMNS, moodle_metadata

__all__ = [
    "ACME_STRENGTHS",
    "ACME_WEAKNESSES",
    "ACME_WWWROOT",
    "RELEASES",
    "SECRET_COLUMNS",
    "SYSTEM_CONTEXT",
    "SiteBuilder",
    "build_acme",
    "encode_other",
    "event_row",
    "moodle_metadata",
]
