"""The shipped function types: read from Moodle's db/services.php of every branch 3.9–5.1."""

from __future__ import annotations

import yaml

from moodle_soc.data import data_file
from moodle_soc.data.webservice_functions import function_types


def test_core_functions_carry_the_type_moodle_declares():
    types = function_types()
    assert types["core_user_create_users"] == "write"
    assert types["core_role_assign_roles"] == "write"
    assert types["enrol_manual_enrol_users"] == "write"
    assert types["core_user_get_users"] == "read"
    assert types["core_webservice_get_site_info"] == "read"
    assert "local_acme_purge" not in types  # a plugin outside the standard set is unknown
    assert len(types) > 750 and set(types.values()) == {"read", "write"}


def test_every_branch_names_its_source_tree():
    loaded = yaml.safe_load(data_file("webservice_functions.yaml").read_text(encoding="utf-8"))
    branches = [s["branch"] for s in loaded["sources"]]
    assert branches == [
        "3.9",
        "3.10",
        "3.11",
        "4.0",
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "4.5",
        "5.0",
        "5.1",
    ]
    assert all(len(s["commit"]) == 40 and "/" in s["repository"] for s in loaded["sources"])
