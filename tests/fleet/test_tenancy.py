"""Tenancy: a client's export holds that client's evidence and its hosts', nothing else."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from moodle_soc.api import open_evidence_store, verify_package
from moodle_soc.errors import BadInputError
from moodle_soc.fleet.inventory import parse_fleet
from moodle_soc.fleet.report import build_report
from moodle_soc.fleet.scanning import scan_fleet_site
from moodle_soc.fleet.tenancy import attach_host_evidence, export_client, host_controls

from .conftest import MakeSite

AS_OF = datetime.fromtimestamp(1795936000, UTC)


def _texts(data: bytes) -> list[bytes]:
    """Every member of a ZIP, and of the ZIPs inside it, uncompressed."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            member = archive.read(name)
            found.append(name.encode())
            found += _texts(member) if name.endswith(".zip") else [member]
    return found


def test_a_client_export_never_holds_another_clients_data(
    tmp_path: Path, sqlite_site: MakeSite
) -> None:
    acme = [sqlite_site(11, site_name="Acme One"), sqlite_site(12, site_name="Acme Two")]
    beta = sqlite_site(13, site_name="Betamax College")
    fleet = parse_fleet(
        f"""\
sites:
  - {{name: acme-one, db: '{acme[0]}', client: acme, host: shared-eu}}
  - {{name: acme-two, db: '{acme[1]}', client: acme, host: acme-dc}}
  - {{name: betamax-prod, db: '{beta}', client: betamax, host: shared-eu}}
""",
        "sites.yaml",
    )
    store = str(tmp_path / "evidence.sqlite")
    outcomes = [scan_fleet_site(site, store=store, as_of=AS_OF) for site in fleet.sites]
    assert all(o.scanned for o in outcomes)
    policy = tmp_path / "dr-test-2026.txt"
    policy.write_text("Restore test of the shared-eu platform, 2026-10-01.")
    with open_evidence_store(store) as evidence:
        attach_host_evidence(
            evidence, fleet, "shared-eu", policy, control="A1.3",
            effective_date=date(2026, 10, 1), collected_by="ops@host.example",
        )  # fmt: skip
        assert [c["control"] for c in host_controls(evidence, "shared-eu")] == ["A1.3"]
        hosting = {h.host: h for h in build_report(evidence, fleet).hosting}
        assert hosting["shared-eu"].sites == ("acme-one", "betamax-prod")
        assert hosting["shared-eu"].controls[0].startswith("A1.3 (dr-test-2026.txt")
        assert hosting["acme-dc"].controls == ()
        with pytest.raises(BadInputError, match=r"No site of sites.yaml runs on host"):
            attach_host_evidence(
                evidence, fleet, "elsewhere", policy, control="A1.3",
                effective_date=date(2026, 10, 1), collected_by="ops@host.example",
            )  # fmt: skip
        done = export_client(
            evidence, fleet, "acme", start=date(2026, 1, 1), end=date(2026, 12, 31),
            output=tmp_path / "acme.zip",
        )  # fmt: skip
        beta_key = outcomes[2].site_key
    assert done.sites == ("acme-one", "acme-two") and done.hosts == ("shared-eu",)
    data = (tmp_path / "acme.zip").read_bytes()
    everything = b"\n".join(_texts(data))
    assert b"Acme One" in everything and b"Acme Two" in everything
    assert b"Restore test of the shared-eu platform" in everything  # inherited host evidence
    assert beta_key is not None
    for other in (b"betamax", b"Betamax College", beta_key.encode(), b"site13.example.test"):
        assert other.lower() not in everything.lower(), other
    with zipfile.ZipFile(tmp_path / "acme.zip") as archive:
        listing = json.loads(archive.read("client.json"))
        assert listing["client"] == "acme" and len(listing["sites"]) == 2
        inner = tmp_path / "one.zip"
        inner.write_bytes(archive.read(listing["sites"][0]["package"]))
    assert verify_package(inner).ok
