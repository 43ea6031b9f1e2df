"""Answers remembered for the life of one MoodleSite, so a scan asks the database each thing once.

A MoodleSite reads one consistent snapshot, so the same question always has the same answer: the
checks, the access inventory (built per scope) and the roster reconciliation that ask it again get
the first answer, the database sees each query once and the provenance lists it once. Cached
answers are shared, so they are immutable (tuples, frozen records, read-only mappings).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


def _hashable(value: Any) -> Hashable:
    """An argument as part of a cache key: sequences and sets of plain values become tuples."""
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(item) for item in value)
    if not isinstance(value, Hashable):
        raise TypeError(f"cannot remember an answer keyed by a {type(value).__name__}")
    return value


def once_per_site(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run ``method`` once per object and arguments (defaults filled in, so ``f()`` and
    ``f(DEFAULT)`` are the same question); later calls return the remembered answer."""
    signature = inspect.signature(method)
    slot = f"_once_{method.__name__}"

    def remembered(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        key = tuple(_hashable(value) for value in list(bound.arguments.values())[1:])
        answers: dict[tuple[Hashable, ...], R] = vars(self).setdefault(slot, {})
        if key not in answers:
            answers[key] = method(self, *args, **kwargs)
        return answers[key]

    functools.update_wrapper(remembered, method)  # name and docstring for help() and the docs
    return remembered


class ById(Generic[T]):
    """Per-id answers (a user's row, a user's factors): only ids not asked before are read."""

    def __init__(self) -> None:
        self._known: dict[int, T | None] = {}

    def get(self, ids: Iterable[int], read: Callable[[list[int]], Mapping[int, T]]) -> dict[int, T]:
        """The answers for ``ids``; ``read`` gets the sorted ids never asked before, and an id
        it returns nothing for has no answer (it is absent from the result)."""
        wanted = sorted({int(i) for i in ids})
        missing = [i for i in wanted if i not in self._known]
        if missing:
            found = read(missing)
            self._known.update((i, found.get(i)) for i in missing)
        return {i: answer for i in wanted if (answer := self._known[i]) is not None}
