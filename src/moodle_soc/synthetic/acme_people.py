"""Acme Academy's students and teachers, generated as streams so 200,000 users fit in memory.

Person ``i`` is a pure function of ``(seed, i)``; each table's stream recomputes the people it
needs instead of keeping them, so memory stays flat whatever the size.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from .acme_data import FIRST_NAMES, LAST_NAMES
from .builder import SiteBuilder
from .events import OtherFormat, event_row
from .fakes import fake_secret, password_hash

__all__ = ["DAY", "JSON_FOR", "WINDOW", "Course", "Person", "Population"]

DAY = 86400
WINDOW = 400 * DAY  # the generated log history
JSON_FOR = 250 * DAY  # logstore_standard/jsonformat has been 1 for this long


_STATES = ((0.03, "deleted"), (0.07, "suspended"), (0.13, "never"), (0.28, "dormant"),
           (1.0, "active"))  # fmt: skip


class Course(NamedTuple):
    courseid: int
    contextid: int
    enrolid: int


class Person(NamedTuple):
    n: int  # position in the population
    uid: int
    username: str
    firstname: str
    lastname: str
    email: str
    state: str  # active, dormant, never, suspended or deleted
    teacher: bool
    course: Course
    ip: str
    timecreated: int
    logins: tuple[int, ...]  # ascending login times; the last is the current login
    deleted_at: int


@cache
def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@dataclass
class Population:
    """`size` regular users with reserved ids in `builder`, and where the story's dates fall."""

    builder: SiteBuilder
    size: int
    seed: int
    courses: list[Course]
    json_since: int  # logs before this are PHP-serialized (jsonformat was 0)
    lockout_until: int  # lockout was on until this time (failure reason 4 possible)

    def __post_init__(self) -> None:
        b = self.builder
        self.now = b.now
        self.first_uid = b.reserve_ids("user", self.size)
        self.first_ctx = b.reserve_ids("context", self.size)
        self.first_ra = b.reserve_ids("role_assignments", self.size)
        self.first_ue = b.reserve_ids("user_enrolments", self.size)

    def person(self, i: int) -> Person:
        rand = random.Random((self.seed << 32) | i).random

        def pick(low: int, high: int) -> int:  # randint, without its overhead
            return low + int(rand() * (high - low + 1))

        first = FIRST_NAMES[pick(0, len(FIRST_NAMES) - 1)]
        last = LAST_NAMES[pick(0, len(LAST_NAMES) - 1)]
        username = f"{_ascii(first)}.{_ascii(last)}{i + 1}"
        roll = rand()
        state = next(name for limit, name in _STATES if roll < limit)
        created = self.now - pick(20, 760) * DAY - pick(0, DAY)
        deleted_at = self.now - pick(5, 90) * DAY if state == "deleted" else 0
        logins: tuple[int, ...] = ()
        if state != "never":
            if state == "dormant":
                latest = self.now - pick(120, 400) * DAY
            elif state == "deleted":
                latest = deleted_at - pick(1, 60) * DAY
            else:
                latest = self.now - pick(0, 45 * DAY)
            created = min(created, latest - pick(2, 300) * DAY)
            count = pick(2, 4) if state == "dormant" else pick(4, 7)
            logins = (*sorted(pick(created + 3600, latest) for _ in range(count - 1)), latest)
        course = self.courses[pick(0, len(self.courses) - 1)]
        ip = f"{'203.0.113' if rand() < 0.5 else '198.51.100'}.{pick(1, 254)}"
        return Person(i, self.first_uid + i, username, first, last,
                      f"{username}@acme.example.test", state, rand() < 0.08, course, ip,
                      created, logins, deleted_at)  # fmt: skip

    def people(self) -> Iterator[Person]:
        return (self.person(i) for i in range(self.size))

    # -- one stream per table --------------------------------------------------------------------

    def user_rows(self) -> Iterator[dict[str, Any]]:
        for p in self.people():
            last = p.logins[-1] if p.logins else 0
            row = {"id": p.uid, "auth": "manual", "confirmed": 1, "mnethostid": 1,
                   "username": p.username, "firstname": p.firstname, "lastname": p.lastname,
                   "email": p.email, "suspended": int(p.state == "suspended"),
                   "password": password_hash(f"{self.seed}:acme:user:{p.uid}"),
                   "secret": fake_secret(f"{self.seed}:acme:secret:{p.uid}", 15),
                   "firstaccess": p.logins[0] if p.logins else 0, "lastaccess": last,
                   "lastlogin": p.logins[-2] if len(p.logins) > 1 else 0, "currentlogin": last,
                   "lastip": p.ip if p.logins else "", "timecreated": p.timecreated,
                   "timemodified": max(p.timecreated, last), "city": "Springfield",
                   "country": "US"}  # fmt: skip
            if p.state == "deleted":  # Moodle scrambles the identity of deleted accounts
                row["username"] = f"{p.email}.{p.deleted_at}"
                row.update(email=hashlib.md5(p.username.encode()).hexdigest(), deleted=1)
                row["timemodified"] = p.deleted_at
            yield row

    def context_rows(self) -> Iterator[dict[str, Any]]:
        for p in self.people():
            if p.state != "deleted":  # deleting a user deletes the user's context
                ctx = self.first_ctx + p.n
                yield {"id": ctx, "contextlevel": 30, "instanceid": p.uid, "path": f"/1/{ctx}",
                       "depth": 2, "locked": 0}  # fmt: skip

    def role_assignment_rows(self) -> Iterator[dict[str, Any]]:
        for p in self.people():
            if p.state != "deleted":
                yield {"id": self.first_ra + p.n, "roleid": 3 if p.teacher else 5,
                       "contextid": p.course.contextid, "userid": p.uid,
                       "timemodified": p.timecreated + 3600, "modifierid": 2, "component": "",
                       "itemid": 0, "sortorder": 0}  # fmt: skip

    def enrolment_rows(self) -> Iterator[dict[str, Any]]:
        for p in self.people():
            if p.state != "deleted":
                enrolled = p.timecreated + 3600
                yield {"id": self.first_ue + p.n, "status": 0, "enrolid": p.course.enrolid,
                       "userid": p.uid, "timestart": enrolled, "timeend": 0, "modifierid": 2,
                       "timecreated": enrolled, "timemodified": enrolled}  # fmt: skip

    def log_rows(self) -> Iterator[dict[str, Any]]:
        start = self.now - WINDOW
        for p in self.people():
            for row in self.person_events(p):
                if row["timecreated"] >= start:
                    yield row

    # -- a person's history --------------------------------------------------------------------

    def person_events(self, p: Person) -> Iterator[dict[str, Any]]:
        rand = random.Random((self.seed << 32) | p.n | (1 << 31)).random
        ctx = self.first_ctx + p.n
        user_ctx = {"contextid": ctx, "contextlevel": 30, "contextinstanceid": p.uid}
        course = p.course
        course_ctx = {"contextid": course.contextid, "contextlevel": 50,
                      "contextinstanceid": course.courseid,
                      "courseid": course.courseid}  # fmt: skip
        role = {"objecttable": "role", "objectid": 3 if p.teacher else 5, "relateduserid": p.uid}
        assignment = {"id": self.first_ra + p.n, "component": "", "itemid": 0}

        def event(name: str, when: int, **fields: Any) -> dict[str, Any]:
            fmt: OtherFormat = "json" if when >= self.json_since else "php"
            return event_row(name, timecreated=when, other_format=fmt, **fields)

        yield event(r"\core\event\user_created", p.timecreated, userid=2, crud="c",
                    objecttable="user", objectid=p.uid, relateduserid=p.uid,
                    ip="198.51.100.10", **user_ctx)  # fmt: skip
        yield event(r"\core\event\role_assigned", p.timecreated + 3600, userid=2, crud="c",
                    other=assignment, ip="198.51.100.10", **role, **course_ctx)  # fmt: skip
        for when in p.logins:
            if rand() < 0.12:
                reason = 4 if when < self.lockout_until and rand() < 0.3 else 3
                yield event(r"\core\event\user_login_failed", when - 40, userid=p.uid,
                            other={"username": p.username, "reason": reason}, ip=p.ip)  # fmt: skip
            yield event(r"\core\event\user_loggedin", when, userid=p.uid, objecttable="user",
                        objectid=p.uid, ip=p.ip,
                        other={"username": p.username, "extrauserinfo": []})  # fmt: skip
            if rand() < 0.85:
                yield event(r"\core\event\course_viewed", when + 30, userid=p.uid, edulevel=2,
                            ip=p.ip, **course_ctx)  # fmt: skip
        if p.logins and rand() < 0.2:
            yield event(r"\core\event\user_password_updated", p.logins[-1] + 60, userid=p.uid,
                        crud="u", relateduserid=p.uid, ip=p.ip,
                        other={"forgottenreset": rand() < 0.5}, **user_ctx)  # fmt: skip
        if rand() < 0.01:
            yield event(r"\core\event\user_login_failed", self.now - int(rand() * WINDOW),
                        userid=p.uid, other={"username": p.username, "reason": 5},
                        ip=p.ip)  # fmt: skip
        if p.state == "suspended":
            for _ in range(1 + int(rand() * 3)):
                yield event(r"\core\event\user_login_failed",
                            self.now - int(rand() * 30 * DAY), userid=p.uid,
                            other={"username": p.username, "reason": 2}, ip=p.ip)  # fmt: skip
        if p.state == "deleted":
            yield event(r"\core\event\role_unassigned", p.deleted_at - 60, userid=2, crud="d",
                        other=assignment, ip="198.51.100.10", **role, **course_ctx)  # fmt: skip
            yield event(r"\core\event\user_deleted", p.deleted_at, userid=2, crud="d",
                        objecttable="user", objectid=p.uid, relateduserid=p.uid,
                        ip="198.51.100.10",
                        other={"username": p.username, "email": p.email, "idnumber": "",
                               "picture": 0, "mnethostid": 1}, **user_ctx)  # fmt: skip

    def register(self) -> None:
        """Stream every table's rows into the builder."""
        b, n = self.builder, self.size
        b.extend("user", self.user_rows, expected=n)
        b.extend("context", self.context_rows, expected=n)
        b.extend("role_assignments", self.role_assignment_rows, expected=n)
        b.extend("user_enrolments", self.enrolment_rows, expected=n)
        b.extend("logstore_standard_log", self.log_rows, expected=10 * n)
