"""Read Moodle's config.php without running PHP.

config.php settings override the database (moodle-facts §6.3), so the audit needs them, but
executing an arbitrary PHP file would break the tool's read-only promise. The file is lexed
(``lexer``) and only literal ``$CFG->name = ...;`` assignments are evaluated (``expressions``,
``statements``); anything computed at runtime becomes ``Unknown`` and any other statement is
recorded, never evaluated. ``files`` reads a config.php from disk (regular files of a bounded
size only) and follows Moodle 5.1's ``public/config.php`` loader.
"""

from __future__ import annotations

from moodle_soc.site.phpconfig.files import load_config_php
from moodle_soc.site.phpconfig.statements import parse_config_php
from moodle_soc.site.phpconfig.values import (
    DynamicStatement,
    PhpConfig,
    Unknown,
    redacted,
    redacted_values,
)

__all__ = [
    "DynamicStatement",
    "PhpConfig",
    "Unknown",
    "load_config_php",
    "parse_config_php",
    "redacted",
    "redacted_values",
]
