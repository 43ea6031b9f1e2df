"""Ed25519 signatures: the key file, signing and verifying, and signed chains in the store."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from moodle_soc.errors import BadInputError
from moodle_soc.evidence.store.signing import (
    Signer,
    generate_key,
    key_id_of,
    load_public_key,
    load_signer,
    public_pem,
    signature_valid,
)
from moodle_soc.evidence.store.store import EvidenceStore, open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import SiteRef

SITE = SiteRef(key="signed-site", name="Signed")
T0 = datetime(2026, 5, 1, tzinfo=UTC)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
KEY_A = Signer(Ed25519PrivateKey.generate())
KEY_B = Signer(Ed25519PrivateKey.generate())


def execute(store: EvidenceStore, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


@pytest.fixture
def signed_store(store_location: str) -> Iterator[EvidenceStore]:
    with open_store(store_location, signer=KEY_A, create=True) as opened:
        yield opened


# --- the primitives ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(record_hash=hashes, other=hashes)
def test_a_signature_verifies_for_its_hash_and_key_only(record_hash: str, other: str) -> None:
    signature = KEY_A.sign(record_hash)
    assert signature_valid(KEY_A.public_key, record_hash, signature)
    assert not signature_valid(KEY_B.public_key, record_hash, signature)
    if other != record_hash:
        assert not signature_valid(KEY_A.public_key, other, signature)


@settings(max_examples=60, deadline=None)
@given(record_hash=hashes, data=st.data())
def test_a_changed_signature_byte_never_verifies(record_hash: str, data: st.DataObject) -> None:
    raw = bytearray(base64.b64decode(KEY_A.sign(record_hash)))
    offset = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[offset] ^= data.draw(st.integers(min_value=1, max_value=255))
    forged = base64.b64encode(bytes(raw)).decode()
    assert not signature_valid(KEY_A.public_key, record_hash, forged)


def test_every_single_character_change_of_a_stored_signature_is_rejected() -> None:
    """The signature is stored as base64 text; every one-character edit of that text must fail.

    Ed25519 signatures are 64 bytes: 88 base64 characters whose 86th carries 4 unused bits, so
    a lenient decoder maps 16 different texts to the same bytes (a silent one-byte change).
    """
    record_hash = "ab" * 32
    signature = KEY_A.sign(record_hash)
    accepted = [
        (offset, signature[offset], replacement)
        for offset in range(len(signature))
        for replacement in B64 + "=!"
        if replacement != signature[offset]
        and signature_valid(
            KEY_A.public_key,
            record_hash,
            signature[:offset] + replacement + signature[offset + 1 :],
        )
    ]
    assert accepted == [], f"{len(accepted)} altered signature texts verify, e.g. {accepted[:3]}"


def test_garbage_signatures_are_invalid_not_errors() -> None:
    for junk in ("", "not base64!", "AAAA", "=" * 88, base64.b64encode(b"x" * 64).decode()):
        assert not signature_valid(KEY_A.public_key, "00" * 32, junk)


def test_key_ids_are_stable_and_distinct() -> None:
    assert len(KEY_A.key_id) == 32
    assert set(KEY_A.key_id) <= set("0123456789abcdef")
    assert KEY_A.key_id == key_id_of(load_public_key(public_pem(KEY_A.public_key)))
    assert KEY_A.key_id != KEY_B.key_id


# --- the key file -----------------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_generate_key_writes_a_private_pem_readable_by_its_owner_only(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "keys" / "signing.pem"
    signer = generate_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert load_signer(path).key_id == signer.key_id


def test_generate_key_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    generate_key(path)
    before = path.read_bytes()
    with pytest.raises(BadInputError, match="refusing to overwrite"):
        generate_key(path)
    assert path.read_bytes() == before


def test_load_signer_rejects_what_is_not_an_ed25519_private_key(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "junk.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n")
    (tmp_path / "public.pem").write_text(public_pem(KEY_A.public_key))
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    (tmp_path / "encrypted.pem").write_bytes(encrypted)
    for name, message in [
        ("rsa.pem", "is not an Ed25519 key"),
        ("junk.pem", "not an unencrypted PEM private key"),
        ("public.pem", "not an unencrypted PEM private key"),
        ("encrypted.pem", "not an unencrypted PEM private key"),
        ("missing.pem", "Cannot load signing key"),
    ]:
        with pytest.raises(BadInputError, match=message):
            load_signer(tmp_path / name)


def test_keygen_cli_writes_0600_and_refuses_to_overwrite(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    path = tmp_path / "k.pem"
    done = cli("evidence", "keygen", str(path))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = load_signer(path)
    assert signer.key_id in done.stdout
    assert public_pem(signer.public_key).strip() in done.stdout
    before = path.read_bytes()
    again = cli("evidence", "keygen", str(path))
    assert again.returncode == 7
    assert "refusing to overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert path.read_bytes() == before


# --- signed chains in the store -----------------------------------------------------------------


def test_signed_records_verify_with_the_stored_public_key(
    signed_store: EvidenceStore, store_location: str
) -> None:
    records = [signed_store.append(SITE, "run", {"i": i}, collected_at=T0) for i in range(3)]
    for record in records:
        assert record.key_id == KEY_A.key_id
        assert record.signature is not None
        assert signature_valid(KEY_A.public_key, record.record_hash, record.signature)
    # The public key travels with the evidence; the private key is not needed to verify.
    assert signed_store.public_keys() == {KEY_A.key_id: public_pem(KEY_A.public_key)}
    with open_store(store_location, create=True) as reader:
        report = verify_store(reader)
    assert report.ok and report.signed == 3 and report.records == 3


def test_unsigned_records_in_a_signed_chain_are_allowed_and_counted(
    signed_store: EvidenceStore, store_location: str
) -> None:
    signed_store.append(SITE, "run", {"i": 0}, collected_at=T0)
    with (
        open_store(store_location, create=True) as unsigned,
        open_store(store_location, signer=KEY_B, create=True) as second_key,
    ):
        unsigned.append(SITE, "run", {"i": 1}, collected_at=T0)
        second_key.append(SITE, "run", {"i": 2}, collected_at=T0)
        signed_store.append(SITE, "run", {"i": 3}, collected_at=T0)
        report = verify_store(unsigned)
    assert report.ok, report.problems
    assert (report.records, report.signed) == (4, 3)
    assert set(signed_store.public_keys()) == {KEY_A.key_id, KEY_B.key_id}
    assert [r.key_id for r in signed_store.records()] == [
        KEY_A.key_id,
        None,
        KEY_B.key_id,
        KEY_A.key_id,
    ]


def test_a_replaced_public_key_is_detected_at_the_first_record_it_signed(
    signed_store: EvidenceStore,
) -> None:
    first = signed_store.append(SITE, "run", {"i": 0}, collected_at=T0)
    signed_store.append(SITE, "run", {"i": 1}, collected_at=T0)
    # An attacker swaps in their own public key under the same key id (nothing guards keys).
    execute(
        signed_store,
        "UPDATE evidence_keys SET public_key = :pem WHERE key_id = :key_id",
        pem=public_pem(KEY_B.public_key),
        key_id=KEY_A.key_id,
    )
    report = verify_store(signed_store)
    assert [(p.seq, p.message) for p in report.problems] == [
        (first.seq, "signature does not verify")
    ]


def test_a_removed_public_key_is_detected(signed_store: EvidenceStore) -> None:
    record = signed_store.append(SITE, "run", {}, collected_at=T0)
    execute(signed_store, "DELETE FROM evidence_keys")
    report = verify_store(signed_store)
    assert [(p.seq, p.message) for p in report.problems] == [
        (record.seq, f"signed by unknown key {KEY_A.key_id}")
    ]


def test_an_unreadable_public_key_is_reported_not_raised(signed_store: EvidenceStore) -> None:
    signed_store.append(SITE, "run", {}, collected_at=T0)
    execute(
        signed_store,
        "UPDATE evidence_keys SET public_key = :pem",
        pem=public_pem(KEY_B.public_key)[:-40],
    )
    report = verify_store(signed_store)
    assert not report.ok
    assert any(p.message == "stored public key is invalid" for p in report.problems)


def test_a_forged_or_stripped_signature_is_detected(
    signed_store: EvidenceStore, unguarded: Callable[[EvidenceStore], None]
) -> None:
    record = signed_store.append(SITE, "run", {}, collected_at=T0)
    unguarded(signed_store)
    forged = KEY_B.sign(record.record_hash)
    execute(signed_store, "UPDATE evidence_records SET signature = :s", s=forged)
    assert [p.message for p in verify_store(signed_store).problems] == ["signature does not verify"]
    # Re-signing with another key and naming it: the other key is not in the store.
    execute(signed_store, "UPDATE evidence_records SET key_id = :k", k=KEY_B.key_id)
    assert [p.message for p in verify_store(signed_store).problems] == [
        f"signed by unknown key {KEY_B.key_id}"
    ]


def test_stripping_signatures_shows_only_in_the_signed_count(
    signed_store: EvidenceStore, unguarded: Callable[[EvidenceStore], None]
) -> None:
    """Signatures are outside the record hash: removing one leaves a valid unsigned record.

    Unsigned records are allowed, so the count of signed records is what an auditor compares.
    """
    for i in range(3):
        signed_store.append(SITE, "run", {"i": i}, collected_at=T0)
    assert verify_store(signed_store).signed == 3
    unguarded(signed_store)
    execute(
        signed_store,
        "UPDATE evidence_records SET signature = NULL, key_id = NULL WHERE chain_index = 1",
    )
    report = verify_store(signed_store)
    assert report.ok
    assert (report.records, report.signed) == (3, 2)
