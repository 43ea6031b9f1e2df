"""Decode ``logstore_standard_log.other``, which Moodle writes in two formats.

Sites from before 3.7, and upgraded sites that never switched ``logstore_standard/jsonformat``
on, store PHP ``serialize()`` output; newer sites store JSON; one table can hold both
(moodle-facts §4.3). Evidence such as a failed login's reason lives in this column, so both
formats must decode to the same Python shape, without ever instantiating PHP classes.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, NoReturn

import phpserialize

__all__ = ["decode_other", "login_failure_reason"]

# tool_log\helper\reader::decode_other's test: exactly "N;" or "<one character>:" at the start.
_SERIALIZED = re.compile(r"N;\Z|.:")
_REASON = re.compile(r"-?[0-9]{1,9}")


def _php_value(pairs: list[tuple[Any, Any]]) -> list[Any] | dict[str, Any]:
    """A PHP array as json_encode would show it: a list when its keys are 0..n-1 in order.

    Other arrays become dicts with str keys (PHP int keys become "5"), so a row decodes to the
    same value whichever format Moodle wrote it in.
    """
    if any(type(key) not in (int, str) for key, _ in pairs):
        raise ValueError("a PHP array key must be an int or a string")
    if all(type(key) is int and key == n for n, (key, _) in enumerate(pairs)):
        return [value for _, value in pairs]
    return {str(key): value for key, value in pairs}


def _object_to_dict(_class_name: str, properties: dict[Any, Any]) -> dict[str, Any]:
    """Any serialized object (usually stdClass) as a plain dict; classes are never loaded."""
    # Protected and private properties are serialized as "\0*\0name" and "\0Class\0name".
    return {str(key).rsplit("\0", 1)[-1]: value for key, value in properties.items()}


def _undecodable(raw: str, what: str) -> NoReturn:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    raise ValueError(f"Cannot decode the log's other value as {what}: {shown!r}.")


def decode_other(raw: str | None) -> Any:
    """The decoded ``other`` column; None when it is empty. Raises ValueError if undecodable."""
    if raw is None or raw == "":
        return None
    if _SERIALIZED.match(raw):
        try:
            stream = io.BytesIO(raw.encode("utf-8"))
            value = phpserialize.load(
                stream, decode_strings=True, object_hook=_object_to_dict, array_hook=_php_value
            )
        except (ValueError, TypeError, RecursionError):
            _undecodable(raw, "PHP-serialized data")
        if stream.read(1):
            _undecodable(raw, "PHP-serialized data (it has trailing text)")
        return value
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        _undecodable(raw, "JSON")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # PHP's json_decode rejects NaN and Infinity


def login_failure_reason(other: Any) -> int | None:
    """The ``reason`` code of a ``user_login_failed`` event (1 = no such user ... 6 = reCAPTCHA).

    The value may be an int or a numeric string, depending on the code that logged the event.
    """
    reason = other.get("reason") if isinstance(other, dict) else None
    if type(reason) is int:
        return reason
    if isinstance(reason, str) and _REASON.fullmatch(reason.strip()):
        return int(reason)
    return None
