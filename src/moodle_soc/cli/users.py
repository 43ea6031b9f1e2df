"""``moodle-soc users ...``: the web dashboard's accounts, kept in the evidence store.

Passwords come from standard input (``--password-stdin``, one line) or a hidden prompt; they are
never options, so they never land in shell history or ``ps``. Exit codes: 2 usage (an unknown
role, a short password, an auditor without period or expiry), 7 bad input (an unknown site or
user, a user that already exists).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from moodle_soc.cli.common import check_format, fail, open_store, parse_day
from moodle_soc.cli.options import StoreOption
from moodle_soc.errors import MoodleSocError, UsageError
from moodle_soc.safety import terminal_safe

if TYPE_CHECKING:
    from moodle_soc.evidence.store.dashboard import WebUser

users_app = typer.Typer(
    help="Web dashboard users: add, list, disable, enable, reset.", no_args_is_help=True
)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin read no password from standard input.")
        return password
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise UsageError("The two passwords differ.")
    return str(first)


def _describe(user: WebUser) -> dict[str, object]:
    state = "disabled" if user.disabled else "locked" if user.locked_until else "active"
    return {
        "username": user.username,
        "role": user.role,
        "sites": list(user.sites),
        "period": f"{user.period[0]}..{user.period[1]}" if user.period else None,
        "expires": user.expires.isoformat() if user.expires else None,
        "state": state,
    }


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The login name (for a reviewer: their email).")],
    role: Annotated[str, typer.Option(help="admin, manager, reviewer or auditor.")],
    sites: Annotated[
        str | None, typer.Option(help="Only these sites (comma-separated names or keys).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Last day the account works (auditors: required).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="An auditor's audit period, FROM..TO (required for one).")
    ] = None,
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
) -> None:
    """Add a dashboard user."""
    from moodle_soc.api.evidence import parse_period
    from moodle_soc.api.users import add_dashboard_user

    try:
        until: date | None = parse_day(expires, "--expires") if expires else None
        audit_period = parse_period(period) if period else None
        password = _password(password_stdin)
        with open_store(store, create=True) as evidence:
            user = add_dashboard_user(
                evidence,
                name,
                role=role,
                password=password,
                sites=[s.strip() for s in (sites or "").split(",") if s.strip()],
                expires=until,
                period=audit_period,
            )
    except MoodleSocError as error:
        fail(error)
    typer.echo(terminal_safe(f"Added {user.username} ({user.role})."))


@users_app.command("list")
def list_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    store: StoreOption = None,
) -> None:
    """List the dashboard's users."""
    from moodle_soc.api.users import list_dashboard_users

    try:
        check_format(fmt, ("table", "json"))
        with open_store(store) as evidence:
            users = [_describe(u) for u in list_dashboard_users(evidence)]
    except MoodleSocError as error:
        fail(error)
    if fmt == "json":
        typer.echo(json.dumps(users, indent=2))
        return
    if not users:
        typer.echo("No dashboard users; add one with 'moodle-soc users add'.")
    for user in users:
        scope = ",".join(user["sites"]) or "all sites"  # type: ignore[arg-type]
        extra = "".join(
            f" {label} {user[key]}" for key, label in (("period", "period"), ("expires", "expires"))
            if user[key]
        )  # fmt: skip
        typer.echo(
            terminal_safe(f"{user['username']}  {user['role']}  {user['state']}  {scope}{extra}")
        )


@users_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="The login name.")], store: StoreOption = None
) -> None:
    """Stop a user from signing in, and end their sessions now."""
    from moodle_soc.api.users import disable_dashboard_user

    try:
        with open_store(store) as evidence:
            disable_dashboard_user(evidence, name)
    except MoodleSocError as error:
        fail(error)
    typer.echo(terminal_safe(f"Disabled {name}; their sessions have ended."))


@users_app.command("enable")
def enable(
    name: Annotated[str, typer.Argument(help="The login name.")], store: StoreOption = None
) -> None:
    """Let a disabled user sign in again."""
    from moodle_soc.api.users import enable_dashboard_user

    try:
        with open_store(store) as evidence:
            enable_dashboard_user(evidence, name)
    except MoodleSocError as error:
        fail(error)
    typer.echo(terminal_safe(f"Enabled {name}."))


@users_app.command("reset")
def reset(
    name: Annotated[str, typer.Argument(help="The login name.")],
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
) -> None:
    """Set a new password, lift a lockout, and end the user's sessions."""
    from moodle_soc.api.users import reset_dashboard_password

    try:
        password = _password(password_stdin)
        with open_store(store) as evidence:
            reset_dashboard_password(evidence, name, password)
    except MoodleSocError as error:
        fail(error)
    typer.echo(terminal_safe(f"Reset the password of {name}; their sessions have ended."))
