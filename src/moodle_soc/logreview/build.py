"""Build the ``LogReview`` of one period from the site's pushed-down aggregates and streams."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from moodle_soc.logreview.detect import BurstDetector, Horizon, Incident, SprayingDetector
from moodle_soc.logreview.stream import Span, StreamState, username_of
from moodle_soc.models.logs import (
    AccountAttempts,
    AdminAction,
    Authentication,
    Burst,
    Category,
    Day,
    FailedLogins,
    IdGapRange,
    IdGaps,
    InactiveLogin,
    Integrity,
    LogReview,
    NewSource,
    Period,
    Privileged,
    Spraying,
    StoreOff,
)
from moodle_soc.site import log_review as q
from moodle_soc.site.db import QueryFailedError
from moodle_soc.site.populations import Window
from moodle_soc.site.role_history import role_change

if TYPE_CHECKING:
    from moodle_soc.logreview.cursor import LogCursor
    from moodle_soc.policy import Policy
    from moodle_soc.site.log_review import AdminEvent, FailedLogin
    from moodle_soc.site.moodle import MoodleSite

STANDARD_STORE = "logstore_standard"
LOCKED_OUT, SUSPENDED = 4, 2


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def build_log_review(
    site: MoodleSite,
    start: date,
    end: date,
    policy: Policy,
    *,
    detail: bool = True,
    cursor: LogCursor | None = None,
) -> LogReview:
    """The review of ``site``'s standard log over the UTC days ``start``..``end``. Without
    ``detail`` (a scan's checks), failed logins are not read one by one: reasons, lockouts
    and suspended accounts' attempts are left out, so the rows read do not grow with the log.
    With ``cursor`` (an incremental re-run, ``logreview.cursor``), the grouped pass and the
    detail stream read only the rows after the cursor's last id and add them to what it kept;
    the cursor then holds this run's results for the next one."""
    first_query = site.query_count
    window = Window.for_days(start, end)
    queries = q.LogReviewQueries(site)
    notes: list[str] = []
    if not queries.has_standard_log:
        notes.append(f"The {q.STANDARD_LOG} table does not exist: there are no events to review.")
    days: list[q.DayCount] = []
    if queries.has_standard_log:
        if cursor is not None:
            days = cursor.read_days(queries, window, _threshold_values(policy))
        else:
            days = queries.day_counts(window)
    events: Counter[str] = Counter()
    for group in days:
        events[group.eventname] += group.rows
    ids = id_range(days)
    auth = None
    admin: dict[str, list[AdminEvent]] = defaultdict(list)
    role_rows: list[q.RoleEventRow] | None = None  # None: read by the role history
    if queries.has_standard_log:
        counted = (events[q.LOGGED_IN], events[q.LOGIN_FAILED])
        failures: Iterable[FailedLogin] = ()
        found: tuple[list[Burst], list[Spraying]] | None = None
        state: StreamState | None = None
        if detail:
            kept = cursor.stream if cursor is not None else None
            state = kept or StreamState(*_threshold_values(policy))
            if cursor is not None:
                cursor.stream = state
        pushed = ids is not None and cursor is None and queries.pushes_down_failures
        if pushed:
            assert ids is not None
            # A scan's checks (no state): the patterns from the same statement; reasons and
            # lockouts, counted on the way, are left out as the stream would leave them.
            scratch = state if state is not None else StreamState(*_threshold_values(policy))
            try:
                found = _pushed_down(queries, window, ids, days, policy, scratch)
            except QueryFailedError as error:  # a statement timeout on a very large log
                notes.append(f"{error} The failed logins were read one by one instead.")
                pushed, found = False, None
                state = StreamState(*_threshold_values(policy)) if detail else None
            else:
                if state is None:
                    for event in scratch.admin:
                        admin[event.eventname].append(event)
        if not pushed and state is not None and ids is not None:
            # One stream reads failed logins, administrative and role events together; the
            # last two are few and kept, the failures are consumed as they come. A re-run
            # reads only the rows after the cursor: the state holds what the others gave.
            after = cursor.resumed_from if cursor is not None else None
            read = ids if after is None else (after + 1, ids[1])
            if read[0] <= read[1]:
                failures = _split(queries.detail_rows(window, read), state)
        elif not pushed and ids is not None:
            for event in queries.admin_events(window, ids):
                admin[event.eventname].append(event)
        auth = _authentication(
            site, queries, window, ids, policy, counted, failures if detail else None, state,
            days, found,
        )  # fmt: skip
        if state is not None:
            for event in state.admin:
                if event.time >= window.start:
                    admin[event.eventname].append(event)
            role_rows = [r for r in state.role_rows if int(r.row["timecreated"]) >= window.start]
        if not detail:
            notes.append(
                "Failed logins were counted, and those of IPs and accounts with many failures"
                " read; the others were not read one by one, so reasons, lockouts and"
                " suspended accounts' attempts are left out (run 'moodle-soc logs' for them)."
            )
    privileged = _privileged(site, queries, window, days, admin, role_rows)
    integrity = _integrity(site, queries, window, start, end, days, auth, cursor)
    return LogReview(
        site=site.identity.name,
        wwwroot=site.identity.wwwroot,
        audit_time=site.audit_time,
        period=Period(start=start, end=end),
        thresholds=_thresholds(policy),
        authentication=auth.model if auth is not None else _no_authentication(),
        privileged=privileged,
        integrity=integrity,
        daily=_daily(start, end, days, privileged),
        events=dict(sorted(events.items())),
        notes=notes,
        queries=list(site.queries_since(first_query)),
    )


def _split(
    rows: Iterable[FailedLogin | AdminEvent | q.RoleEventRow], state: StreamState
) -> Iterator[FailedLogin]:
    """The failed logins of a detail stream; its other events are kept in ``state``."""
    for row in rows:
        if isinstance(row, q.FailedLogin):
            yield row
        elif isinstance(row, q.RoleEventRow):
            state.role_rows.append(row)
        else:
            state.admin.append(row)


def id_range(days: list[q.DayCount]) -> tuple[int, int] | None:
    """The lowest and highest id of the period's rows (None when it has none)."""
    if not days:
        return None
    return min(g.first_id for g in days), max(g.last_id for g in days)


def _threshold_values(policy: Policy) -> tuple[int, int, int, int]:
    """The detectors' thresholds in seconds: a kept detector state holds only for these."""
    return (
        int(policy.burst_failures),
        int(policy.burst_window_minutes) * 60,
        int(policy.spraying_usernames),
        int(policy.spraying_window_hours) * 3600,
    )


def _thresholds(policy: Policy) -> dict[str, int]:
    names = (
        "burst_failures",
        "burst_window_minutes",
        "spraying_usernames",
        "spraying_window_hours",
    )
    return {name: int(getattr(policy, name)) for name in names}


# --- authentication ----------------------------------------------------------------------------


@dataclass
class _Auth:
    model: Authentication
    malformed: int


def _no_authentication() -> Authentication:
    return Authentication(
        successful_logins=0,
        failed_logins=FailedLogins(total=0, by_reason={}),
        bursts=[],
        spraying=[],
        lockouts=[],
        suspended_attempts=[],
        inactive_account_logins=[],
        new_admin_sources=[],
    )


def _authentication(
    site: MoodleSite,
    queries: q.LogReviewQueries,
    window: Window,
    ids: tuple[int, int] | None,
    policy: Policy,
    counted: tuple[int, int],
    failures: Iterable[FailedLogin] | None,
    state: StreamState | None,
    days: list[q.DayCount],
    found: tuple[list[Burst], list[Spraying]] | None = None,
) -> _Auth:
    """With ``state`` (the whole review), every failure of ``failures`` is counted into it
    (reasons, lockouts) and fed to its detectors, unless the patterns were ``found`` by
    ``_pushed_down``; without (a scan's checks), only the candidates' failures are read, for
    the patterns."""
    successful, failed = counted
    patterns = None
    # When the detectors may forget a key: the day groups say how old a failure to come can be.
    horizon = Horizon.of((g.day, g.last_id) for g in days if g.eventname == q.LOGIN_FAILED)
    if found is not None:
        pass
    elif state is not None:
        patterns = _Patterns(queries, window, policy, state=state, horizon=horizon)
        for failure in failures or ():
            patterns.feed(failure)
            state.count_failure(failure, _username(failure), (LOCKED_OUT, SUSPENDED))
    elif ids is not None:
        patterns = _Patterns(queries, window, policy, state=None, horizon=horizon)
        for failure in patterns.rows(window, ids):
            patterns.feed(failure)
    bursts, spraying = patterns.found() if patterns is not None else ([], [])
    if found is not None:
        bursts, spraying = found
    since = window.start
    attempts = state.spans(since) if state is not None else {}
    reasons = state.reason_totals(since) if state is not None else {}
    model = Authentication(
        successful_logins=successful,
        failed_logins=FailedLogins(total=failed, by_reason=reasons),
        bursts=bursts,
        spraying=spraying,
        lockouts=_attempts(attempts, LOCKED_OUT),
        suspended_attempts=_attempts(attempts, SUSPENDED),
        inactive_account_logins=[
            InactiveLogin(
                userid=row["userid"],
                username=row["username"],
                state=row["state"],
                logins=row["logins"],
                last=at(row["last"]),
            )
            for row in queries.inactive_account_logins(window)
        ],
        new_admin_sources=_new_sources(site, queries, window),
    )
    return _Auth(model, state.malformed_total(since) if state is not None else 0)


def _pushed_down(
    queries: q.LogReviewQueries,
    window: Window,
    ids: tuple[int, int],
    days: list[q.DayCount],
    policy: Policy,
    state: StreamState,
) -> tuple[list[Burst], list[Spraying]]:
    """The whole review's failed logins without reading each one (``failure_analysis``):
    reasons and malformed values counted per day and distinct ``other`` value, bursts of the
    keys whose attempts come in time order from the database. Only the rows the detectors
    still need are read, with the administrative and role events, from the id ranges the
    groups located: the failures whose reason keeps a span (lockouts, suspended accounts),
    those of IPs that could be spraying and of keys out of time order."""
    thresholds = _threshold_values(policy)
    found = queries.failure_analysis(window, ids, thresholds)
    kept = (LOCKED_OUT, SUSPENDED)
    values: set[str | None] = set()
    ranges: list[tuple[int, int]] = []
    for group in found.groups:
        _name, reason, malformed = q.decode_failure(group.other)
        state.count_reasons(group.day, reason, malformed, group.rows)
        if reason in kept:
            values.add(group.other)
            ranges.append((group.first_id, group.last_id))
    wanted = q.DETAIL_EVENTS | q.ROLE_DEFINITION_EVENTS
    ranges += [(g.first_id, g.last_id) for g in days if g.eventname in wanted]
    spray_ips, odd_ips = found.spraying_ips, found.disordered["ip"]
    odd_accounts = {int(key): span for key, span in found.disordered["account"].items()}
    ranges += [*spray_ips.values(), *odd_ips.values(), *odd_accounts.values()]
    by_account = BurstDetector(policy.burst_failures, thresholds[1])
    by_ip = BurstDetector(policy.burst_failures, thresholds[1])
    spraying = SprayingDetector(policy.spraying_usernames, thresholds[3])
    chosen = (values, set(spray_ips) | set(odd_ips), set(odd_accounts))
    for row in queries.rows_in_ranges(window, ranges, wanted, chosen):
        if isinstance(row, q.RoleEventRow):
            state.role_rows.append(row)
        elif isinstance(row, q.AdminEvent):
            state.admin.append(row)
        else:
            name = _username(row)
            state.count_span(row, name, kept)  # only a kept reason's rows have a span
            if row.ip in spray_ips:
                spraying.add(row.ip, name, row.time)
            if row.ip in odd_ips:
                by_ip.add(row.ip, row.time)
            if row.userid in odd_accounts:
                by_account.add(str(row.userid), row.time)
    accounts = [
        q.Run(i.key, i.first, i.last, i.failures) for i in by_account.incidents()
    ] + found.bursts["account"]
    names = queries.usernames(int(run.key) for run in accounts)
    bursts = [_burst("account", _incident(r), names.get(int(r.key), f"user {r.key}"))
              for r in accounts]  # fmt: skip
    ips = found.bursts["ip"] + [q.Run(i.key, i.first, i.last, i.failures)
                                for i in by_ip.incidents()]  # fmt: skip
    bursts += [_burst("ip", _incident(r), r.key) for r in ips]
    bursts.sort(key=lambda b: (b.first, b.by, b.key))
    return bursts, [_spraying(i) for i in spraying.incidents()]


def _incident(run: q.Run) -> Incident:
    return Incident(run.key, run.first, run.last, run.failures)


class _Patterns:
    """Bursts and spraying through exact sliding-window detectors. The whole review feeds them
    every failed login (read once anyway, for reasons and lockouts). A scan's checks
    (``candidates``) first find, with grouped queries, the IPs and accounts that could hold
    a pattern (see ``failure_candidates``) and read only their failed logins: feeding every
    failure or only the candidates' gives the same patterns."""

    def __init__(
        self,
        queries: q.LogReviewQueries,
        window: Window,
        policy: Policy,
        *,
        state: StreamState | None,
        horizon: Horizon | None = None,
    ) -> None:
        self.queries = queries
        self.burst_ips: set[str] | None = None  # None: every IP (and account) is fed
        self.accounts: set[int] | None = None
        self.spray_ips: set[str] | None = None
        if state is not None:  # the whole review: every failure goes to the kept detectors
            self.by_account, self.by_ip = state.by_account, state.by_ip
            self.spraying = state.spraying
            self._see(horizon)
            return
        width, spray_width = policy.burst_window_minutes * 60, policy.spraying_window_hours * 3600
        half, spray_half = -(-policy.burst_failures // 2), -(-policy.spraying_usernames // 2)
        self.burst_ips = queries.failure_candidates(window, "ip", width, half)
        accounts = queries.failure_candidates(window, "userid", width, half)
        self.accounts = {int(a) for a in accounts}
        self.spray_ips = queries.failure_candidates(
            window, "ip", spray_width, spray_half, distinct=True
        )
        self.by_account = BurstDetector(policy.burst_failures, width)
        self.by_ip = BurstDetector(policy.burst_failures, width)
        self.spraying = SprayingDetector(policy.spraying_usernames, spray_width)
        self._see(horizon)

    def _see(self, horizon: Horizon | None) -> None:
        for detector in (self.by_account, self.by_ip, self.spraying):
            detector.horizon = horizon

    def rows(self, window: Window, ids: tuple[int, int]) -> Iterator[FailedLogin]:
        """Only the candidates' failed logins."""
        return self.queries.failed_logins(
            window, ids, ips=(self.burst_ips or set()) | (self.spray_ips or set()),
            userids=self.accounts or set(),
        )  # fmt: skip

    def feed(self, failure: FailedLogin) -> None:
        # The candidate queries never name account 0 or an empty IP: neither is fed.
        userid, ip = failure.userid, failure.ip
        if userid > 0 and (self.accounts is None or userid in self.accounts):
            self.by_account.add(str(userid), failure.time, failure.id)
        if ip and (self.burst_ips is None or ip in self.burst_ips):
            self.by_ip.add(ip, failure.time, failure.id)
        if ip and (self.spray_ips is None or ip in self.spray_ips):
            self.spraying.add(ip, _username(failure), failure.time, failure.id)

    def found(self) -> tuple[list[Burst], list[Spraying]]:
        accounts = self.by_account.incidents()
        names = self.queries.usernames(int(i.key) for i in accounts)
        bursts = [_burst("account", i, names.get(int(i.key), f"user {i.key}")) for i in accounts]
        bursts += [_burst("ip", i, i.key) for i in self.by_ip.incidents()]
        bursts.sort(key=lambda b: (b.first, b.by, b.key))
        return bursts, [_spraying(i) for i in self.spraying.incidents()]


def _username(failure: FailedLogin) -> str:
    return username_of(failure)


def _burst(by: str, incident: Incident, key: str) -> Burst:
    return Burst.model_validate(
        {
            "by": by,
            "key": key,
            "failures": incident.failures,
            "first": at(incident.first),
            "last": at(incident.last),
        }
    )


def _spraying(incident: Incident) -> Spraying:
    return Spraying(
        ip=incident.key,
        usernames=len(incident.usernames),
        failures=incident.failures,
        first=at(incident.first),
        last=at(incident.last),
        sample=list(incident.usernames)[:10],
    )


def _attempts(found: dict[tuple[int, str, int], Span], reason: int) -> list[AccountAttempts]:
    rows = [
        AccountAttempts(
            username=name, userid=userid, attempts=span.count, first=at(span.first),
            last=at(span.last),
        )
        for (code, name, userid), span in found.items()
        if code == reason
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r.first, r.username))


def _new_sources(site: MoodleSite, queries: q.LogReviewQueries, window: Window) -> list[NewSource]:
    admins = site.site_admin_ids
    sources = [s for s in queries.login_sources(window, admins) if s.first >= window.start and s.ip]
    names = queries.usernames(s.userid for s in sources)
    return [
        NewSource(
            userid=s.userid,
            username=names.get(s.userid, f"user {s.userid}"),
            ip=s.ip,
            first=at(s.first),
            logins=s.in_period,
        )
        for s in sorted(sources, key=lambda s: (s.first, s.userid, s.ip))
    ]


# --- privileged activity -----------------------------------------------------------------------


def _privileged(
    site: MoodleSite,
    queries: q.LogReviewQueries,
    window: Window,
    days: list[q.DayCount],
    detail: dict[str, list[AdminEvent]],
    role_rows: list[q.RoleEventRow] | None,
) -> Privileged:
    totals: Counter[str] = Counter()
    acting_as = 0
    for group in days:
        acting_as += group.acting_as
        for counter, counted in q.COUNTERS.items():
            if group.eventname in counted:
                totals[counter] += group.rows
    people = {e.userid for events in detail.values() for e in events}
    people |= {e.relateduserid for events in detail.values() for e in events if e.relateduserid}
    people |= {e.realuserid for events in detail.values() for e in events if e.realuserid}
    if role_rows is not None:
        people |= {int(r.row["userid"] or 0) for r in role_rows}
    names = queries.usernames(people)
    wanted = system_roles_wanted(detail) or bool(role_rows)
    role_names = queries.role_names() if wanted else {}
    settings = list(site.history.setting_changes(window))
    if role_rows is not None:  # read with the failed logins: the names are looked up here
        roles = [
            role_change(r.row, role_names.get(int(r.row["objectid"] or 0)),
                        names.get(int(r.row["userid"] or 0)))
            for r in role_rows
        ]  # fmt: skip
    else:
        roles = list(site.history.roles.events(window)) if queries.has_standard_log else []
    system_roles = [
        e
        for name in (q.ROLE_ASSIGNED, q.ROLE_UNASSIGNED)
        for e in detail[name]
        if q.is_system_level(e.contextlevel)
    ]
    by_others = [e for e in detail[q.PASSWORD_UPDATED] if e.relateduserid not in (None, e.userid)]
    return Privileged(
        config_changes=Category(
            total=len(settings),
            items=[
                AdminAction(
                    id=f"config_log:{c.id}",
                    at=at(c.time),
                    what=f"{c.plugin}/{c.name}",
                    by_id=c.userid,
                    by_username=c.username,
                    detail=f"{_shown(c.old)} → {_shown(c.new)}",
                )
                for c in settings
            ],
        ),
        role_changes=Category(
            total=totals["role_changes"],
            items=[
                AdminAction(
                    id=f"{r.source}:{r.id}",
                    at=at(r.time),
                    what=r.what,
                    by_id=r.userid,
                    by_username=r.username,
                    detail=" ".join(
                        part
                        for part in (r.role, r.capability or "", r.context, _perm(r.old, r.new))
                        if part
                    ),
                )
                for r in roles
                if r.source == q.STANDARD_LOG
            ],
        ),
        role_assignments=Category(
            total=totals["role_assignments"],
            items=[
                _action(e, names, _role_detail(e, role_names))
                for e in sorted(system_roles, key=_id)
            ],
        ),
        users_created=Category(total=totals["users_created"], items=[]),
        users_deleted=Category(
            total=totals["users_deleted"],
            items=[_action(e, names, _deleted_detail(e)) for e in detail[q.USER_DELETED]],
        ),
        passwords_changed_by_others=Category(
            total=len(by_others), items=[_action(e, names, "") for e in by_others]
        ),
        loginas_sessions=Category(
            total=totals["loginas_sessions"],
            items=[_action(e, names, "") for e in detail[q.LOGGED_IN_AS]],
        ),
        acting_as_rows=acting_as,
        tokens_created=Category(
            total=totals["tokens_created"],
            items=[_action(e, names, _token_detail(e)) for e in detail[q.TOKEN_CREATED]],
        ),
        ws_login_failures=totals["ws_login_failures"],
    )


def _id(event: AdminEvent) -> int:
    return event.id


def _shown(value: str | None) -> str:
    return "(none)" if value is None else repr(value)


def _perm(old: str | None, new: str | None) -> str:
    return f"{old or '?'} → {new}" if new is not None else ""


WHAT = {
    q.ROLE_ASSIGNED: "role assigned at system level",
    q.ROLE_UNASSIGNED: "role removed at system level",
    q.USER_DELETED: "user deleted",
    q.PASSWORD_UPDATED: "password changed by another user",
    q.LOGGED_IN_AS: "logged in as another user",
    q.TOKEN_CREATED: "web-service token created",
}


def _action(event: AdminEvent, names: dict[int, str], detail: str) -> AdminAction:
    return AdminAction(
        id=f"{q.STANDARD_LOG}:{event.id}",
        at=at(event.time),
        what=WHAT.get(event.eventname, event.eventname),
        by_id=event.userid,
        by_username=names.get(event.userid),
        real_by_id=event.realuserid,
        target_id=event.relateduserid,
        target_username=None if event.relateduserid is None else names.get(event.relateduserid),
        detail=detail,
        ip=event.ip,
    )


def system_roles_wanted(detail: dict[str, list[AdminEvent]]) -> bool:
    return bool(detail[q.ROLE_ASSIGNED] or detail[q.ROLE_UNASSIGNED])


def _role_detail(event: AdminEvent, roles: dict[int, str]) -> str:
    if event.objectid is None:
        return ""
    return f"role {roles.get(event.objectid, event.objectid)}"


def _deleted_detail(event: AdminEvent) -> str:
    username = event.other.get("username")
    return f"username {username}" if username else ""


def _token_detail(event: AdminEvent) -> str:
    return "created automatically" if event.other.get("auto") else "created by a user"


# --- integrity ---------------------------------------------------------------------------------


def _integrity(
    site: MoodleSite,
    queries: q.LogReviewQueries,
    window: Window,
    start: date,
    end: date,
    days: list[q.DayCount],
    auth: _Auth | None,
    cursor: LogCursor | None,
) -> Integrity:
    seen = {at(group.day).date() for group in days}
    last_day = min(end, site.audit_time.date())
    silent = [d for d in _each_day(start, last_day) if d not in seen]
    first_id = min((g.first_id for g in days), default=None)
    last_id = max((g.last_id for g in days), default=None)
    missing, gaps = 0, list[q.IdGap]()
    if first_id is not None and last_id is not None:
        if cursor is not None:
            missing, gaps = cursor.id_gaps(queries, first_id, last_id)
        else:
            missing, gaps = queries.id_gaps(first_id, last_id)
    oldest = queries.oldest_row() if queries.has_standard_log else None
    lifetime = site.settings.int("loglifetime", "logstore_standard")
    period_days = (end - start).days + 1
    malformed = auth.malformed if auth is not None else 0
    return Integrity(
        days_without_events=silent,
        id_gaps=IdGaps(
            first_id=first_id,
            last_id=last_id,
            missing=missing,
            ranges=[IdGapRange(after=g.after, before=g.before, missing=g.missing) for g in gaps],
            truncated=len(gaps) >= q.MAX_GAPS,
        ),
        store_disabled=_store_off(queries, window),
        store_enabled_now=STANDARD_STORE in site.settings.items("enabled_stores", "tool_log"),
        retention_days=lifetime,
        retention_shorter_than_period=0 < lifetime < period_days,
        oldest_row=None if oldest is None else at(oldest),
        covers_period_start=oldest is not None and oldest <= window.start,
        malformed_other=malformed,
    )


def _each_day(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _enabled(value: str | None) -> bool:
    return STANDARD_STORE in [part.strip() for part in (value or "").split(",")]


def _store_off(queries: q.LogReviewQueries, window: Window) -> list[StoreOff]:
    """Times in the window the standard store was off, from config_log's recorded values."""
    history = queries.store_history()
    off: list[StoreOff] = []
    state_at_start = True
    for time, value, _userid in history:
        if time < window.start:
            state_at_start = _enabled(value)
    opened: tuple[int | None, int | None] | None = None if state_at_start else (None, None)
    for time, value, userid in history:
        if not window.start <= time < window.end:
            continue
        enabled = _enabled(value)
        if not enabled and opened is None:
            opened = (time, userid)
        elif enabled and opened is not None:
            off.append(_off(opened, time))
            opened = None
    if opened is not None:
        off.append(_off(opened, None))
    return off


def _off(opened: tuple[int | None, int | None], closed: int | None) -> StoreOff:
    start, userid = opened
    return StoreOff.model_validate(
        {
            "from": None if start is None else at(start),
            "to": None if closed is None else at(closed),
            "by_id": userid,
        }
    )


# --- daily series ------------------------------------------------------------------------------


def _daily(start: date, end: date, days: list[q.DayCount], privileged: Privileged) -> list[Day]:
    totals: dict[date, Counter[str]] = defaultdict(Counter)
    for group in days:
        counts = totals[at(group.day).date()]
        counts["events"] += group.rows
        for counter, names in q.COUNTERS.items():
            if group.eventname in names and counter != "config_changes":
                counts[counter] += group.rows
    for change in privileged.config_changes.items:
        totals[change.at.date()]["config_changes"] += 1
    series = []
    for day in _each_day(start, end):
        counts = totals.get(day, Counter())
        series.append(
            Day(
                day=day,
                events=counts["events"],
                counts={name: counts[name] for name in q.COUNTERS},
            )
        )
    return series
