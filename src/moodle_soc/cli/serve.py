"""``moodle-soc serve``: the web dashboard over an evidence store, under uvicorn.

The CLI does not import the dashboard (they are sibling front ends over ``moodle_soc.api``):
uvicorn loads ``moodle_soc.web.app:from_environment`` with ``MOODLE_SOC_STORE`` naming the
store, exactly as a deployment's ``uvicorn --factory`` line does (docs/web.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from moodle_soc.cli.common import fail, open_store
from moodle_soc.cli.options import StoreOption
from moodle_soc.errors import MoodleSocError, UsageError

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
        with open_store(store) as evidence:  # a missing store fails here, in one line
            location = evidence.location
    except MoodleSocError as error:
        fail(error)
    import uvicorn

    os.environ["MOODLE_SOC_STORE"] = location
    os.environ["MOODLE_SOC_LOGIN_RATE"] = str(login_rate)
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
