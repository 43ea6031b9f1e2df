"""Regenerate ``src/moodle_soc/site/setting_versions.yaml`` from Moodle source trees.

For every setting the checks read or fix, and every branch 3.9–5.1, it records whether Moodle's
admin tree declares the setting, the default the installer applies, and the admin settings page
(``admin/settings.php?section=<section>``) that shows it. Moodle declares them in
``admin/settings/*.php`` and each plugin's ``settings.php`` as ``new admin_setting_*('name' or
'plugin/name', title, description, default, ...)`` inside ``new admin_settingpage('section',
...)``.

Usage (each SNAPSHOT is ``branch=git_dir@commit``, oldest first)::

    python scripts/build_setting_versions.py 3.9=/path/moodle.git@500c131e ... > out.yaml

Declarations the script cannot read (a default computed in PHP, a setting made by a special
class) are taken from ``MANUAL`` below, each with the file that shows it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_webservice_functions import Snapshot, _closing_bracket, _git, _show, _skip_string

#: (plugin, name) of the settings moodle-soc reads or tells the user to set.
SETTINGS: tuple[tuple[str, str], ...] = (
    *(("core", n) for n in (
        "allowemailaddresses", "allowframembedding", "allowobjectembed", "antiviruses", "auth",
        "autologinguests", "cachejs", "cookiehttponly", "cookiesecure", "cronclionly",
        "cronremotepassword", "debug", "debugdisplay", "emailchangeconfirmation",
        "enablemobilewebservice", "enablestats", "enablewebservices", "forcelogin",
        "forceloginforprofiles", "guestloginbutton", "lockoutduration", "lockoutthreshold",
        "lockoutwindow", "maxconsecutiveidentchars", "minpassworddigits", "minpasswordlength",
        "minpasswordlower", "minpasswordnonalphanum", "minpasswordupper", "opentowebcrawlers",
        "passwordchangelogout", "passwordpolicy", "passwordreuselimit", "protectusernames",
        "registerauth", "sessiontimeout", "sitepolicy", "sitepolicyhandler", "themedesignermode",
        "webserviceprotocols",
    )),
    ("antivirus", "threshold"),
    ("backup", "backup_auto_active"),
    ("backup", "backup_auto_storage"),
    ("backup", "backup_auto_weekdays"),
    ("factor_email", "enabled"),
    ("logstore_standard", "logguests"),
    ("logstore_standard", "loglifetime"),
    ("tool_dataprivacy", "automaticdatadeletionapproval"),
    ("tool_dataprivacy", "contactdataprotectionofficer"),
    ("tool_log", "enabled_stores"),
    ("tool_mfa", "enabled"),
)  # fmt: skip

#: Settings made by special admin classes (no literal name): (plugin, name) → (section, default,
#: the file that shows it). Checked by hand in the same trees.
MANUAL: dict[tuple[str, str], tuple[str, str | None, str]] = {
    ("core", "auth"): (
        "manageauths",
        "email",
        "lib/db/install.php $defaults: 'auth' => 'email' (shown by admin_setting_manageauths)",
    ),
    ("core", "debug"): (
        "debugging",
        "0",
        "admin/settings/development.php: admin_setting_special_debug (default DEBUG_NONE, 0)",
    ),
    ("core", "enablemobilewebservice"): (
        "optionalsubsystems",
        None,
        "admin/tool/mobile/settings.php: default is_https() ? 1 : 0 (unknown from the database)",
    ),
    ("core", "registerauth"): (
        "manageauths",
        "",
        "admin/settings/plugins.php: admin_setting_special_registerauth (default '')",
    ),
    ("core", "antiviruses"): (
        "manageantiviruses",
        "",
        "admin/settings/plugins.php: admin_setting_manageantiviruses",
    ),
    ("core", "webserviceprotocols"): (
        "webserviceprotocols",
        "",
        "admin/settings/plugins.php: admin_setting_managewebserviceprotocols",
    ),
    ("core", "sitepolicyhandler"): (
        "policysettings",
        "",
        "admin/settings/users.php: admin_settings_sitepolicy_handler_select (default '')",
    ),
    ("backup", "backup_auto_weekdays"): (
        "automated",
        "0000000",
        "admin/settings/courses.php: admin_setting_special_backupdays (default '0000000')",
    ),
    ("tool_log", "enabled_stores"): (
        "managelogging",
        "logstore_standard",
        "admin/tool/log/db/install.php sets tool_log/enabled_stores to 'logstore_standard'",
    ),
}

DECLARATION = re.compile(r"new\s+(admin_settings?_\w+)\s*\(\s*'([a-z0-9_]+(?:/[a-z0-9_]+)?)'")
ADDED_HERE = re.compile(r"(\$\w+)->add\(\s*$")
ADDED_LATER = re.compile(r"(\$\w+)->add\(\s*\$\w+\s*\)")
#: ``$var = new admin_settingpage('section'`` or ``$var = $ADMIN->locate('section')``.
PAGE = re.compile(
    r"(\$\w+)\s*=\s*(?:new\s+admin_settingpage\s*\(|\$ADMIN->locate\()\s*'([a-z0-9_]+)'"
)
#: The page a plugin's settings.php fills as ``$settings`` (its plugininfo's section name).
PLUGIN_PAGES = {
    "admin/tool/log/store/": "logsetting{name}",  # tool_log\plugininfo\logstore
    "admin/tool/mfa/factor/": "factor_{name}",  # tool_mfa\plugininfo\factor (4.3+)
}
CONSTANTS = {"MINSECS": 60, "HOURSECS": 3600, "DAYSECS": 86400, "WEEKSECS": 604800}


def _arguments(php: str, open_at: int) -> list[str]:
    """The top-level arguments of the call whose '(' is at ``open_at``."""
    close = _closing_bracket(php, open_at)
    args, depth, start, index = [], 0, open_at + 1, open_at + 1
    while index < close - 1:
        char = php[index]
        if char in "'\"":
            index = _skip_string(php, index)
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            args.append(php[start:index].strip())
            start = index + 1
        index += 1
    args.append(php[start : close - 1].strip())
    return args


def _literal(expression: str) -> str | None:
    """A PHP default as Moodle stores it: '1'/'0' for booleans, numbers as text."""
    text = expression.strip()
    if text in ("true", "false"):
        return "1" if text == "true" else "0"
    if text == "null":
        return None
    if re.fullmatch(r"'[^']*'|\"[^\"]*\"", text):
        return text[1:-1]
    product = text
    for name, value in CONSTANTS.items():
        product = re.sub(rf"\b{name}\b", str(value), product)
    if re.fullmatch(r"[\d\s*]+", product):
        result = 1
        for factor in product.split("*"):
            result *= int(factor)
        return str(result)
    raise ValueError(f"default {text!r} is not a literal")


def declarations(snapshot: Snapshot) -> dict[tuple[str, str], dict[str, str | None]]:
    """Every literal admin setting declaration: (plugin, name) → section, default, file."""
    paths = _git(snapshot, "ls-tree", "-r", "--name-only", snapshot.commit).splitlines()
    files = [
        p
        for p in paths
        if re.search(r"(^|/)admin/settings/[a-z_]+\.php$", p) or p.endswith("/settings.php")
    ]
    found: dict[tuple[str, str], dict[str, str | None]] = {}
    wanted = set(SETTINGS)
    texts = {path: _show(snapshot, path) for path in files if "/tests/" not in path}
    # Pages made in one admin/settings file and filled in another ($optionalsubsystems).
    shared = {
        var: section
        for path, php in texts.items()
        if "admin/settings/" in path
        for var, section in PAGE.findall(php)
    }
    for path, php in texts.items():
        for match in DECLARATION.finditer(php):
            # The page variable: "$temp->add(new admin_setting_...", or "$setting = new ...;"
            # followed by "$temp->add($setting)".
            here = ADDED_HERE.search(php, max(0, match.start() - 80), match.start())
            later = ADDED_LATER.search(php, match.end())
            variable = here.group(1) if here else later.group(1) if later else ""
            plugin, _, name = match.group(2).rpartition("/")
            key = (plugin or "core", name)
            if key not in wanted or key in found:
                continue
            local = [sec for var, sec in PAGE.findall(php, 0, match.start()) if var == variable]
            section = local[-1] if local else None
            if section is None and variable not in ("$temp", "$settings", "$page"):
                section = shared.get(variable)
            if section is None and variable == "$settings":
                plugin_dir = path.removeprefix("public/").removesuffix("/settings.php")
                for parent, pattern in PLUGIN_PAGES.items():
                    if plugin_dir.startswith(parent):
                        section = pattern.format(name=plugin_dir.rpartition("/")[2])
            args = _arguments(php, php.index("(", match.start()))
            try:
                default = _literal(args[3]) if len(args) > 3 else None
            except ValueError:
                default = f"php: {args[3]}"  # computed at install; read by hand
            found[key] = {
                "section": section,
                "default": default,
                "file": path.removeprefix("public/"),
            }
    return found


def build(snapshots: list[Snapshot]) -> dict[str, object]:
    settings: dict[str, list[dict[str, object]]] = {}
    for plugin, name in SETTINGS:
        label = name if plugin == "core" else f"{plugin}/{name}"
        settings[label] = []
    for snapshot in snapshots:
        seen = declarations(snapshot)
        for plugin, name in SETTINGS:
            label = name if plugin == "core" else f"{plugin}/{name}"
            entry: dict[str, object]
            if (plugin, name) in MANUAL:
                section, default, shown = MANUAL[(plugin, name)]
                entry = {"section": section, "default": default, "source": shown}
            elif (plugin, name) in seen:
                found = seen[(plugin, name)]
                entry = {
                    "section": found["section"],
                    "default": found["default"],
                    "source": found["file"],
                }
            else:
                continue  # not declared on this branch
            history = settings[label]
            if history and {k: history[-1][k] for k in entry} == entry:
                history[-1]["until"] = snapshot.branch
            else:
                history.append({"from": snapshot.branch, "until": snapshot.branch} | entry)
    return {
        "description": (
            "Per setting the checks read or fix: the branches that declare it, the installer's"
            " default and the admin settings page (admin/settings.php?section=...) that shows"
            " it. Each entry holds from one branch until another, inclusive; a branch outside"
            " every entry does not have the setting."
        ),
        "sources": [
            {"branch": s.branch, "repository": s.repository, "commit": s.commit} for s in snapshots
        ],
        "settings": settings,
    }


def main(argv: list[str]) -> None:
    snapshots = []
    for spec in argv:
        branch, _, rest = spec.partition("=")
        git_dir, _, commit = rest.rpartition("@")
        full = subprocess.run(
            ["git", "--git-dir", git_dir, "rev-parse", commit],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        repository = Path(git_dir).parent.name.replace("+", "/")
        snapshots.append(Snapshot(branch, git_dir, full, repository))
    header = "# Generated by scripts/build_setting_versions.py; see ../data/README.md\n"
    sys.stdout.write(header + yaml.safe_dump(build(snapshots), sort_keys=False, width=100))


if __name__ == "__main__":
    main(sys.argv[1:])
