"""Acme Academy: the demo site, realistic and deliberately weak in documented ways.

``build_acme()`` returns a `SiteBuilder` holding a 3-year-old Moodle site: categories and
courses, students and teachers enrolled in them, a few managers, web service tokens, cron,
backups and about ten log rows per user. The log history covers the last 400 days
(PHP-serialized ``other`` until JSON was switched on 250 days ago, JSON since); ``config_log``
goes back to the install, and every setting change inside the log history also has its
``config_log_created`` event, so the history explains the state.

Deliberate weaknesses (``ACME_WEAKNESSES``, key: finding):

* password_policy_weak: minimum length 6, no character classes, no reuse limit.
* lockout_disabled: lockoutthreshold 0 (it was 5 until 300 days ago).
* mfa_disabled: tool_mfa/enabled 0 (it was on for 100 days; 4.3+ only).
* session_timeout_long: sessiontimeout 86400.
* too_many_site_admins: three site admins: admin, j.hartley and admin2.
* dormant_site_admin: j.hartley last accessed the site 200 days ago.
* generic_admin_account: admin2.
* support_manager: the generic ``support`` user is a manager at system level.
* risky_override: editingteacher allowed moodle/user:loginas in one course.
* web_services_exposed: web services on with rest and soap, mobile service on.
* tokens_unrestricted: two tokens without IP restriction or expiry, one owned by admin2.
* expired_token_present: a token whose validuntil is 30 days past.
* log_retention_short: logstore_standard/loglifetime 90 (set 2 days ago; cleanup never ran).
* backups_failing: automated backups on, last backup of two courses failed (laststatus '0').
* cron_stale: tool_task/lastcronstart 3 days ago.
* task_failing: ``\\core\\task\\automated_backup_task`` has faildelay 7200.
* debug_display: debug 32767 with debugdisplay 1.
* frame_embedding: allowframembedding 1.
* cookie_not_secure: cookiesecure 0 although wwwroot is https.
* dpo_contact_off: tool_dataprivacy/contactdataprotectionofficer 0.
* no_site_policy: no sitepolicyhandler, no sitepolicy, no tool_policy documents.
* privacy_request_overdue: a deletion request pending for 60 days.
* xss_name: user ``x.tester`` has the first name ``<script>alert(1)</script>``.

Strong points (``ACME_STRENGTHS``): HTTPS wwwroot, cronclionly 1, forcelogin 1,
opentowebcrawlers 0, allowobjectembed 0, cachejs 1, emailchangeconfirmation 1, auth '' and
registerauth ''.
"""

from __future__ import annotations

import random
from typing import Any

from .acme_data import ACME_STRENGTHS, ACME_WEAKNESSES, CATALOGUE, LEVELS
from .acme_people import DAY, JSON_FOR, WINDOW, Course, Population
from .builder import SiteBuilder
from .events import OtherFormat
from .schema import release_tuple

__all__ = ["ACME_STRENGTHS", "ACME_WEAKNESSES", "ACME_WWWROOT", "build_acme"]

ACME_WWWROOT = "https://acme.example.test"
_ADMIN_IP = "198.51.100.10"
_CONFIG_EVENT = r"\core\event\config_log_created"
_SIS_FUNCTIONS = (
    "core_user_create_users", "core_user_get_users_by_field", "core_course_get_courses",
    "core_enrol_get_enrolled_users", "enrol_manual_enrol_users",
)  # fmt: skip


def build_acme(
    *, users: int = 300, seed: int = 2026, now: int = 1795936000, release: str = "5.1"
) -> SiteBuilder:
    """The Acme Academy site with `users` generated students and teachers plus its staff."""
    b = SiteBuilder(release=release, now=now, wwwroot=ACME_WWWROOT, site_name="Acme Academy",
                    seed=seed)  # fmt: skip
    rng = random.Random(seed)
    courses = _courses(b, max(8, users // 20))
    staff = _staff(b, courses[0])
    _settings(b, staff)
    _web_services(b, staff)
    _operations(b, courses, rng)
    population = Population(b, users, seed, courses, json_since=now - JSON_FOR,
                            lockout_until=now - 300 * DAY)  # fmt: skip
    _people_records(b, population, staff)
    population.register()
    return b


def _courses(b: SiteBuilder, count: int) -> list[Course]:
    offerings = [
        (category, code, subject)
        for category, subjects in CATALOGUE.items()
        for code, subject in subjects
    ]
    categories = {name: b.category(name)[0] for name in CATALOGUE}
    courses = []
    for k in range(count):
        category, code, subject = offerings[k % len(offerings)]
        round_ = k // len(offerings)
        level = LEVELS[round_ % len(LEVELS)]
        courseid, ctx = b.course(f"{code}{101 + round_}", f"{subject} {level}",
                                 categories[category])  # fmt: skip
        courses.append(Course(courseid, ctx, b.manual_enrol_id(courseid)))
    return courses


def _staff(b: SiteBuilder, first_course: Course) -> dict[str, int]:
    """Admins, managers, the integration account and the XSS test user."""
    now, t0 = b.now, b.install_time
    b.update("user", 2, lastaccess=now - 3 * 3600, currentlogin=now - 3 * 3600,
             lastlogin=now - 2 * DAY, firstaccess=t0 + 3600, lastip=_ADMIN_IP, timecreated=t0,
             timemodified=now - 3 * 3600)  # fmt: skip
    people = {
        "j.hartley": ("James", "Hartley", now - 200 * DAY, t0 + 10 * DAY),
        "admin2": ("Admin", "Two", now - 2 * DAY, now - 500 * DAY),
        "support": ("Support", "Desk", now - DAY, now - 600 * DAY),
        "m.okafor": ("Mary", "Okafor", now - 4 * DAY, now - 700 * DAY),
        "l.chen": ("Li", "Chen", now - 9 * DAY, now - 650 * DAY),
        "sis.integration": ("SIS", "Integration", now - 3600, now - 400 * DAY),
        "x.tester": ("<script>alert(1)</script>", "Tester", now - 6 * DAY, now - 100 * DAY),
    }
    ids = {"admin": 2}
    for username, (first, last, seen, created) in people.items():
        ids[username] = b.user(username, firstname=first, lastname=last, lastaccess=seen,
                               firstaccess=created + 3600, timecreated=created,
                               lastip=_ADMIN_IP if username != "x.tester" else "203.0.113.77",
                               email=f"{username}@acme.example.test")  # fmt: skip
    for username in ("support", "m.okafor", "l.chen"):
        when = now - 550 * DAY if username == "support" else people[username][3] + DAY
        raid = b.assign_role(ids[username], "manager", timemodified=when)
        _log(b, r"\core\event\role_assigned", when, userid=2, crud="c",
              objecttable="role", objectid=1, relateduserid=ids[username], ip=_ADMIN_IP,
              other={"id": raid, "component": "", "itemid": 0})  # fmt: skip
    b.enrol_user(ids["x.tester"], first_course.courseid, timestart=now - 100 * DAY)
    for userid in ids.values():
        b.preference(userid, "auth_manual_passwordupdatetime", now - 120 * DAY)
    if release_tuple(b.release) >= (4, 3):
        b.mfa_factor(2, "totp", lastverified=now - 210 * DAY, label="Admin phone")
        b.mfa_factor(ids["j.hartley"], "totp", revoked=1, label="Old phone")
    return ids


def _log(b: SiteBuilder, eventname: str, when: int, **fields: Any) -> None:
    """A log row, if it falls in the kept history, in the format the site used then."""
    if when >= b.now - WINDOW:
        fmt: OtherFormat = "json" if when >= b.now - JSON_FOR else "php"
        b.log(eventname, timecreated=when, other_format=fmt, **fields)


def _change(b: SiteBuilder, when: int, name: str, value: object, plugin: str | None = None) -> None:
    """Change a setting the way the admin UI does: config_log row plus its event."""
    old = b.get_setting(name, plugin)
    b.setting(name, value, plugin)
    new = b.get_setting(name, plugin)
    logid = b.config_log(name, new, old, plugin=plugin, timemodified=when)
    _log(b, _CONFIG_EVENT, when, userid=2, crud="c", objecttable="config_log",
          objectid=logid, ip=_ADMIN_IP,
          other={"name": name, "oldvalue": old, "value": new, "plugin": plugin})  # fmt: skip


def _settings(b: SiteBuilder, staff: dict[str, int]) -> None:
    now, t0 = b.now, b.install_time
    history: list[tuple[int, str, object, str | None]] = [
        (t0 + DAY, "forcelogin", 1, None),
        (t0 + DAY, "lockoutthreshold", 5, None),
        (t0 + 2 * DAY, "jsonformat", 0, "logstore_standard"),
        (now - 300 * DAY, "lockoutthreshold", 0, None),
        (now - 250 * DAY, "jsonformat", 1, "logstore_standard"),
        (now - 180 * DAY, "minpasswordlength", 6, None),
        *((now - 180 * DAY, name, 0, None) for name in ("minpassworddigits", "minpasswordlower",
                                                        "minpasswordupper",
                                                        "minpasswordnonalphanum")),
        (now - 150 * DAY, "sessiontimeout", 86400, None),
        (now - 120 * DAY, "enablewebservices", 1, None),
        (now - 120 * DAY, "webserviceprotocols", "rest,soap", None),
        (now - 120 * DAY, "enablemobilewebservice", 1, None),
        (now - 90 * DAY, "debug", 32767, None),
        (now - 90 * DAY, "debugdisplay", 1, None),
        (now - 60 * DAY, "allowframembedding", 1, None),
        (now - 60 * DAY, "cookiesecure", 0, None),
        (now - 30 * DAY, "backup_auto_active", 1, "backup"),
        (now - 2 * DAY, "loglifetime", 90, "logstore_standard"),
    ]  # fmt: skip
    if release_tuple(b.release) >= (4, 3):
        history += [(now - 310 * DAY, "enabled", 1, "tool_mfa"),
                    (now - 210 * DAY, "enabled", 0, "tool_mfa")]  # fmt: skip
    for admin, when in (("j.hartley", t0 + 10 * DAY), ("admin2", now - 500 * DAY)):
        history.append((when, "siteadmins", ",".join([*_admins(b), str(staff[admin])]), None))
        b.make_site_admin(staff[admin])
    b.setting("siteadmins", "2")  # replayed below, in time order, with its log rows
    for when, name, value, plugin in sorted(history, key=lambda h: h[0]):
        _change(b, when, name, value, plugin)


def _admins(b: SiteBuilder) -> list[str]:
    return [a for a in (b.get_setting("siteadmins") or "").split(",") if a]


def _web_services(b: SiteBuilder, staff: dict[str, int]) -> None:
    now = b.now
    b.service("moodle_mobile_app", enabled=1)
    b.service("acme_sis", name="Acme SIS integration", functions=_SIS_FUNCTIONS)
    tokens = (  # (owner, service, iprestriction, validuntil, name)
        ("admin2", "acme_sis", None, 0, "Reporting export"),
        ("sis.integration", "acme_sis", None, 0, "SIS nightly sync"),
        ("l.chen", "moodle_mobile_app", None, now - 30 * DAY, "Old mobile token"),
        ("support", "acme_sis", "198.51.100.0/24", now + 60 * DAY, "Helpdesk lookups"),
    )
    for k, (owner, service, ips, until, name) in enumerate(tokens):
        created = now - (200 - 40 * k) * DAY
        tokenid = b.token(staff[owner], service=service, iprestriction=ips, validuntil=until,
                          lastaccess=now - (k + 1) * 3600, timecreated=created,
                          name=name)  # fmt: skip
        _log(b, r"\core\event\webservice_token_created", created, userid=2,
              crud="c", objecttable="external_tokens", objectid=tokenid,
              relateduserid=staff[owner], ip=_ADMIN_IP, other={"auto": False})  # fmt: skip


def _operations(b: SiteBuilder, courses: list[Course], rng: random.Random) -> None:
    """Cron stopped 3 days ago; backups and one task fail; the risky override; payments."""
    now, stopped = b.now, b.now - 3 * DAY
    b.setting("lastcronstart", stopped, "tool_task")
    for row in b.rows("task_scheduled"):
        b.scheduled_task(row["classname"], lastruntime=stopped - rng.randrange(3600))
    backup_task = r"\core\task\automated_backup_task"
    b.scheduled_task(backup_task, lastruntime=stopped - 600, faildelay=7200)
    for day in range(10, 3, -1):
        start = now - day * DAY
        b.task_log(r"\core\task\session_cleanup_task", timestart=start + 60.25)
        b.task_log(r"\logstore_standard\task\cleanup_task", timestart=start + 15900.5)
        b.task_log(backup_task, timestart=start + 3000.75, result=int(day <= 5),
                   timeend=start + 3600.5)  # fmt: skip
    failed = {courses[1].courseid, courses[len(courses) // 2].courseid}
    for course in courses:
        started = stopped - 3 * DAY + course.courseid * 7
        status = "0" if course.courseid in failed else "1"
        b.backup_course(course.courseid, laststatus=status, laststarttime=started,
                        lastendtime=started + 95, nextstarttime=now - 2 * DAY)  # fmt: skip
    for classname, late in ((r"\core\task\asynchronous_backup_task", DAY),
                            (r"\tool_dataprivacy\task\process_data_request_task", 2 * DAY),
                            (r"\core\task\refresh_mod_calendar_events_task", 2 * DAY)):  # fmt: skip
        component = "tool_dataprivacy" if "tool_dataprivacy" in classname else "core"
        b.adhoc_task(classname, nextruntime=now - late, component=component)
    rcid = b.allow("editingteacher", "moodle/user:loginas", courses[0].contextid)
    _log(b, r"\core\event\capability_assigned", now - 45 * DAY, userid=2, crud="u",
          objecttable="role_capabilities", objectid=rcid, contextid=courses[0].contextid,
          contextlevel=50, contextinstanceid=courses[0].courseid,
          courseid=courses[0].courseid, ip=_ADMIN_IP,
          other={"capability": "moodle/user:loginas", "oldpermission": 0,
                 "permission": 1})  # fmt: skip
    if release_tuple(b.release) >= (3, 10):
        b.payment_gateway("paypal")
    b.upgrade_log("core", b.get_setting("version") or "", "Upgrade savepoint reached",
                  timemodified=now - 40 * DAY)  # fmt: skip


def _people_records(b: SiteBuilder, population: Population, staff: dict[str, int]) -> None:
    """In-memory records that point at generated people: privacy, sessions, attacks."""
    now = b.now
    people = [population.person(i) for i in range(min(population.size, 400))]
    active = [p for p in people if p.state == "active"]
    if not active:
        return
    b.privacy_request(active[0].uid, type=2, status=0, timecreated=now - 60 * DAY)
    b.privacy_request(staff["x.tester"], type=1, status=5, timecreated=now - 20 * DAY)
    for p in active:
        if p.logins[-1:] and p.logins[-1] > now - DAY:
            b.session(p.uid, timecreated=p.logins[-1], timemodified=now - 600, ip=p.ip)
    for username in ("admin", "admin2", "support", "sis.integration"):
        b.session(staff[username], timecreated=now - 7200, timemodified=now - 300, ip=_ADMIN_IP)
    for p in active[:3]:
        b.preference(p.uid, "auth_forcepasswordchange", 1)
        b.preference(p.uid, "login_failed_count_since_success", 2)
    attack = now - 45 * DAY
    for k in range(40):  # a password-guessing run against admin
        _log(b, r"\core\event\user_login_failed", attack + 25 * k, userid=2,
              ip="192.0.2.66", other={"username": "admin", "reason": 3})  # fmt: skip
    for k, username in enumerate(("root", "administrator", "test", "moodle")):
        _log(b, r"\core\event\user_login_failed", attack + 1200 + 30 * k,
              ip="192.0.2.66", other={"username": username, "reason": 1})  # fmt: skip
    target = active[-1]
    _log(b, r"\core\event\user_loggedinas", now - 12 * DAY, userid=2, realuserid=2,
          objecttable="user", objectid=target.uid, relateduserid=target.uid, ip=_ADMIN_IP,
          other={"originalusername": "admin", "loggedinasusername": target.username})  # fmt: skip
    for username, uid in staff.items():
        row = b.find("user", 1, username)
        if row is not None and row["lastaccess"]:
            _log(b, r"\core\event\user_loggedin", row["currentlogin"], userid=uid,
                  objecttable="user", objectid=uid, ip=row["lastip"],
                  other={"username": username, "extrauserinfo": []})  # fmt: skip
