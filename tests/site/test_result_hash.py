"""The SHA-256 every recorded query carries is part of stored evidence: an auditor re-hashes a
result set to check it, so its canonical form must never change (values pinned from the
first implementation, which encoded each row with ``json.dumps(..., default=str)``)."""

from decimal import Decimal

from moodle_soc.site.db import result_sha256

COLUMNS = ["id", "name", "x", "d", "b", "f"]
ROWS = [
    (1, "admin", None, Decimal("2.50"), b"\x00\xff", True),
    (2, 'Zoë "x"', 1.5, (Decimal("1"), b"a"), frozenset(), False),
]


def test_a_result_set_hashes_as_it_always_has() -> None:
    assert result_sha256(COLUMNS, ROWS) == (
        "42c912e11b2ec8252ec261adf7904bac1d632f1acd7fb0994dff3492a01fbf1e"
    )


def test_an_empty_result_hashes_as_it_always_has() -> None:
    assert result_sha256([], []) == (
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
    )
