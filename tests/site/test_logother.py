"""The log's ``other`` column decodes to the same Python value in both of Moodle's formats."""

from __future__ import annotations

import json
from typing import Any

import phpserialize
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodle_soc.site.logother import decode_other, login_failure_reason

# Real values copied from the fixtures' logstore_standard_log.other (ref_weak: JSON with a few
# serialized config_log rows; ref_legacy: serialized throughout).
REAL_SAMPLES = [
    pytest.param(
        '{"username":"nosuchuser3","reason":1}',
        {"username": "nosuchuser3", "reason": 1},
        id="weak_user_login_failed_json",
    ),
    pytest.param(
        'a:2:{s:8:"username";s:11:"noauth_user";s:6:"reason";i:3;}',
        {"username": "noauth_user", "reason": 3},
        id="legacy_user_login_failed_serialized",
    ),
    pytest.param(
        '{"capability":"moodle\\/site:viewuseridentity","oldpermission":"1","permission":1}',
        {"capability": "moodle/site:viewuseridentity", "oldpermission": "1", "permission": 1},
        id="weak_capability_assigned_json",
    ),
    pytest.param(
        '{"id":"190","component":"","itemid":"0"}',
        {"id": "190", "component": "", "itemid": "0"},
        id="weak_role_unassigned_json",
    ),
    pytest.param(
        '{"username":"tool_generator_000053","extrauserinfo":[]}',
        {"username": "tool_generator_000053", "extrauserinfo": []},
        id="weak_user_loggedin_json",
    ),
    pytest.param(
        'a:2:{s:8:"username";s:21:"tool_generator_000024";s:13:"extrauserinfo";a:0:{}}',
        {"username": "tool_generator_000024", "extrauserinfo": []},
        id="legacy_user_loggedin_serialized",
    ),
    pytest.param(
        '{"content":"<p>Message for discussion 2<\\/p>","pathnamehashes":[],"discussionid":4,'
        '"triggeredfrom":"forum_add_discussion"}',
        {
            "content": "<p>Message for discussion 2</p>",
            "pathnamehashes": [],
            "discussionid": 4,
            "triggeredfrom": "forum_add_discussion",
        },
        id="weak_assessable_uploaded_json",
    ),
    pytest.param(
        'a:4:{s:4:"name";s:11:"enablestats";s:8:"oldvalue";N;s:5:"value";s:1:"0";s:6:"plugin";N;}',
        {"name": "enablestats", "oldvalue": None, "value": "0", "plugin": None},
        id="weak_config_log_created_serialized",
    ),
    pytest.param(
        '{"name":"enablewebservices","oldvalue":"0","value":1,"plugin":null}',
        {"name": "enablewebservices", "oldvalue": "0", "value": 1, "plugin": None},
        id="weak_config_log_created_json",
    ),
    pytest.param(
        'a:4:{s:4:"name";s:14:"sessiontimeout";s:8:"oldvalue";s:5:"28800";s:5:"value";i:86400;'
        's:6:"plugin";N;}',
        {"name": "sessiontimeout", "oldvalue": "28800", "value": 86400, "plugin": None},
        id="legacy_config_log_created_serialized",
    ),
    pytest.param(
        'a:5:{s:6:"format";s:7:"moodle2";s:4:"mode";i:50;s:11:"interactive";b:0;s:4:"type";'
        's:6:"course";s:8:"backupid";s:32:"a108ea83d2786f47efce5ff6c8647d54";}',
        {
            "format": "moodle2",
            "mode": 50,
            "interactive": False,
            "type": "course",
            "backupid": "a108ea83d2786f47efce5ff6c8647d54",
        },
        id="legacy_course_backup_created_serialized",
    ),
    pytest.param("null", None, id="weak_empty_json"),
    pytest.param("N;", None, id="legacy_empty_serialized"),
]


@pytest.mark.parametrize(("raw", "expected"), REAL_SAMPLES)
def test_real_log_values_decode(raw: str, expected: Any):
    assert decode_other(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, None, id="sql_null"),
        pytest.param("", None, id="empty_string"),
        pytest.param('a:2:{i:0;s:1:"a";i:1;s:1:"b";}', ["a", "b"], id="sequential_array_is_list"),
        pytest.param('a:2:{i:1;s:1:"a";i:0;s:1:"b";}', {"1": "a", "0": "b"}, id="unordered_dict"),
        pytest.param('a:1:{i:5;s:1:"a";}', {"5": "a"}, id="int_keys_become_str"),
        pytest.param('a:1:{s:4:"name";s:7:"Zoë ü";}', {"name": "Zoë ü"}, id="byte_lengths"),
        pytest.param("d:0.5;", 0.5, id="float"),
        pytest.param("b:1;", True, id="bool"),
        pytest.param('s:3:"a;b";', "a;b", id="bare_string"),
        pytest.param(
            'O:8:"stdClass":3:{s:1:"a";i:1;s:4:"\0*\0b";i:2;s:6:"\0Foo\0c";a:0:{}}',
            {"a": 1, "b": 2, "c": []},
            id="object_becomes_dict",
        ),
        pytest.param(
            'a:1:{s:3:"obj";O:15:"core\\event\\base":1:{s:1:"x";N;}}',
            {"obj": {"x": None}},
            id="nested_object_of_any_class",
        ),
        pytest.param('"text"', "text", id="json_string"),
        pytest.param("[1,2]", [1, 2], id="json_list"),
    ],
)
def test_decoded_shapes(raw: str | None, expected: Any):
    assert decode_other(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('a:2:{s:8:"username";', id="truncated_serialized"),
        pytest.param('s:10:"short";', id="wrong_string_length"),
        pytest.param("i:1;trailing", id="trailing_text"),
        pytest.param("x:1;", id="unknown_opcode"),
        pytest.param('C:3:"Foo":0:{}', id="custom_serialized_class"),
        pytest.param("a:1:{a:0:{}i:1;}", id="array_as_key"),
        pytest.param("a:1:{" * 5000 + "i:0;N;" + "}" * 5000, id="deeply_nested"),
        pytest.param('{"a":', id="truncated_json"),
        pytest.param("NaN", id="json_nan"),
        pytest.param("N;x", id="almost_null"),
        pytest.param("garbage" * 20, id="garbage"),
    ],
)
def test_undecodable_values_raise_value_error_with_a_short_excerpt(raw: str):
    with pytest.raises(ValueError, match=r"^Cannot decode the log's other value") as caught:
        decode_other(raw)
    assert raw[40:] == "" or raw[40:] not in str(caught.value)


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        pytest.param(decode_other('{"username":"suspended_user","reason":2}'), 2, id="json_int"),
        pytest.param(
            decode_other('a:2:{s:8:"username";s:9:"driveby_2";s:6:"reason";i:3;}'),
            3,
            id="serialized_int",
        ),
        pytest.param({"username": "u", "reason": "4"}, 4, id="numeric_string"),
        pytest.param({"username": "u"}, None, id="no_reason"),
        pytest.param({"reason": True}, None, id="bool_is_not_a_reason"),
        pytest.param({"reason": "locked"}, None, id="non_numeric_string"),
        pytest.param(["reason"], None, id="not_a_dict"),
        pytest.param(None, None, id="empty_other"),
    ],
)
def test_login_failure_reason(other: Any, expected: int | None):
    assert login_failure_reason(other) == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children)
        | st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), children, min_size=1)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_both_formats_decode_to_the_same_value(value: Any):
    serialized = phpserialize.dumps(value).decode("utf-8")
    assert decode_other(serialized) == decode_other(json.dumps(value)) == value


@settings(max_examples=500, deadline=None)
@given(st.text() | st.from_regex(r"[aisbdNO]:[0-9]{0,3}[:;{].{0,30}", fullmatch=True))
def test_arbitrary_text_decodes_or_raises_value_error(raw: str):
    try:
        decode_other(raw)
    except ValueError as exc:
        assert str(exc).startswith("Cannot decode")
