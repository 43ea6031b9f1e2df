"""What Moodle recorded about changes: config_log (installer defaults set apart), upgrade_log
and role definitions, read from synthetic sites through the real site layer."""

from __future__ import annotations

from moodle_soc.site.populations import Window
from moodle_soc.synthetic.builder import SiteBuilder

NOW = 1795936000
ALL = Window(0, NOW + 1)


def installed(builder: SiteBuilder) -> int:
    """Installer rows just after the builder's 'Core installed': defaults, then a second pass."""
    t0 = builder.install_time
    builder.config_log("sms", "0", "1", userid=0, timemodified=t0 + 5)  # the installer's own edit
    for n in range(5):
        builder.config_log(f"default{n}", "x", None, timemodified=t0 + 10 + n)
    builder.config_log("calendar_exportsalt", "new", "old", timemodified=t0 + 20)
    return t0


def test_installer_defaults_end_at_an_administrators_first_edit(builder, make_site):
    t0 = installed(builder)
    builder.upgrade_log(
        "mod_forum", builder.get_setting("version") or "", "Plugin installed", timemodified=t0 + 3
    )
    edit = builder.config_log("forcelogin", "1", "0", timemodified=t0 + 200)
    site = make_site(builder)

    defaults = site.history.install_defaults
    assert defaults is not None and (defaults.first_id, defaults.last_id) == (1, 7)
    changes = list(site.history.setting_changes(ALL))
    assert [c.id for c in changes] == [edit]
    assert (changes[0].old, changes[0].new, changes[0].username) == ("0", "1", "admin")


def test_a_pause_ends_the_installation_even_without_an_edit(builder, make_site):
    t0 = installed(builder)
    first = builder.config_log("webserviceprotocols", "rest", None, timemodified=t0 + 120)

    site = make_site(builder)

    assert [c.id for c in site.history.setting_changes(ALL)] == [first]


def test_secret_values_are_masked_and_switches_kept(builder, make_site):
    builder.config_log("smtppass", "hunter2", "letmein", timemodified=NOW - 100)
    builder.config_log("usepassword", "1", "0", plugin="quizaccess_x", timemodified=NOW - 90)
    site = make_site(builder)

    secret, switch = site.history.setting_changes(ALL)

    assert (secret.old, secret.new, secret.masked) == ("********", "********", True)
    assert (switch.plugin, switch.old, switch.new, switch.masked) == (
        "quizaccess_x",
        "0",
        "1",
        False,
    )


def test_upgrades_carry_the_version_before_and_after(builder, make_site):
    builder.upgrade_log(
        "local_reports", "2025010100", "Starting plugin upgrade", timemodified=NOW - 50
    )
    builder.upgrade_log("local_reports", "2025020100", "Plugin upgraded", timemodified=NOW - 49)
    builder.upgrade_log("local_new", "2025030100", "Plugin installed", timemodified=NOW - 40)
    builder.upgrade_log("local_new", "2025030100", "Oops", timemodified=NOW - 39, type=2)
    site = make_site(builder)

    upgrades = site.history.upgrades
    events = upgrades.events(ALL)

    assert [(e.component, e.action, e.old_version, e.new_version) for e in events] == [
        ("local_reports", "upgraded", "2025010100", "2025020100"),
        ("local_new", "installed", None, "2025030100"),
    ]
    assert upgrades.error_count(ALL) == 1
    assert upgrades.installation is not None  # the builder's 'Core installed'


def test_role_definition_changes_from_the_log_and_the_table(builder, make_site):
    rowid = builder.allow("student", "moodle/site:config")
    builder.log(
        "\\core\\event\\capability_assigned",
        timecreated=NOW - 30,
        userid=2,
        objectid=builder.role_id("student"),
        other={"capability": "moodle/site:config", "oldpermission": 0, "permission": 1},
    )
    builder.log(
        "\\core\\event\\role_deleted",
        timecreated=NOW - 20,
        userid=2,
        objectid=99,
        other={"shortname": "gone"},
    )
    site = make_site(builder)
    roles = site.history.roles

    events = list(roles.events(ALL))
    rows = list(roles.capability_rows(ALL))

    assert [(e.role, e.what, e.old, e.new) for e in events] == [
        ("student", "capability assigned", "inherit", "allow"),
        ("gone", "role deleted", None, None),
    ]
    assert [(r.id, r.role, r.capability, r.new, r.username) for r in rows] == [
        (rowid, "student", "moodle/site:config", "allow", "admin")
    ]  # install permissions (modifierid 0) are part of the installation


def test_an_edit_soon_after_the_plugins_still_ends_the_installation(builder, make_site):
    t0 = installed(builder)
    builder.config_log("default9", "x", None, timemodified=t0 + 50)
    edit = builder.config_log("debug", "32767", "0", timemodified=t0 + 70)  # no pause before it
    later = builder.config_log("newsetting", "1", None, timemodified=t0 + 80)

    site = make_site(builder)

    assert [c.id for c in site.history.setting_changes(ALL)] == [edit, later]


def test_role_events_are_read_for_the_users_who_can_write_them(builder, make_site):
    """The log has no index on event names: the role events are read through ``userid`` for
    role managers, administrators (also former ones) and the system, once per window."""
    manager = builder.user("rolemanager")
    builder.role("definer")
    builder.allow("definer", "moodle/role:manage")
    builder.assign_role(manager, "definer")
    former_admin = builder.user("formeradmin")
    builder.config_log("siteadmins", "2", f"2,{former_admin}", timemodified=NOW - 100)
    student = builder.user("student1")
    for userid in (manager, former_admin, 0, student):
        builder.log("\\core\\event\\role_updated", timecreated=NOW - 10, userid=userid,
                    objectid=builder.role_id("definer"))  # fmt: skip
    site = make_site(builder)
    roles = site.history.roles

    first = list(roles.events(ALL))
    again = list(roles.events(ALL))

    assert sorted(e.userid for e in first) == sorted([0, manager, former_admin])
    assert again == first
    (query,) = [q for q in site.db.records if q.purpose.startswith("changes: role definition ev")]
    actors = sorted([0, 2, manager, former_admin])  # 2: the administrator
    assert roles.possible_actors() == actors
    assert f"{site.db.prefix}logstore_standard_log.userid IN (?, ?, ?, ?)" in query.sql
    assert sorted(v for k, v in query.params.items() if k.startswith("userid")) == actors
