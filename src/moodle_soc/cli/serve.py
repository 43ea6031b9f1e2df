"""``moodle-soc serve``: the web dashboard over an evidence store, under uvicorn.

The CLI does not import the dashboard (they are sibling front ends over ``moodle_soc.api``):
uvicorn loads ``moodle_soc.web.app:from_environment`` with ``MOODLE_SOC_STORE`` naming the
store, exactly as a deployment's ``uvicorn --factory`` line does (docs/web.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import fail, open_store
from moodle_soc.cli.options import StoreOption
from moodle_soc.errors import MoodleSocError, UsageError

if TYPE_CHECKING:
    from moodle_soc.evidence.store.store import EvidenceStore

APP = "moodle_soc.web.app:from_environment"


def serve(
    store: StoreOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Proxies trusted to say the client used TLS (X-Forwarded-Proto), comma-separated."
        ),
    ] = "127.0.0.1",
    login_rate: Annotated[
        int, typer.Option(help="Sign-in attempts allowed per client address per minute.")
    ] = 10,
    trust_site: Annotated[
        str | None,
        typer.Option(help="Publish this site's trust page at /trust (no sign-in; counts only)."),
    ] = None,
    trust_contact: Annotated[
        str | None,
        typer.Option(help="Where the trust page's readers request the full report (URL, email)."),
    ] = None,
    trust_framework: Annotated[
        list[str] | None, typer.Option(help="Frameworks on the trust page (default soc2).")
    ] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="Serve TLS with this cert.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="The TLS certificate's key.")] = None,
) -> None:
    """Serve the web dashboard (log in with a user from 'moodle-soc users add')."""
    try:
        if not 0 < port < 65536:
            raise UsageError(f"--port {port} must be 1-65535.")
        if workers < 1:
            raise UsageError(f"--workers {workers} must be 1 or more.")
        if login_rate < 1:
            raise UsageError(f"--login-rate {login_rate} must be 1 or more.")
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise UsageError("Give both --ssl-certfile and --ssl-keyfile, or neither.")
        if (trust_site is None) != (trust_contact is None):
            raise UsageError("Give both --trust-site and --trust-contact, or neither.")
        with open_store(store) as evidence:  # a missing store fails here, in one line
            location = evidence.location
            if trust_site is not None and trust_contact is not None:
                _check_trust(evidence, trust_site, trust_contact, trust_framework or ["soc2"])
    except MoodleSocError as error:
        fail(error)
    import uvicorn

    os.environ["MOODLE_SOC_STORE"] = location
    os.environ["MOODLE_SOC_LOGIN_RATE"] = str(login_rate)
    if trust_site is not None and trust_contact is not None:
        os.environ["MOODLE_SOC_TRUST_SITE"] = trust_site
        os.environ["MOODLE_SOC_TRUST_CONTACT"] = trust_contact
        os.environ["MOODLE_SOC_TRUST_FRAMEWORKS"] = ",".join(trust_framework or ["soc2"])
    scheme = "https" if ssl_certfile else "http"
    typer.echo(f"moodle-soc dashboard on {scheme}://{host}:{port}/ (Ctrl+C stops it)", err=True)
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        server_header=False,
        log_level="info",
    )


def _check_trust(store: EvidenceStore, site: str, contact: str, frameworks: list[str]) -> None:
    """Render the trust page once before serving: a bad site, contact or framework fails now."""
    from moodle_soc.api.frameworks import latest_run, render_trust_page

    render_trust_page(latest_run(store, site), contact=contact, frameworks=frameworks)
