"""Rows of ``logstore_standard_log`` built the way Moodle's event system writes them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import phpserialize

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["EventFields", "OtherFormat", "encode_other", "event_row"]

OtherFormat = Literal["json", "php"]


def encode_other(other: Any, fmt: OtherFormat = "json") -> str:
    """Encode `other` as logstore_standard does: ``json_encode`` or PHP ``serialize`` (§4.3)."""
    if fmt == "php":
        encoded: bytes = phpserialize.dumps(other)
        return encoded.decode("utf-8")
    # PHP's json_encode escapes slashes and non-ASCII by default.
    return json.dumps(other, separators=(",", ":")).replace("/", "\\/")


class EventFields(TypedDict, total=False):
    """The columns of a log row a caller may set (moodle-facts §3.3)."""

    userid: int
    crud: str
    edulevel: int
    contextid: int
    contextlevel: int
    contextinstanceid: int
    objecttable: str | None
    objectid: int | None
    relateduserid: int | None
    courseid: int
    ip: str
    origin: str
    realuserid: int | None
    anonymous: int
    component: str
    action: str
    target: str


def event_row(
    eventname: str,
    *,
    timecreated: int,
    other: Any = None,
    other_format: OtherFormat = "json",
    **fields: Unpack[EventFields],
) -> dict[str, Any]:
    """One log row; component, action and target come from the class name like Moodle (§4.1).

    ``\\core\\event\\user_login_failed`` gives component ``core``, target ``user_login`` and
    action ``failed``. Unset columns take the values of a web request by nobody at system level.
    """
    parts = eventname.strip("\\").split("\\")
    target, _, action = parts[-1].rpartition("_")
    row: dict[str, Any] = {
        "eventname": eventname, "component": parts[0], "action": action, "target": target,
        "objecttable": None, "objectid": None, "crud": "r", "edulevel": 0, "contextid": 1,
        "contextlevel": 10, "contextinstanceid": 0, "userid": 0, "courseid": 0,
        "relateduserid": None, "anonymous": 0, "other": encode_other(other, other_format),
        "timecreated": timecreated, "origin": "web", "ip": "", "realuserid": None,
    }  # fmt: skip
    row.update(fields)
    return row
