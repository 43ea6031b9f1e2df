"""The provenance hash of a result set is the documented form: one JSON line per row after the
column names (Decimals as strings, bytes as hex, anything else JSON cannot hold as its str)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from moodle_soc.site.db import result_sha256


def reference(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, (list, tuple, set, frozenset)):
            return [plain(v) for v in value]
        return value

    text = json.dumps(columns) + "".join(
        "\n" + json.dumps([plain(v) for v in row], default=str) for row in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_rows_of_every_value_type_hash_as_documented() -> None:
    rows = [
        (1, 'a\u00e9"\n', None, 2.5, True),
        (Decimal("1.10"), b"\x00\xff", (1, b"\x01"), date(2026, 1, 2), False),
        (10**20, "", float("inf"), -0.0, "\\core\\event\\user_loggedin"),
    ]
    columns = ["a", "b", "c", "d", "e"]
    assert result_sha256(columns, rows) == reference(columns, rows)
    assert result_sha256(columns, []) == reference(columns, [])
