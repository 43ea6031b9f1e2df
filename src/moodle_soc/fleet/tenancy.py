"""Tenancy: one client's evidence, and only theirs; hosting evidence recorded once per host.

Every fleet run carries its client in its tag, and each Moodle site has its own chain, so a
client's evidence is the set of chains whose fleet runs belong to that client. A client export
is a ZIP of the ordinary, offline-verifiable per-site packages of those chains (the core
``export_package``), plus the packages of the hosting platforms their sites run on, and a
``client.json`` listing them with their SHA-256. A chain that ever held another client's run
is refused rather than exported.

Hosting controls (infrastructure, network, backups and disaster recovery at the host, in the
shared-responsibility model) are attached once to the host's own chain (``host:<name>``) and
inherited by every site that names that ``host`` in sites.yaml: the fleet report lists them
per host, and every client export whose sites run there includes the host's package.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodle_soc.errors import BadInputError, UsageError
from moodle_soc.fleet.inventory import Fleet
from moodle_soc.fleet.runs import tag_of
from moodle_soc.models.records import RecordKind, SiteRef

if TYPE_CHECKING:
    from moodle_soc.evidence.store.signing import Signer
    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.models.records import StoredRecord

HOST_PREFIX = "host:"
CLIENT_MANIFEST = "client.json"


def host_ref(host: str) -> SiteRef:
    return SiteRef(key=f"{HOST_PREFIX}{host}", name=f"Hosting platform {host}")


def attach_host_evidence(
    store: EvidenceStore,
    fleet: Fleet,
    host: str,
    file: Path,
    *,
    control: str,
    effective_date: date,
    collected_by: str,
    note: str = "",
) -> StoredRecord:
    """Attach a hosting control's evidence once, for every site on ``host``."""
    from moodle_soc.api import attach_evidence

    if host not in {site.host for site in fleet.sites}:
        known = ", ".join(sorted({s.host for s in fleet.sites if s.host})) or "none"
        raise BadInputError(f"No site of {fleet.path} runs on host {host!r} (hosts: {known}).")
    record: StoredRecord = attach_evidence(
        store,
        file,
        site=host_ref(host),
        control=control,
        effective_date=effective_date,
        collected_by=collected_by,
        note=note,
    )
    return record


def host_controls(store: EvidenceStore, host: str) -> list[dict[str, Any]]:
    """The hosting evidence on record for ``host``: control, file, effective date, record."""
    found = []
    for record in store.records(site_key=host_ref(host).key, kind=RecordKind.ATTACHMENT.value):
        payload = store.payload(record) or {}
        found.append(
            {
                "control": payload.get("control"),
                "filename": payload.get("filename"),
                "effective_date": payload.get("effective_date"),
                "record_seq": record.seq,
            }
        )
    return found


def client_chains(store: EvidenceStore, fleet: Fleet, client: str) -> dict[str, str]:
    """The chains (site key -> fleet site name) holding ``client``'s fleet runs.

    Refuses (``BadInputError``) a chain that also holds another client's runs."""
    names = {site.name for site in fleet.sites if site.client == client}
    if not names:
        raise UsageError(f"{fleet.path} has no site of client {client!r}.")
    chains: dict[str, str] = {}
    for site in store.sites():
        if site.key.startswith(HOST_PREFIX):
            continue
        clients: set[str] = set()
        owner = None
        for record in store.records(site_key=site.key, kind=RecordKind.RUN.value):
            tag = tag_of(store.payload(record))
            if tag is not None:
                clients.add(str(tag.get("client")))
                owner = tag
        if client not in clients or owner is None:
            continue
        if len(clients) > 1:
            raise BadInputError(
                f"The evidence chain {site.key[:12]} holds runs of several clients; it cannot be"
                " exported for one of them."
            )
        chains[site.key] = str(owner["site"])
    return chains


@dataclass(frozen=True)
class ClientExport:
    path: Path
    client: str
    sites: tuple[str, ...]
    hosts: tuple[str, ...]


def export_client(
    store: EvidenceStore,
    fleet: Fleet,
    client: str,
    *,
    start: date,
    end: date,
    output: Path,
    replace: bool = False,
    signer: Signer | None = None,
) -> ClientExport:
    """Write ``client``'s evidence for ``start``..``end`` (and its hosts') to ``output``."""
    from moodle_soc.api import export_package
    from moodle_soc.evidence.store.canonical import sha256_hex

    if output.exists() and not replace:
        raise UsageError(f"{output} already exists; use --force to replace it.")
    chains = client_chains(store, fleet, client)
    hosts = sorted({s.host for s in fleet.sites if s.client == client and s.host})
    stored = {site.key for site in store.sites()}
    members: list[tuple[str, Path]] = []
    listing: dict[str, Any] = {"client": client, "period": [str(start), str(end)]}
    listing["sites"], listing["hosts"] = [], []
    with tempfile.TemporaryDirectory(prefix="moodle-soc-client-") as tmp:
        for key, name in sorted(chains.items(), key=lambda item: item[1]):
            path = Path(tmp) / f"{name}-{key[:8]}.zip"
            export_package(store, site=key, start=start, end=end, output=path, signer=signer)
            members.append((f"sites/{path.name}", path))
        for host in hosts:
            if host_ref(host).key not in stored:
                continue
            path = Path(tmp) / f"{host}.zip"
            export_package(
                store, site=host_ref(host).key, start=start, end=end, output=path, signer=signer
            )
            members.append((f"hosts/{path.name}", path))
        for arcname, path in members:
            entry = {"package": arcname, "sha256": sha256_hex(path.read_bytes())}
            listing["sites" if arcname.startswith("sites/") else "hosts"].append(entry)
        with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(CLIENT_MANIFEST, json.dumps(listing, indent=2, sort_keys=True))
            for arcname, path in members:
                archive.write(path, arcname)
    return ClientExport(
        path=output,
        client=client,
        sites=tuple(sorted(chains.values())),
        hosts=tuple(
            m.removeprefix("hosts/").removesuffix(".zip")
            for m, _ in members
            if m.startswith("hosts/")
        ),
    )
