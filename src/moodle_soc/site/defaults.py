"""Moodle's install defaults for the settings the checks read (Moodle 5.1 admin tree).

Used only when a site has no row for a setting (it was never saved): the value Moodle itself
would then apply. Keys are (plugin, name) with plugin ``core`` for the ``config`` table.
"""

from __future__ import annotations

_CORE = {
    "passwordpolicy": "1",
    "minpasswordlength": "8",
    "minpassworddigits": "1",
    "minpasswordlower": "1",
    "minpasswordupper": "1",
    "minpasswordnonalphanum": "1",
    "maxconsecutiveidentchars": "0",
    "passwordreuselimit": "0",
    "lockoutthreshold": "0",
    "lockoutwindow": "1800",
    "lockoutduration": "1800",
    "protectusernames": "1",
    "forcelogin": "0",
    "forceloginforprofiles": "1",
    "opentowebcrawlers": "0",
    "allowobjectembed": "0",
    "emailchangeconfirmation": "1",
    "allowemailaddresses": "",
    "cronclionly": "1",
    "cronremotepassword": "",
    "auth": "",
    "registerauth": "",
    "guestloginbutton": "1",
    "autologinguests": "0",
    "sessiontimeout": "28800",
    "cookiesecure": "1",
    "allowframembedding": "0",
    "debug": "0",
    "debugdisplay": "0",
    "themedesignermode": "0",
    "cachejs": "1",
    "enablestats": "0",
    "enablewebservices": "0",
    "webserviceprotocols": "",
    "enablemobilewebservice": "0",
    "antiviruses": "",
    "sitepolicyhandler": "",
    "sitepolicy": "",
    "passwordchangelogout": "1",
}
_PLUGINS = {
    ("tool_log", "enabled_stores"): "logstore_standard",
    ("logstore_standard", "loglifetime"): "0",
    ("logstore_standard", "logguests"): "1",
    ("backup", "backup_auto_active"): "0",
    ("backup", "backup_auto_storage"): "0",
    ("tool_mfa", "enabled"): "0",
    ("factor_email", "enabled"): "1",
    ("tool_dataprivacy", "contactdataprotectionofficer"): "0",
    ("tool_dataprivacy", "automaticdatadeletionapproval"): "0",
    ("antivirus", "threshold"): "1200",
}

DEFAULTS: dict[tuple[str, str], str] = {("core", k): v for k, v in _CORE.items()} | _PLUGINS
