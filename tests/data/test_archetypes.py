"""The shipped archetype defaults (Moodle core's lib/db/access.php per branch) and the choice of
branch for a site."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from moodle_soc.data.archetypes import (
    ARCHETYPES,
    ArchetypeDefaults,
    archetype_defaults,
    defaults_for,
)
from moodle_soc.data.releases import branches

SCRIPT = Path(__file__).parents[2] / "scripts" / "extract_archetypes.py"
GUEST_PROHIBITS = {
    "moodle/user:changeownpassword",
    "moodle/user:editownmessageprofile",
    "moodle/user:editownprofile",
}


def test_every_branch_the_tool_supports_has_defaults_with_their_source() -> None:
    shipped = archetype_defaults()
    assert list(shipped) == list(branches())
    for label, defaults in shipped.items():
        source = defaults.source
        assert re.fullmatch(r"[0-9a-f]{40}", source.commit), label
        assert source.path in ("lib/db/access.php", "public/lib/db/access.php")
        assert re.match(rf"{re.escape(label)}[ .+]", source.release), source.release
        assert set(defaults.allow) == set(defaults.prohibit) == set(ARCHETYPES)
        for archetype in ARCHETYPES:
            assert defaults.allow[archetype] <= defaults.known, (label, archetype)
        assert defaults.prohibit["guest"] == GUEST_PROHIBITS, label


def test_the_defaults_follow_moodles_changes_between_branches() -> None:
    shipped = archetype_defaults()
    assert len(shipped["3.9"].known) == 238 and len(shipped["5.1"].known) == 270
    assert [len(shipped[b].allow["user"]) for b in ("3.9", "4.0", "4.5", "5.1")] == [40, 42, 46, 46]
    # moodle/site:senderrormessage arrived in 3.10, for every user.
    assert "moodle/site:senderrormessage" not in shipped["3.9"].known
    assert "moodle/site:senderrormessage" in shipped["3.10"].allow["user"]
    # 4.5 lets guests see profile pictures; 5.0 gives students the course overview.
    assert "moodle/user:viewprofilepictures" not in shipped["4.4"].allow["guest"]
    assert "moodle/user:viewprofilepictures" in shipped["4.5"].allow["guest"]
    assert "moodle/course:viewoverview" in shipped["5.0"].allow["student"]
    for defaults in shipped.values():
        assert not any(defaults.allows(a, "moodle/site:config") for a in ARCHETYPES)
        assert not defaults.allows("user", "moodle/site:viewuseridentity")
        assert defaults.allows("teacher", "moodle/site:viewuseridentity")
        assert defaults.allows("user", "moodle/user:changeownpassword")
        assert defaults.allow["frontpage"] == {"moodle/comment:view"}


@pytest.mark.parametrize(
    ("label", "used"),
    [("3.9", "3.9"), ("4.1", "4.1"), ("5.1", "5.1"), ("5.2", "5.1"), ("6.0", "5.1"), ("3.8", None)],
)
def test_a_site_gets_its_branch_else_the_nearest_earlier_one(label: str, used: str | None) -> None:
    found = defaults_for(label)
    assert (found.branch if found else None) == used


def test_a_cloned_capability_counts_as_granted_where_its_source_is() -> None:
    """An upgrade copies a new capability's permissions from its clonepermissionsfrom source."""
    base = defaults_for("5.1")
    assert base is not None
    defaults = ArchetypeDefaults(
        source=base.source,
        known=frozenset({"x/a:new", "x/a:old"}),
        allow={"student": frozenset({"x/a:old"})},
        prohibit={},
        clones={"x/a:new": "x/a:old", "x/a:loop": "x/a:loop"},
    )
    assert defaults.allows("student", "x/a:new") and not defaults.allows("teacher", "x/a:new")
    assert not defaults.allows("student", "x/a:loop")


def test_the_extraction_script_reads_moodles_php_arrays() -> None:
    spec = importlib.util.spec_from_file_location("extract_archetypes", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    php = """<?php
    defined('MOODLE_INTERNAL') || die();
    $capabilities = array(
        'moodle/site:config' => array(
            'riskbitmask' => RISK_CONFIG | RISK_XSS, // comment
            'captype' => 'write',
            'archetypes' => array()
        ),
        /* a block comment */
        'moodle/user:editownprofile' => [
            'captype' => 'write',
            'archetypes' => ['guest' => CAP_PROHIBIT, 'user' => CAP_ALLOW,],
            'clonepermissionsfrom' => 'moodle/user:editprofile',
        ],
        'moodle/old:legacy' => array('legacy' => array('student' => CAP_ALLOW)),
    );
    """
    caps = script.capabilities(php)
    assert caps["moodle/site:config"]["riskbitmask"] == ["RISK_CONFIG", "RISK_XSS"]
    found = script.defaults(caps)
    assert found["allow"]["user"] == ["moodle/user:editownprofile"]
    assert found["allow"]["student"] == ["moodle/old:legacy"]
    assert found["prohibit"]["guest"] == ["moodle/user:editownprofile"]
    assert found["clonepermissionsfrom"] == {
        "moodle/user:editownprofile": "moodle/user:editprofile"
    }
    assert found["known"]["capabilities"] == sorted(caps)
