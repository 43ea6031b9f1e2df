"""The top-level commands, loaded on demand.

Building Typer's command tree reads the signature and type hints of every command function,
and importing the command modules costs as much again: about 0.1 s that ``moodle-soc --help``
and every single command would pay for the 20 commands they do not run. ``LazyGroup`` lists
the commands from ``COMMANDS`` (name and one-line summary) and imports and builds a command
only when it is run or its own help is asked for. ``tests/cli/test_startup.py`` checks that
each summary is the one the command itself declares.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import typer
import typer.core
import typer.main

Register = Callable[[typer.Typer], None]


def _scan(app: typer.Typer) -> None:
    from moodle_soc.cli.scan import scan

    app.command()(scan)


def _demo(app: typer.Typer) -> None:
    from moodle_soc.cli.scan import demo

    app.command()(demo)


def _changes(app: typer.Typer) -> None:
    from moodle_soc.cli.changes import changes_command

    app.command("changes")(changes_command)


def _drift(app: typer.Typer) -> None:
    from moodle_soc.cli.changes import drift_command

    app.command("drift")(drift_command)


def _plugins(app: typer.Typer) -> None:
    from moodle_soc.cli.plugins import plugins_command

    app.command("plugins")(plugins_command)


def _worker(app: typer.Typer) -> None:
    from moodle_soc.cli.monitor import worker

    app.command()(worker)


def _monitor(app: typer.Typer) -> None:
    from moodle_soc.cli.monitor import monitor

    app.command()(monitor)


def _serve(app: typer.Typer) -> None:
    from moodle_soc.cli.serve import serve

    app.command()(serve)


def _evidence(app: typer.Typer) -> None:
    from moodle_soc.cli.evidence import evidence_app
    from moodle_soc.cli.oscal import oscal_command
    from moodle_soc.cli.package import export_command, retention_command, verify_package_command
    from moodle_soc.cli.period import populations_command, sample_command

    evidence_app.command("export")(export_command)
    evidence_app.command("verify-package")(verify_package_command)
    evidence_app.command("retention")(retention_command)
    evidence_app.command("oscal")(oscal_command)
    evidence_app.command("populations")(populations_command)
    evidence_app.command("sample")(sample_command)
    app.add_typer(evidence_app, name="evidence")


def _group(module: str, attribute: str, name: str) -> Register:
    """Register the Typer app ``module.attribute`` as the group ``name``."""

    def register(app: typer.Typer) -> None:
        import importlib

        app.add_typer(getattr(importlib.import_module(module), attribute), name=name)

    return register


#: Every top-level command in the order ``--help`` lists them: how to register it, and its
#: one-line summary (the first paragraph of its help, as the command declares it).
COMMANDS: dict[str, tuple[Register, str]] = {
    "scan": (_scan, "Scan a Moodle site read-only, report every control's verdict, and store "
             "the run."),
    "demo": (_demo, 'Build the synthetic "Acme Academy" Moodle site, scan it, and write an HTML '
             "report."),
    "changes": (_changes, "The period's changes, who made them and their approval; stored as "
                "evidence."),
    "drift": (_drift, "Compare two environments; flag production versions staging never ran."),
    "plugins": (_plugins, "Installed plugins with risk flags, advisories and the branch's "
                "support status."),
    "worker": (_worker, "Run a Celery worker that scans fleet sites into the evidence store "
               "(until stopped)."),
    "monitor": (_monitor, "Scan each site on its schedule (cron syntax) and alert on new "
                "failures, fixes, sites that could not be scanned and missed schedules."),
    "serve": (_serve, "Serve the web dashboard (log in with a user from 'moodle-soc users "
              "add')."),
    "checks": (_group("moodle_soc.cli.checks", "checks_app", "checks"),
               "The control catalogue: checks, criteria, remediation."),
    "evidence": (_evidence, "The evidence locker: tamper-evident history of runs and files."),
    "access": (_group("moodle_soc.cli.access", "access_app", "access"),
               "Access review: privileged-access inventory and HR roster."),
    "period": (_group("moodle_soc.cli.period", "period_app", "period"),
               "SOC 2 Type II periods: did each control operate throughout?"),
    "review": (_group("moodle_soc.cli.review", "review_app", "review"),
               "User access review campaigns: start, export, import, close, status, report."),
    "advisories": (_group("moodle_soc.cli.plugins", "advisories_app", "advisories"),
                   "Known Moodle security advisories: the file in force, and newer ones."),
    "fleet": (_group("moodle_soc.cli.fleet", "fleet_app", "fleet"),
              "Scan and report on many sites from one sites.yaml."),
    "frameworks": (_group("moodle_soc.cli.frameworks", "frameworks_app", "frameworks"),
                   "Frameworks: SOC 2, SOC 1, ISO 27001, NIST 800-53 and your own files."),
    "trust": (_group("moodle_soc.cli.frameworks", "trust_app", "trust"),
              "The public trust page for a site's customers."),
    "logs": (_group("moodle_soc.cli.logs", "logs_app", "logs"),
             "Audit-log review: security events of a period, from the standard log "
             "(docs/logs.md)."),
    "readiness": (_group("moodle_soc.cli.readiness", "readiness_app", "readiness"),
                  "The readiness programme: scope, manual controls, checklist, templates."),
    "exception": (_group("moodle_soc.cli.readiness", "exception_app", "exception"),
                  "Risk exceptions: accept a failing check until a date, with owner and "
                  "approver."),
    "remediation": (_group("moodle_soc.cli.readiness", "remediation_app", "remediation"),
                    "Remediation: every failing finding as an item with owner and due date; a "
                    "passing scan closes it."),
    "users": (_group("moodle_soc.cli.users", "users_app", "users"),
              "Web dashboard users: add, list, disable, enable, reset."),
}  # fmt: skip


@functools.cache
def load(name: str) -> Any:
    """The Click command ``name``, built once per process by Typer as the eager tree did."""
    holder = typer.Typer(add_completion=False)
    holder.callback()(_no_options)  # a callback makes Typer build a group, whatever it holds
    COMMANDS[name][0](holder)
    group = typer.main.get_command(holder)
    return group.commands[name]  # type: ignore[attr-defined]


def _no_options() -> None:
    return None


class _Commands(MutableMapping[str, Any]):
    """``name -> command``: every name in ``COMMANDS`` is a key; a value is built when read."""

    def __init__(self) -> None:
        self._extra: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        if name in COMMANDS:
            return load(name)
        raise KeyError(name)

    def __setitem__(self, name: str, command: Any) -> None:
        self._extra[name] = command

    def __delitem__(self, name: str) -> None:
        del self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._extra if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._extra if name not in COMMANDS)


class LazyGroup(typer.core.TyperGroup):
    """The ``moodle-soc`` group: its commands are built on first use (see the module doc)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the summaries, without building any command."""
        from typer._click.utils import make_default_short_help

        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(summary, limit)) for name, (_, summary) in
                COMMANDS.items()]  # fmt: skip
        with formatter.section("Commands"):
            formatter.write_dl(rows)
