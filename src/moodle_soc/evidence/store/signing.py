"""Optional Ed25519 signatures over record hashes, so a chain can be attributed to its signer.

The private key stays with the operator (a PEM file); its public key is stored with the
evidence and exported with every package, so anyone can verify offline.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from moodle_soc.errors import BadInputError


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short, stable id: the first 32 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:32]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode()


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, record_hash: str) -> str:
        return base64.b64encode(self.private_key.sign(record_hash.encode())).decode()


def generate_key(path: Path) -> Signer:
    """Write a new Ed25519 private key (PEM, mode 0600) and return its signer."""
    if path.exists():
        raise BadInputError(f"{path} already exists; refusing to overwrite a signing key.")
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return Signer(private_key)


def load_signer(path: Path) -> Signer:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not an unencrypted PEM private key"
        raise BadInputError(f"Cannot load signing key {path}: {reason}.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInputError(f"Signing key {path} is not an Ed25519 key.")
    return Signer(key)


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def signature_valid(public_key: Ed25519PublicKey, record_hash: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    # Base64 has unused padding bits: only the canonical encoding of the bytes is accepted,
    # so the stored text itself cannot change without the check failing.
    if base64.b64encode(raw).decode() != signature:
        return False
    try:
        public_key.verify(raw, record_hash.encode())
    except InvalidSignature:
        return False
    return True
