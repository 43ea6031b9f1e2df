"""The rows of each population, shaped for an auditor from the site layer's sources.

Account populations join two sources by user id (the ``user`` row and the log event), so an
auditor sees in one row whether both, or only one of them, show the change: a user row without
its event is a logging gap, an event without a row in the period a back-dated account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moodle_soc.site.populations import REASONS, PopulationQueries, Window, iso

Row = dict[str, Any]
Count = Callable[[Iterable[Any]], Iterator[Any]]
Builder = Callable[[PopulationQueries, Window, Count, int], list[Row]]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_USER = _names("userid username firstname lastname auth deleted suspended")
_EVENT = _names("event_id event_time actor_id actor origin evidence")

COLUMNS: dict[str, tuple[str, ...]] = {
    "users_created": (*_USER, "timecreated", *_EVENT),
    "users_deleted_or_suspended": (*_USER, "change", "timemodified", *_EVENT),
    "privileged_role_changes": _names(
        "source source_id time change role roleid userid username context contextlevel"
        " component actor_id actor"
    ),
    "config_changes": _names("id time plugin name oldvalue value masked actor_id actor"),
    "webservice_tokens": _names(
        "id userid username service name tokentype creatorid iprestriction validuntil"
        " timecreated lastaccess created_in_period"
    ),
    "failed_login_bursts": _names("hour username ip attempts first_at last_at userid reasons"),
}
#: Populations read (partly) from the standard log; without it they are incomplete.
NEEDS_LOG = frozenset(
    _names("users_created users_deleted_or_suspended privileged_role_changes failed_login_bursts")
)


def _user_row(row: Row, extra: tuple[str, ...], evidence: str) -> Row:
    values: Row = {key: row[key] for key in _USER}
    for key in (*extra, *_EVENT):
        values[key] = iso(row[key]) if key.startswith("time") else None
    values["evidence"] = evidence
    return values


def _with_events(
    rows: dict[int, Row], events: Iterable[Row], queries: PopulationQueries, extra: tuple[str, ...]
) -> list[Row]:
    """Join account events onto user rows by user id; an event without a row gets one."""
    for event in events:
        row = rows.get(event["userid"])
        if row is None:
            row = dict.fromkeys((*_USER, *extra, *_EVENT))
            row.update(userid=event["userid"], evidence="event only")
            rows[event["userid"]] = row
        elif row["event_id"] is not None:
            continue  # the first event is the one that counts
        else:
            row["evidence"] = "user row and event"
        row.update(event_id=event["event_id"], event_time=iso(event["time"]))
        row.update(actor_id=event["actor_id"], actor=event["actor"], origin=event["origin"])
        if event.get("logged_username"):  # a deleted user's row holds a scrambled username
            row["username"] = event["logged_username"]
    missing = [uid for uid, r in rows.items() if r["username"] is None]
    for uid, username in queries.usernames(missing).items():
        rows[uid]["username"] = username
    return [rows[uid] for uid in sorted(rows)]


def users_created(p: PopulationQueries, w: Window, count: Count, _n: int) -> list[Row]:
    extra = ("timecreated",)
    rows = {r["userid"]: _user_row(r, extra, "user row only") for r in count(p.users_created(w))}
    events = count(p.account_events("created", w)) if p.has_standard_log else []
    return _with_events(rows, events, p, extra)


def users_deleted_or_suspended(p: PopulationQueries, w: Window, count: Count, _n: int) -> list[Row]:
    extra = ("change", "timemodified")
    rows = {}
    for r in count(p.users_deleted_or_suspended(w)):
        row = _user_row(r, extra, "user row only")
        rows[r["userid"]] = row | {"change": "deleted" if row["deleted"] else "suspended"}
    events = count(p.account_events("deleted", w)) if p.has_standard_log else []
    merged = _with_events(rows, events, p, extra)
    for row in merged:
        row["change"] = row["change"] or "deleted"  # a user_deleted event without its row
    return merged


def privileged_role_changes(p: PopulationQueries, w: Window, count: Count, _n: int) -> list[Row]:
    rows = list(count(p.role_changes(w))) if p.has_standard_log else []
    rows += count(p.siteadmin_changes(w))
    names = p.usernames(r["userid"] for r in rows if r["username"] is None and r["userid"])
    for row in rows:
        row["username"] = row["username"] or names.get(row["userid"] or 0)
    rows.sort(key=lambda r: (r["time"], r["source"], r["source_id"], r["userid"] or 0))
    return [r | {"time": iso(r["time"])} for r in rows]


def config_changes(p: PopulationQueries, w: Window, count: Count, _n: int) -> list[Row]:
    return [r | {"time": iso(r["time"])} for r in count(p.config_log(w))]


def webservice_tokens(p: PopulationQueries, w: Window, count: Count, _n: int) -> list[Row]:
    rows = []
    for r in count(p.tokens(w)):
        row = {k: r[k] for k in ("id", "userid", "username", "service", "name", "tokentype")}
        row.update(creatorid=r["creatorid"], iprestriction=r["iprestriction"] or None)
        row.update({k: iso(r[k]) for k in ("validuntil", "timecreated", "lastaccess")})
        row["created_in_period"] = w.start <= int(r["timecreated"] or 0) < w.end
        rows.append(row)
    return rows


@dataclass
class _Burst:
    attempts: int = 0
    first: int = 0
    last: int = 0
    userid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, event: Row) -> None:
        self.attempts += 1
        self.first = min(self.first or event["time"], event["time"])
        self.last = max(self.last, event["time"])
        self.userid = max(self.userid, event["userid"])
        code = event["reason"]
        self.reasons[REASONS.get(code, f"reason {code if code is not None else 'unknown'}")] += 1


def failed_login_bursts(p: PopulationQueries, w: Window, count: Count, threshold: int) -> list[Row]:
    """Failed logins per (UTC hour, username tried, IP): groups of at least ``threshold``.

    Memory holds one small counter per group, never the events themselves."""
    groups: dict[tuple[int, str, str], _Burst] = {}
    for e in count(p.login_failures(w)) if p.has_standard_log else []:
        groups.setdefault((e["time"] - e["time"] % 3600, e["username"], e["ip"]), _Burst()).add(e)
    rows = []
    for (hour, username, ip), g in sorted(groups.items()):
        if g.attempts >= threshold:
            row = {"hour": iso(hour), "username": username, "ip": ip, "attempts": g.attempts}
            row.update(first_at=iso(g.first), last_at=iso(g.last), userid=g.userid or None)
            row["reasons"] = "; ".join(f"{k}: {v}" for k, v in sorted(g.reasons.items()))
            rows.append(row)
    return rows


BUILDERS: dict[str, Builder] = {
    "users_created": users_created,
    "users_deleted_or_suspended": users_deleted_or_suspended,
    "privileged_role_changes": privileged_role_changes,
    "config_changes": config_changes,
    "webservice_tokens": webservice_tokens,
    "failed_login_bursts": failed_login_bursts,
}
