"""The declared type (read or write) of core and standard-plugin external functions.

Moodle keeps a function's type only in its component's ``db/services.php``; the database table
``external_functions`` has no such column, so the type is shipped here, read from real Moodle
trees of every branch 3.9–5.1 by ``scripts/build_webservice_functions.py``.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from moodle_soc.data import data_file
from moodle_soc.yamlfile import safe_load

FunctionType = Literal["read", "write"]


@cache
def function_types() -> dict[str, FunctionType]:
    """Function name → ``read`` or ``write``; a name not listed is a function of unknown type."""
    loaded = safe_load(data_file("webservice_functions.yaml").read_text(encoding="utf-8"))
    types: dict[str, FunctionType] = {}
    for name, entry in loaded["functions"].items():
        kind = entry["type"]
        if kind not in ("read", "write"):
            raise ValueError(f"webservice_functions.yaml: {name} has type {kind!r}")
        types[name] = kind
    return types
