"""Which Moodle settings hold secrets, so their values never leave the site layer.

Moodle's own list is ``adminpresets/sensiblesettings``; this predicate covers it and the
password, salt, token and private-key settings of common plugins, while keeping the policy
settings that merely mention a password (``passwordpolicy``, ``minpasswordlength``) readable.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "********"

_SECRET_NAME = re.compile(
    r"(pass|password|passwd|_pw|secret|salt|saltmain|saltalt\d*|peppers|privatekey|private_key"
    r"|apikey|api_key|accesstoken|access_token|token|keypassword|upgradekey|auth)$"
    r"|secret|privatekey|private_key",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset(
    {
        "registerauth",
        "auth",
        "alternateloginurl",
        "authloginviaemail",
        "autologinguests",
        "goodauth",
        "webserviceprotocols",
    }
)


# Moodle's own adminpresets/sensiblesettings names that the pattern does not catch.
_SENSIBLE = frozenset({"googlemapkey3", "smtpuser", "airnotifieraccesskey", "openssl"})


def is_secret_setting(name: str) -> bool:
    """True when a setting (core, plugin or config.php key) may hold a secret value."""
    lowered = name.lower()
    if lowered in _NOT_SECRET:
        return False
    return lowered in _SENSIBLE or bool(_SECRET_NAME.search(name))


def mask(name: str, value: Any) -> Any:
    """The value itself, or a fixed mask when the setting is secret and non-empty."""
    # '0'/'1' are switches that happen to have secret-like names (usepassword, requirepassword):
    # they reveal nothing, and masking them would turn an off switch on.
    if is_secret_setting(name) and value not in (None, "", 0, False, "0", "1"):
        return MASK
    if isinstance(value, dict):
        return {key: mask(str(key), item) for key, item in value.items()}
    return value
