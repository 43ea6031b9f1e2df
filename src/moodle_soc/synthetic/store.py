"""In-memory row storage behind `SiteBuilder`: deterministic ids, keyed look-ups, streams."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from .writer import Row

__all__ = ["RowSource", "RowStore"]

RowSource = Iterable[Row] | Callable[[], Iterable[Row]]


class RowStore:
    """Rows per table (names without prefix), ids counted per table in creation order."""

    def __init__(self, *, release: str, now: int, wwwroot: str, site_name: str, seed: int) -> None:
        self.release, self.now, self.seed = release, now, seed
        self.wwwroot, self.site_name = wwwroot, site_name
        self.host = urlsplit(wwwroot).hostname or "example.test"
        self._rows: dict[str, list[Row]] = {}
        self._by_key: dict[tuple[Any, ...], Row] = {}
        self._next_id: dict[str, int] = {}
        self._streams: list[tuple[str, RowSource, int]] = []

    def secret_key(self, kind: str, table: str) -> str:
        """The key a fake secret of the next `table` row derives from."""
        return f"{self.seed}:{self.host}:{kind}:{self._next_id.get(table, 1)}"

    def next_id(self, table: str) -> int:
        return self._next_id.get(table, 1)

    def add(self, table: str, row: Row, key: tuple[Any, ...] | None = None) -> int:
        """Append `row` to `table` with the next id (or its own); `key` allows `find`."""
        if "id" not in row:
            row["id"] = self.reserve_ids(table, 1)
        else:
            self._next_id[table] = max(self._next_id.get(table, 1), row["id"] + 1)
        self._rows.setdefault(table, []).append(row)
        if key is not None:
            if (table, *key) in self._by_key:
                raise ValueError(f"duplicate {table} row for {key!r}")
            self._by_key[(table, *key)] = row
        return int(row["id"])

    def find(self, table: str, *key: Any) -> Row | None:
        return self._by_key.get((table, *key))

    def remove(self, table: str, *key: Any) -> None:
        """Drop the keyed row of `table`."""
        row = self._by_key.pop((table, *key))
        self._rows[table] = [r for r in self._rows[table] if r is not row]

    def update(self, table: str, row_id: int, **values: Any) -> None:
        """Change columns of an in-memory row."""
        for row in self._rows.get(table, []):
            if row["id"] == row_id:
                row.update(values)
                return
        raise KeyError(f"no {table} row with id {row_id}")

    def rows(self, table: str) -> list[Row]:
        """The in-memory rows of `table` (streamed rows are not included)."""
        return list(self._rows.get(table, []))

    def reserve_ids(self, table: str, count: int) -> int:
        """Reserve `count` consecutive ids in `table` for streamed rows; return the first."""
        first = self._next_id.get(table, 1)
        self._next_id[table] = first + count
        return first

    def extend(self, table: str, rows: RowSource, *, expected: int = 0) -> None:
        """Stream rows (an iterable, or a callable returning one so `write` can run twice).

        Rows carry ids from `reserve_ids`, or no id at all: the database then numbers them after
        the in-memory rows. `expected` is a row-count hint for progress reports.
        """
        self._streams.append((table, rows, expected))
