"""Fleet runs in the evidence store: tagged with their fleet site, stored once per request.

A fleet run is an ordinary ``run`` record in the chain of the Moodle site (keyed by Moodle's
``siteidentifier``, as ``moodle-soc scan`` stores it), whose payload also carries
``fleet`` (site name, client, host, environment, tags) and ``idempotency_key``. The key
hashes what the scan was asked to do (site, client, target, audit time, checks, policy), so a
redelivered task stores nothing twice (``evidence.store.idempotent``). The tag is the tenancy
mapping: which client a chain belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moodle_soc.errors import BadInputError
from moodle_soc.models.records import RecordKind, utc_iso

if TYPE_CHECKING:
    from datetime import datetime

    from moodle_soc.evidence.store.store import EvidenceStore
    from moodle_soc.fleet.inventory import FleetSite
    from moodle_soc.models.records import StoredRecord
    from moodle_soc.models.run import AuditRun

FLEET_FIELD = "fleet"
#: How far back a chain is searched for the fleet site that owns it.
_OWNER_LOOKBACK = 50


class ChainOwnedError(BadInputError):
    """The Moodle site's chain already belongs to another fleet site (a cloned site keeps
    its ``siteidentifier``): storing would mix two sites' (or clients') evidence."""


def fleet_tag(site: FleetSite) -> dict[str, Any]:
    return {
        "site": site.name,
        "client": site.client,
        "host": site.host,
        "environment": site.environment,
        "tags": list(site.tags),
    }


def idempotency_key(site: FleetSite, audit_time: datetime) -> str:
    """SHA-256 of the scan request: the same for every delivery of one task."""
    from moodle_soc.evidence.store.canonical import content_hash

    return content_hash(
        {
            "site": site.name,
            "client": site.client,
            "target": site.config or site.db,
            "prefix": site.prefix,
            "audit_time": utc_iso(audit_time),
            "checks": sorted(site.checks),
            "policy": site.policy,
        }
    )


@dataclass
class StoredFleetRun:
    """Filled in by ``store_fleet_run``: the record, and whether this delivery appended it."""

    record: StoredRecord | None = None
    appended: bool = False


def store_fleet_run(
    store: EvidenceStore, run: AuditRun, *, site: FleetSite, key: str, result: StoredFleetRun
) -> StoredRecord:
    """Append ``run`` tagged with ``site``, unless this request was stored already."""
    from moodle_soc.evidence.store.idempotent import append_once
    from moodle_soc.evidence.store.runs import site_ref_for

    ref = site_ref_for(run)
    owner = chain_owner(store, ref.key)
    if owner is not None and (owner["site"], owner["client"]) != (site.name, site.client):
        raise ChainOwnedError(
            f"Site {site.name} has the Moodle site identifier of fleet site {owner['site']}"
            f" (client {owner['client']}), whose evidence chain it would join; a cloned site"
            " keeps its siteidentifier: give the clone its own before scanning it."
        )
    payload = {**run.model_dump(mode="json"), FLEET_FIELD: fleet_tag(site)}
    store.put_blobs(run.populations.values())  # the findings the payload names by hash
    record, appended = append_once(
        store, ref, RecordKind.RUN, payload, key=key, collected_at=run.audit_time
    )
    result.record, result.appended = record, appended
    return record


def tag_of(payload: Any) -> dict[str, Any] | None:
    """A stored run payload's fleet tag, or None (a run from ``moodle-soc scan``)."""
    if not isinstance(payload, dict):
        return None
    tag = payload.get(FLEET_FIELD)
    if isinstance(tag, dict) and isinstance(tag.get("site"), str):
        return tag
    return None


def chain_owner(store: EvidenceStore, site_key: str) -> dict[str, Any] | None:
    """The fleet tag of the chain's latest fleet run (None: no fleet run yet)."""
    runs = store.records(site_key=site_key, kind=RecordKind.RUN.value)
    for record in reversed(runs[-_OWNER_LOOKBACK:]):
        tag = tag_of(store.payload(record))
        if tag is not None:
            return tag
    return None


@dataclass(frozen=True)
class FleetRun:
    """A stored fleet run: its record and its payload (the AuditRun JSON plus the tag)."""

    record: StoredRecord
    payload: dict[str, Any]

    @property
    def tag(self) -> dict[str, Any]:
        return self.payload[FLEET_FIELD]  # type: ignore[no-any-return]


def fleet_chains(store: EvidenceStore) -> dict[str, dict[str, Any]]:
    """Every chain holding a fleet run, with the tag of its latest one (the tenancy map)."""
    owners: dict[str, dict[str, Any]] = {}
    for site in store.sites():
        tag = chain_owner(store, site.key)
        if tag is not None:
            owners[site.key] = tag
    return owners


def latest_runs(
    store: EvidenceStore, names: Iterable[str], *, per_site: int = 1
) -> dict[str, list[FleetRun]]:
    """The latest ``per_site`` stored runs of each fleet site in ``names``, newest first."""
    wanted = set(names)
    found: dict[str, list[FleetRun]] = {name: [] for name in wanted}
    for key, owner in fleet_chains(store).items():
        if owner["site"] not in wanted:
            continue
        for record in reversed(store.records(site_key=key, kind=RecordKind.RUN.value)):
            payload = store.payload(record)
            tag = tag_of(payload)
            if tag is None or tag["site"] not in wanted:
                continue
            runs = found[tag["site"]]
            if len(runs) < per_site:
                runs.append(FleetRun(record, payload))
            if all(len(found[n]) >= per_site for n in {owner["site"]}):
                break
    return found
