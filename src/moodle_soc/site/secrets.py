"""The one secrets policy: which Moodle settings hold secrets, and how their values are masked.

Every path a setting's value can leave the site layer by goes through here: the ``config`` and
``config_plugins`` tables (``settings.py``), config.php and its ``forced_plugin_settings``
(``phpconfig``), and the old and new values in ``config_log`` (``populations.py``). So a name
gets the same verdict wherever it is stored.

What is secret, by the last word of the name: ``pass``/``password``/``passwd``/``_pw``,
``secret``, ``salt``/``saltmain``/``saltalt<n>``, ``peppers``, ``key`` (API, licence, private,
upgrade and enrolment keys), ``token`` and ``auth`` (``session_redis_auth``); and any name
containing ``secret`` or ``privatekey``. This covers Moodle's own list
(``adminpresets/sensiblesettings``) and the credentials of common plugins, while policy
settings that merely mention a password or token (``passwordpolicy``, ``minpasswordlength``,
``tokenduration``) stay readable because the word is not their last.

Decisions where the earlier two predicates disagreed, and why:

* ``smtpuser`` is secret. A user name is usually not, but SMTP relays use API credentials as
  the user name (Postmark's server token, Mailjet's API key, an SES access key id), and Moodle
  lists it among its sensible settings. Other user names (``dbuser``, ``proxyuser``) stay
  visible: they name accounts, and the database user appears in every report's connection.
* ``openssl`` is secret: MNet stores its certificate *and private key* there
  (``set_config('openssl', cert@@@@@@@@key, 'mnet')``).
* ``enrolmentkey`` is secret: a course enrolment key is the password that lets anyone enrol.
  So is every other name ending in ``key`` except public ones (below).
* ``forgottenpasswordurl`` (and ``changepasswordurl``) are not secret: they are URLs that
  mention a password.
* ``session_memcached_*`` settings are not secret: they are server addresses, like ``dbhost``.

Names that end like a secret but hold none: public keys (``recaptchapublickey``), switches
(``requirepassword``, ``groupkey``), the enabled authentication plugins (``auth``,
``registerauth``), a host list (``proxybypass``) and a column name (``fieldpass``).

An empty value stays visible (``no upgrade key is set`` is evidence), and so does a switch
value (0/1, true/false): it reveals nothing, and masking an off switch would show it as set.
"""

from __future__ import annotations

import re
from typing import Any

from moodle_soc.safety import SECRET_MASK

MASK = SECRET_MASK  # one mask text everywhere (safety.py)

_SECRET_NAME = re.compile(
    r"(pass|password|passwd|_pw|secret|salt|saltmain|saltalt\d*|peppers|key|token|auth)$"
    r"|secret|privatekey|private_key",
    re.IGNORECASE,
)
# Moodle's own sensible settings whose last word does not say so.
_SECRET_NAMES = frozenset({"googlemapkey3", "smtpuser", "openssl"})
_NOT_SECRET = frozenset(
    {
        "auth",  # comma-separated enabled authentication plugins
        "registerauth",  # the self-registration plugin
        "goodauth",
        "proxybypass",  # hosts reached without the proxy
        "fieldpass",  # auth_db: the *name* of the external password column
        "requirepassword",  # enrol_self switch
        "groupkey",  # enrol_self switch: use group enrolment keys
    }
)
_PUBLIC = ("publickey", "public_key")
_SWITCH_VALUES = ("0", "1")


def is_secret_setting(name: str) -> bool:
    """True when a setting (core, plugin, config.php key or array key) may hold a secret."""
    lowered = name.lower()
    if lowered in _NOT_SECRET or lowered.endswith(_PUBLIC):
        return False
    return lowered in _SECRET_NAMES or bool(_SECRET_NAME.search(lowered))


def reveals(value: Any) -> bool:
    """Whether showing ``value`` of a secret setting would reveal anything: not when it is
    empty or a switch (0/1, true/false)."""
    if value is None or value == "" or isinstance(value, bool):
        return False
    if type(value) is int:
        return value not in (0, 1)
    return not (isinstance(value, str) and value in _SWITCH_VALUES)


def mask(name: str, value: Any) -> Any:
    """The value itself, or ``MASK`` when the setting is secret and the value reveals something;
    arrays are masked item by item (a list's items by the name that holds it)."""
    if is_secret_setting(name) and reveals(value):
        return MASK
    if isinstance(value, dict):
        return {key: mask(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(name, item) for item in value]
    return value
