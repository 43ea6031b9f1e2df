"""``sites.yaml``: the fleet's sites, once, with how to reach each and who it belongs to.

Validated as a whole with pydantic; every problem names its line (``sites.yaml:12:
sites[3].db: …``), and all of them are reported at once. Passwords never live in the file:
each site names the environment variable that holds its database password (``password_env``),
and a password key or a password inside a URL is refused. The format is documented in
docs/fleet.md.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from moodle_soc.errors import BadInputError
from moodle_soc.fleet.alerting import AlertSettings
from moodle_soc.fleet.yamlsource import LocatedYaml, YamlProblem, load_located
from moodle_soc.policy import Policy

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
#: Keys that would put a secret in the file; the value belongs in an environment variable.
_SECRET_KEYS = frozenset({"password", "dbpass", "pass", "passwd", "secret", "token"})
_URL_PASSWORD = re.compile(r"^[a-z0-9+]+://[^/@:]*:[^/@]*@", re.IGNORECASE)
DEFAULT_TIMEOUT = 1800.0
DEFAULT_STATEMENT_TIMEOUT = 120.0


def valid_schedule(text: str) -> str:
    """A five-field cron expression croniter accepts (``0 3 * * *``)."""
    from croniter import croniter

    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(f"{text!r} is not a cron schedule such as '0 3 * * *'")
    return text


class Defaults(BaseModel):
    """Values every site gets unless it sets its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: str | None = None
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0)
    statement_timeout: float = Field(DEFAULT_STATEMENT_TIMEOUT, gt=0)
    client: str = Field("default", pattern=_NAME)
    host: str | None = Field(None, pattern=_NAME)

    _schedule = field_validator("schedule")(lambda v: None if v is None else valid_schedule(v))


class SiteEntry(BaseModel):
    """One Moodle site of the fleet (fields not given come from ``defaults:``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    config: Path | None = None
    db: str | None = None
    prefix: str | None = None
    wwwroot: str | None = None
    password_env: str | None = Field(None, pattern=_ENV)
    client: str | None = Field(None, pattern=_NAME)
    host: str | None = Field(None, pattern=_NAME)
    environment: Literal["production", "staging"] = "production"
    pairs_with: str | None = Field(None, pattern=_NAME)
    tags: tuple[str, ...] = ()
    policy: dict[str, Any] = Field(default_factory=dict)
    checks: tuple[str, ...] = ()
    schedule: str | None = None
    timeout: float | None = Field(None, gt=0)
    statement_timeout: float | None = Field(None, gt=0)

    _schedule = field_validator("schedule")(lambda v: None if v is None else valid_schedule(v))

    @field_validator("db")
    @classmethod
    def _no_password_in_url(cls, value: str | None) -> str | None:
        if value is not None and _URL_PASSWORD.match(value):
            raise ValueError("the URL holds a password; name its variable with password_env")
        return value


class DriftSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Observed values that differ between sites by nature, never drift.
    ignore: tuple[str, ...] = ("wwwroot", "siteadmins", "usernames", "count", "siteidentifier")


class SitesFile(BaseModel):
    """The whole file: ``sites:`` plus optional ``defaults:``, ``policy:``, ``store:``,
    ``alerts:`` and ``drift:``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[SiteEntry, ...] = Field(min_length=1)
    defaults: Defaults = Defaults()
    policy: dict[str, Any] = Field(default_factory=dict)
    store: str | None = None
    alerts: AlertSettings = AlertSettings()
    drift: DriftSettings = DriftSettings()


class FleetSite(BaseModel):
    """A site with its defaults applied and its policy resolved: what a worker scans.

    Plain JSON-able data, so it travels in a Celery message as it is."""

    model_config = ConfigDict(frozen=True)

    name: str
    config: str | None
    db: str | None
    prefix: str | None
    wwwroot: str | None
    password_env: str | None
    client: str
    host: str | None
    environment: str
    pairs_with: str | None
    tags: tuple[str, ...]
    policy: dict[str, Any]
    checks: tuple[str, ...]
    schedule: str | None
    timeout: float
    statement_timeout: float

    def password(self) -> str | None:
        """The password from ``password_env`` in this process's environment."""
        from moodle_soc.errors import CannotConnectError

        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise CannotConnectError(
                f"The environment variable {self.password_env} (password_env of site"
                f" {self.name}) is not set on this machine."
            )
        return value

    def resolved_policy(self) -> Policy:
        return Policy.model_validate(self.policy)


class Fleet(BaseModel):
    """A validated sites file."""

    model_config = ConfigDict(frozen=True)

    path: str
    sites: tuple[FleetSite, ...]
    store: str | None
    alerts: AlertSettings
    drift: DriftSettings

    def select(self, only: list[str] | tuple[str, ...] = ()) -> list[FleetSite]:
        """Every site, or those named in ``only`` (by name, client, host or tag)."""
        if not only:
            return list(self.sites)
        wanted = set(only)
        chosen = [
            site
            for site in self.sites
            if site.name in wanted
            or site.client in wanted
            or (site.host is not None and site.host in wanted)
            or wanted & set(site.tags)
        ]
        known = {s.name for s in self.sites} | {s.client for s in self.sites}
        known |= {s.host for s in self.sites if s.host} | {t for s in self.sites for t in s.tags}
        unknown = sorted(wanted - known)
        if unknown:
            raise BadInputError(
                f"--only {unknown[0]!r} names no site, client, host or tag of {self.path}."
            )
        return chosen

    def site(self, name: str) -> FleetSite:
        for site in self.sites:
            if site.name == name:
                return site
        raise BadInputError(f"{self.path} has no site named {name!r}.")


class SitesFileError(BadInputError):
    """Everything wrong with a sites file, each problem with its line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path} has {len(problems)} {noun}: {shown}.")
        self.problems = problems


def load_fleet(path: Path) -> Fleet:
    """Read and validate ``path``; every problem is reported with its line (exit code 7)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return parse_fleet(text, str(path), base=path.parent)


def parse_fleet(text: str, source: str = "sites.yaml", *, base: Path | None = None) -> Fleet:
    try:
        located = load_located(text)
    except YamlProblem as problem:
        raise SitesFileError(source, [_at(source, problem.line, problem.message)]) from None
    if not isinstance(located.data, dict):
        raise SitesFileError(source, [_at(source, 1, "the file must be a mapping with sites:")])
    problems = _secrets(located, source)
    try:
        parsed = SitesFile.model_validate(located.data)
    except ValidationError as exc:
        problems += [_pydantic_problem(located, source, error) for error in exc.errors()]
        raise SitesFileError(source, problems) from None
    problems += _cross_checks(parsed, located, source)
    if problems:
        raise SitesFileError(source, problems)
    return _resolve(parsed, source, base)


def _at(source: str, line: int | None, message: str) -> str:
    return f"{source}:{line}: {message}" if line else f"{source}: {message}"


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _pydantic_problem(located: LocatedYaml, source: str, error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = str(error["msg"]).removeprefix("Value error, ")
    return _at(source, located.line_of(loc), f"{_dotted(loc) or 'file'}: {message}")


def _secrets(located: LocatedYaml, source: str) -> list[str]:
    """A secret written into the file is refused wherever it is."""
    found = []
    for path, line in sorted(located.lines.items(), key=lambda item: item[1]):
        if path and isinstance(path[-1], str) and path[-1].lower() in _SECRET_KEYS:
            found.append(
                _at(
                    source,
                    line,
                    f"{_dotted(path)}: passwords never go in this file; put it in an environment"
                    " variable and name the variable with password_env",
                )
            )
    return found


def _cross_checks(parsed: SitesFile, located: LocatedYaml, source: str) -> list[str]:
    problems = []
    counts = Counter(site.name for site in parsed.sites)
    production = {s.name for s in parsed.sites if s.environment == "production"}
    for n, site in enumerate(parsed.sites):
        here = ("sites", n)

        def problem(field: str, message: str, here: tuple[str | int, ...] = here) -> None:
            path = (*here, field)
            problems.append(_at(source, located.line_of(path), f"{_dotted(path)}: {message}"))

        if counts[site.name] > 1:
            problem("name", f"site name {site.name!r} is used more than once")
        if (site.config is None) == (site.db is None):
            problem("config", "give exactly one of config (a config.php path) or db (a URL)")
        if site.pairs_with is not None and site.pairs_with not in production:
            problem("pairs_with", f"{site.pairs_with!r} is not a production site of this file")
        try:
            Policy.model_validate({**parsed.policy, **site.policy})
        except ValidationError as exc:
            for error in exc.errors():
                key = tuple(error["loc"])
                in_site = bool(key) and key[0] in site.policy
                path = (*here, "policy", *key) if in_site else ("policy", *key)
                problems.append(
                    _at(source, located.line_of(path), f"{_dotted(path)}: {error['msg']}")
                )
    return problems


def _resolve(parsed: SitesFile, source: str, base: Path | None) -> Fleet:
    d = parsed.defaults
    sites = []
    for site in parsed.sites:
        config = site.config
        if config is not None and base is not None and not config.is_absolute():
            config = base / config  # relative to the sites file, wherever moodle-soc runs
        sites.append(
            FleetSite(
                name=site.name,
                config=None if config is None else str(config),
                db=site.db,
                prefix=site.prefix,
                wwwroot=site.wwwroot,
                password_env=site.password_env,
                client=site.client or d.client,
                host=site.host or d.host,
                environment=site.environment,
                pairs_with=site.pairs_with,
                tags=site.tags,
                policy={**parsed.policy, **site.policy},
                checks=site.checks,
                schedule=site.schedule or d.schedule,
                timeout=site.timeout or d.timeout,
                statement_timeout=site.statement_timeout or d.statement_timeout,
            )
        )
    return Fleet(
        path=source,
        sites=tuple(sites),
        store=parsed.store,
        alerts=parsed.alerts,
        drift=parsed.drift,
    )
