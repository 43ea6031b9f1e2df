"""``verify-package``: check an exported evidence package offline, naming the first problem.

Everything needed is inside the package: the ZIP container is read strictly (any changed
byte is noticed, see ``package_zip``), every file is hashed against the manifest and
``SHA256SUMS``, every record header is rehashed and linked to the one before it, every run and
attachment is matched to the hash its record carries, and every signature is checked with the
public keys the package lists. Nothing is trusted because the package says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from moodle_soc.evidence.package.archive import ContainerProblem, Member, StrictZip, dos_fields
from moodle_soc.evidence.package.chain import ChainCheck, Tampered
from moodle_soc.evidence.package.derived import Binding, check_derived
from moodle_soc.evidence.package.manifest import (
    COMMENT_PREFIX,
    MANIFEST,
    SAFE_PATH,
    SUMS,
    Manifest,
    parse_sums,
    signed_digest,
    sums_text,
)
from moodle_soc.evidence.store.canonical import sha256_hex
from moodle_soc.evidence.store.signing import key_id_of, load_public_key, signature_valid


@dataclass(frozen=True)
class PackageProblem:
    file: str
    message: str

    def describe(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class PackageVerifyReport:
    path: Path
    problem: PackageProblem | None = None
    files: int = 0
    records: int = 0
    signed_records: int = 0
    manifest_signers: list[str] = field(default_factory=list)
    site: str = ""
    period: str = ""
    range_head: str | None = None
    head_at_export: str | None = None
    notes: list[str] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)  # every file, how it is bound

    @property
    def unbound(self) -> list[Binding]:
        """Files a forger could edit and rehash unnoticed in an unsigned package (wholly or in
        part): said loudly, never trusted silently."""
        return [b for b in self.bindings if b.bound in ("partly", "not bound")]

    @property
    def ok(self) -> bool:
        return self.problem is None


#: What an unsigned package can and cannot prove, said loudly by verify-package.
UNSIGNED_NOTE = (
    "UNSIGNED: the manifest is not signed, so anyone could have produced this package, and a"
    " chain of made-up records verifies as well as the site's real one. It proves that its"
    " files match its own manifest, that its records form an unbroken hash chain, and that"
    " every readable file made again from those records (findings, period report, control"
    " matrix, populations, samples) is what they make: an edited and rehashed table is"
    " caught. It cannot prove who made it, nor that the records are the site's real ones"
    " (ask the operator to run 'moodle-soc evidence verify --expect-head' with the chain head"
    " above), nor anything in the files listed as NOT BOUND, nor the parts named in those"
    " listed as PARTLY BOUND. Ask for a package exported with --sign-key."
)


def verify_package(path: Path, *, reprint: bool = True) -> PackageVerifyReport:
    """Verify the package at ``path``; ``report.problem`` names the first thing that differs.

    ``reprint=False`` (the exporter checking what it just wrote) skips printing the period
    report's PDF again: the slowest step, and it proves only that printing is repeatable."""
    report = PackageVerifyReport(path=path)
    try:
        _verify(path, report, reprint)
    except Tampered as error:
        report.problem = PackageProblem(error.file, error.message)
    return report


def _verify(path: Path, report: PackageVerifyReport, reprint: bool) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Tampered(path.name, f"cannot be read ({exc.strerror or exc})") from None
    members, comment = _members(path.name, raw)
    sums_member, manifest_member = members.get(SUMS), members.get(MANIFEST)
    if sums_member is None or manifest_member is None:
        missing = SUMS if sums_member is None else MANIFEST
        raise Tampered(path.name, f"has no {missing}, so it is not an evidence package")
    sums, bad_line = parse_sums(sums_member.data)
    if bad_line is not None:
        raise Tampered(SUMS, f"line {bad_line} is not in sha256sum format ('<sha256>  <file>')")
    _check_manifest_hash(path.name, comment, manifest_member, {p: h for h, p in sums})
    manifest, digest = _load_manifest(manifest_member.data)
    report.site = f"{manifest.site.name} ({manifest.site.key})"
    report.period = f"{manifest.period.start}..{manifest.period.end}"
    report.manifest_signers = _check_signatures(manifest, digest)
    _check_files(manifest, members)
    expected = sums_text(sha256_hex(manifest_member.data), manifest.files)
    if sums_member.data != expected:
        _name_sums_line(sums_member.data, expected)
    chain = ChainCheck(manifest, {name: member.data for name, member in members.items()})
    chain.run()
    files = {name: member.data for name, member in members.items()}
    report.bindings = check_derived(manifest, files, chain.headers, chain.payloads, reprint=reprint)
    report.files = len(members)
    report.records, report.signed_records = len(manifest.records), chain.signed
    report.range_head, report.head_at_export = chain.range_head, manifest.chain.head_at_export
    report.notes = chain.notes
    if not manifest.signatures:
        report.notes.append(UNSIGNED_NOTE)


def _members(archive: str, raw: bytes) -> tuple[dict[str, Member], bytes]:
    members: dict[str, Member] = {}
    known: set[str] = {SUMS, MANIFEST}
    try:
        container = StrictZip(raw)
        for member in container.members():
            if not SAFE_PATH.fullmatch(member.name):
                raise Tampered(member.name, "is an unsafe path (absolute, '..' or odd characters)")
            if member.name in members:
                raise Tampered(member.name, "appears twice in the archive")
            members[member.name] = member
            if member.name == SUMS:
                known |= {name for _hash, name in parse_sums(member.data)[0]}
    except ContainerProblem as problem:
        names = [name for name in problem.names if name in known] or list(problem.names)
        raise Tampered(names[0] if names else archive, problem.message) from None
    return members, container.comment


def _check_manifest_hash(
    archive: str, comment: bytes, manifest: Member, sums: dict[str, str]
) -> None:
    """The manifest's hash is kept twice (SHA256SUMS and the archive comment): when one of the
    three disagrees, the two that agree name the one that changed."""
    actual = sha256_hex(manifest.data)
    listed = sums.get(MANIFEST)
    commented = _commented(comment)
    if actual == listed == commented:
        return
    if listed is not None and listed == commented:
        raise Tampered(MANIFEST, "was altered (its SHA-256 differs from SHA256SUMS)")
    if actual == commented:
        raise Tampered(SUMS, "its line for manifest.json was altered")
    if actual == listed:
        raise Tampered(archive, "the archive comment was altered")
    raise Tampered(MANIFEST, "its SHA-256 matches neither SHA256SUMS nor the archive comment")


def _commented(comment: bytes) -> str | None:
    digest = comment.removeprefix(COMMENT_PREFIX).decode("ascii", errors="replace")
    well_formed = comment.startswith(COMMENT_PREFIX) and len(digest) == 64
    return digest if well_formed else None


def _load_manifest(data: bytes) -> tuple[Manifest, str]:
    """The manifest and the digest its signatures sign."""
    try:
        document = json.loads(data)
        manifest = Manifest.model_validate(document)
        digest = signed_digest(document)  # RFC 8785 refuses NaN and huge integers
    except (ValueError, RecursionError, ValidationError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Tampered(MANIFEST, f"is not a valid manifest ({detail})") from None
    return manifest, digest


def _check_signatures(manifest: Manifest, digest: str) -> list[str]:
    for key_id, pem in manifest.public_keys.items():
        try:
            if key_id_of(load_public_key(pem)) != key_id:
                raise ValueError
        except ValueError:
            raise Tampered(MANIFEST, f"public key {key_id} is invalid or not its id") from None
    for entry in manifest.signatures:
        signer = manifest.public_keys.get(entry.key_id)
        if signer is None:
            raise Tampered(MANIFEST, f"is signed by key {entry.key_id}, which it does not list")
        if not signature_valid(load_public_key(signer), digest, entry.signature):
            raise Tampered(MANIFEST, f"signature by key {entry.key_id} does not verify")
    return [entry.key_id for entry in manifest.signatures]


def _check_files(manifest: Manifest, members: dict[str, Member]) -> None:
    listed = {entry.path: entry for entry in manifest.files}
    stamp = dos_fields(manifest.archive_time)
    for name, member in members.items():
        if member.dos_time != stamp:
            raise Tampered(name, "its ZIP timestamp differs from the manifest's archive_time")
        if name in (SUMS, MANIFEST):
            continue
        entry = listed.get(name)
        if entry is None:
            raise Tampered(name, "is not listed in the manifest")
        digest = sha256_hex(member.data)
        if digest != entry.sha256 or len(member.data) != entry.size:
            raise Tampered(
                name,
                f"content differs from the manifest (SHA-256 {digest[:16]}…,"
                f" manifest {entry.sha256[:16]}…)",
            )
        if member.packed_sha256 != entry.packed_sha256:
            raise Tampered(name, "its compressed bytes differ from the manifest")
    for entry in manifest.files:
        if entry.path not in members:
            raise Tampered(entry.path, "is listed in the manifest but missing from the archive")


def _name_sums_line(actual: bytes, expected: bytes) -> None:
    got, want = actual.split(b"\n"), expected.split(b"\n")
    for number, (line, should) in enumerate(zip(got, want, strict=False), start=1):
        if line != should:
            path = should.decode().partition("  ")[2] or "the end"
            raise Tampered(SUMS, f"line {number} ({path}) differs from the manifest")
    raise Tampered(SUMS, f"has {len(got) - 1} lines; the manifest lists {len(want) - 1} files")
