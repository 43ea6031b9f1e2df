"""What a fresh Moodle install writes, as data: releases, roles, capabilities, defaults, tasks.

Copied from real installs (capabilities, risk bits and the standard role definitions from a
5.1 site; defaults from moodle-facts §2), so that a synthetic site starts where Moodle starts.
"""

from __future__ import annotations

from .schema import release_tuple

__all__ = [
    "CAPABILITIES",
    "RELEASES",
    "ROLES",
    "ROLE_CAPABILITIES",
    "ROLE_PROHIBITS",
    "SCHEDULED_TASKS",
    "config_defaults",
    "plugin_defaults",
]

#: release → (config.version, config.release, config.branch)
RELEASES: dict[str, tuple[str, str, str]] = {
    "3.8": ("2019111800.00", "3.8 (Build: 20191118)", "38"),
    "3.9": ("2020061500.00", "3.9 (Build: 20200615)", "39"),
    "4.1": ("2022112810.00", "4.1.10 (Build: 20240422)", "401"),
    "4.5": ("2024100712.05", "4.5.12+ (Build: 20250620)", "405"),
    "5.1": ("2025100600.02", "5.1+ (Build: 20251017)", "501"),
}

#: (id, shortname) of the standard roles; ids, sortorder and archetype as a fresh install.
ROLES: tuple[tuple[int, str], ...] = (
    (1, "manager"), (2, "coursecreator"), (3, "editingteacher"), (4, "teacher"),
    (5, "student"), (6, "guest"), (7, "user"), (8, "frontpage"),
)  # fmt: skip

#: (name, captype, contextlevel, component, riskbitmask), as in a real 5.1 install.
CAPABILITIES: tuple[tuple[str, str, int, str, int], ...] = (
    ("mod/assign:grade", "write", 70, "mod_assign", 4),
    ("mod/forum:addnews", "write", 70, "mod_forum", 16),
    ("moodle/analytics:managemodels", "write", 10, "moodle", 2),
    ("moodle/backup:backupcourse", "write", 50, "moodle", 28),
    ("moodle/backup:downloadfile", "write", 50, "moodle", 28),
    ("moodle/backup:userinfo", "read", 50, "moodle", 8),
    ("moodle/badges:manageglobalsettings", "write", 10, "moodle", 34),
    ("moodle/blog:create", "write", 10, "moodle", 16),
    ("moodle/calendar:manageentries", "write", 50, "moodle", 16),
    ("moodle/category:manage", "write", 40, "moodle", 4),
    ("moodle/cohort:assign", "write", 40, "moodle", 0),
    ("moodle/cohort:manage", "write", 40, "moodle", 0),
    ("moodle/comment:post", "write", 50, "moodle", 24),
    ("moodle/course:create", "write", 40, "moodle", 4),
    ("moodle/course:delete", "write", 50, "moodle", 32),
    ("moodle/course:enrolconfig", "write", 50, "moodle", 8),
    ("moodle/course:enrolreview", "read", 50, "moodle", 8),
    ("moodle/course:manageactivities", "write", 70, "moodle", 4),
    ("moodle/course:managefiles", "write", 50, "moodle", 4),
    ("moodle/course:reset", "write", 50, "moodle", 32),
    ("moodle/course:update", "write", 50, "moodle", 4),
    ("moodle/course:view", "read", 50, "moodle", 0),
    ("moodle/course:viewparticipants", "read", 50, "moodle", 0),
    ("moodle/grade:edit", "write", 50, "moodle", 12),
    ("moodle/grade:export", "read", 50, "moodle", 8),
    ("moodle/grade:manage", "write", 50, "moodle", 12),
    ("moodle/grade:viewall", "read", 50, "moodle", 8),
    ("moodle/notes:manage", "write", 50, "moodle", 16),
    ("moodle/payment:manageaccounts", "write", 50, "moodle", 42),
    ("moodle/question:config", "write", 10, "moodle", 2),
    ("moodle/restore:createuser", "write", 10, "moodle", 24),
    ("moodle/restore:restorecourse", "write", 50, "moodle", 28),
    ("moodle/restore:uploadfile", "write", 50, "moodle", 28),
    ("moodle/restore:userinfo", "write", 50, "moodle", 30),
    ("moodle/role:assign", "write", 50, "moodle", 28),
    ("moodle/role:manage", "write", 10, "moodle", 28),
    ("moodle/role:override", "write", 50, "moodle", 28),
    ("moodle/role:review", "read", 50, "moodle", 8),
    ("moodle/role:safeoverride", "write", 50, "moodle", 16),
    ("moodle/role:switchroles", "read", 50, "moodle", 12),
    ("moodle/site:accessallgroups", "read", 70, "moodle", 0),
    ("moodle/site:approvecourse", "write", 40, "moodle", 4),
    ("moodle/site:config", "write", 10, "moodle", 62),
    ("moodle/site:configview", "read", 10, "moodle", 0),
    ("moodle/site:maintenanceaccess", "write", 10, "moodle", 0),
    ("moodle/site:manageblocks", "write", 80, "moodle", 20),
    ("moodle/site:readallmessages", "read", 10, "moodle", 8),
    ("moodle/site:sendmessage", "write", 10, "moodle", 16),
    ("moodle/site:trustcontent", "write", 70, "moodle", 4),
    ("moodle/site:uploadusers", "write", 10, "moodle", 24),
    ("moodle/site:viewanonymousevents", "read", 70, "moodle", 8),
    ("moodle/site:viewparticipants", "read", 10, "moodle", 0),
    ("moodle/site:viewreports", "read", 50, "moodle", 8),
    ("moodle/user:create", "write", 10, "moodle", 24),
    ("moodle/user:delete", "write", 10, "moodle", 40),
    ("moodle/user:editownprofile", "write", 10, "moodle", 16),
    ("moodle/user:editprofile", "write", 30, "moodle", 24),
    ("moodle/user:loginas", "write", 50, "moodle", 30),
    ("moodle/user:update", "write", 10, "moodle", 24),
    ("moodle/user:viewalldetails", "read", 30, "moodle", 8),
    ("moodle/user:viewdetails", "read", 50, "moodle", 0),
    ("moodle/user:viewhiddendetails", "read", 50, "moodle", 8),
    ("moodle/user:viewlastip", "read", 30, "moodle", 8),
    ("moodle/webservice:createmobiletoken", "write", 10, "moodle", 24),
    ("moodle/webservice:createtoken", "write", 10, "moodle", 62),
    ("moodle/webservice:managealltokens", "write", 10, "moodle", 42),
    ("report/log:view", "read", 50, "report_log", 8),
    ("report/loglive:view", "read", 50, "report_loglive", 8),
    ("tool/dataprivacy:makedatarequestsforchildren", "write", 30, "tool_dataprivacy", 24),
    ("tool/dataprivacy:managedatarequests", "write", 10, "tool_dataprivacy", 60),
    ("tool/dataprivacy:requestdelete", "write", 30, "tool_dataprivacy", 32),
    ("tool/mfa:mfaaccess", "write", 30, "tool_mfa", 0),
    ("tool/policy:managedocs", "write", 10, "tool_policy", 0),
    ("tool/policy:viewacceptances", "read", 10, "tool_policy", 0),
)


def _caps(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: Allows (CAP_ALLOW) at the system context, per standard role, for the capabilities above.
#: Real Moodle lets the authenticated user request their own deletion (RISK_DATALOSS).
ROLE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "manager": _caps(
        """
        mod/assign:grade mod/forum:addnews moodle/analytics:managemodels
        moodle/backup:backupcourse moodle/backup:downloadfile moodle/backup:userinfo
        moodle/badges:manageglobalsettings moodle/blog:create moodle/calendar:manageentries
        moodle/category:manage moodle/cohort:assign moodle/cohort:manage moodle/comment:post
        moodle/course:create moodle/course:delete moodle/course:enrolconfig
        moodle/course:enrolreview moodle/course:manageactivities moodle/course:managefiles
        moodle/course:reset moodle/course:update moodle/course:view moodle/course:viewparticipants
        moodle/grade:edit moodle/grade:export moodle/grade:manage moodle/grade:viewall
        moodle/notes:manage moodle/question:config moodle/restore:createuser
        moodle/restore:restorecourse moodle/restore:uploadfile moodle/restore:userinfo
        moodle/role:assign moodle/role:manage moodle/role:override moodle/role:review
        moodle/role:switchroles moodle/site:accessallgroups moodle/site:approvecourse
        moodle/site:configview moodle/site:manageblocks moodle/site:readallmessages
        moodle/site:sendmessage moodle/site:trustcontent moodle/site:uploadusers
        moodle/site:viewanonymousevents moodle/site:viewparticipants moodle/site:viewreports
        moodle/user:create moodle/user:delete moodle/user:editownprofile moodle/user:editprofile
        moodle/user:loginas moodle/user:update moodle/user:viewalldetails moodle/user:viewdetails
        moodle/user:viewhiddendetails moodle/user:viewlastip moodle/webservice:createtoken
        report/log:view report/loglive:view tool/policy:managedocs tool/policy:viewacceptances
        """
    ),
    "coursecreator": _caps(
        """
        moodle/course:create moodle/site:configview
        """
    ),
    "editingteacher": _caps(
        """
        mod/assign:grade mod/forum:addnews moodle/backup:backupcourse moodle/backup:downloadfile
        moodle/calendar:manageentries moodle/comment:post moodle/course:enrolconfig
        moodle/course:enrolreview moodle/course:manageactivities moodle/course:managefiles
        moodle/course:reset moodle/course:update moodle/course:viewparticipants moodle/grade:edit
        moodle/grade:export moodle/grade:manage moodle/grade:viewall moodle/notes:manage
        moodle/restore:restorecourse moodle/restore:uploadfile moodle/role:assign
        moodle/role:review moodle/role:safeoverride moodle/role:switchroles
        moodle/site:accessallgroups moodle/site:manageblocks moodle/site:readallmessages
        moodle/site:trustcontent moodle/site:viewreports moodle/user:viewdetails
        moodle/user:viewhiddendetails report/log:view report/loglive:view
        """
    ),
    "teacher": _caps(
        """
        mod/assign:grade mod/forum:addnews moodle/calendar:manageentries moodle/comment:post
        moodle/course:viewparticipants moodle/grade:export moodle/grade:viewall
        moodle/notes:manage moodle/role:review moodle/site:viewreports moodle/user:viewdetails
        moodle/user:viewhiddendetails report/log:view report/loglive:view
        """
    ),
    "student": _caps(
        """
        moodle/comment:post moodle/course:viewparticipants moodle/user:viewdetails
        """
    ),
    "guest": _caps(
        """
        moodle/user:viewdetails
        """
    ),
    "user": _caps(
        """
        moodle/blog:create moodle/comment:post moodle/site:sendmessage moodle/user:editownprofile
        moodle/webservice:createmobiletoken tool/dataprivacy:requestdelete tool/mfa:mfaaccess
        """
    ),
}

#: (role shortname, capability, permission) definitions that are not plain allows.
ROLE_PROHIBITS: tuple[tuple[str, str, int], ...] = (("guest", "moodle/user:editownprofile", -1000),)

_HOUR = 3600
_DAY = 86400

#: (component, classname, minute, hour, day, month, dayofweek, period in seconds).
#: Core tasks have component ``moodle`` in task_scheduled, as on a real site.
SCHEDULED_TASKS: tuple[tuple[str, str, str, str, str, str, str, int], ...] = (
    ("moodle", r"\core\task\session_cleanup_task", "*", "*", "*", "*", "*", 60),
    ("moodle", r"\core\task\delete_unconfirmed_users_task", "0", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\delete_incomplete_users_task", "5", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\backup_cleanup_task", "10", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\context_cleanup_task", "25", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\cache_cleanup_task", "30", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\send_new_user_passwords_task", "*", "*", "*", "*", "*", 60),
    ("moodle", r"\core\task\send_failed_login_notifications_task", "*", "*", "*", "*", "*", 60),
    ("moodle", r"\core\task\grade_history_cleanup_task", "*", "0", "*", "*", "*", _DAY),
    ("moodle", r"\core\task\check_for_updates_task", "30", "10", "*", "*", "*", _DAY),
    ("moodle", r"\core\task\automated_backup_task", "50", "*", "*", "*", "*", _HOUR),
    ("moodle", r"\core\task\file_trash_cleanup_task", "55", "*/6", "*", "*", "*", 6 * _HOUR),
    ("moodle", r"\core\task\stats_cron_task", "0", "0", "*", "*", "*", _DAY),
    ("moodle", r"\core\task\password_reset_cleanup_task", "0", "*/6", "*", "*", "*", 6 * _HOUR),
    ("moodle", r"\core\task\task_log_cleanup_task", "40", "9", "*", "*", "*", _DAY),
    ("moodle", r"\core\task\task_lock_cleanup_task", "*/10", "*", "*", "*", "*", 600),
    ("moodle", r"\core\task\antivirus_cleanup_task", "54", "0", "*", "*", "*", _DAY),
    ("logstore_standard", r"\logstore_standard\task\cleanup_task", "25", "4", "*", "*", "*",
     _DAY),
    ("tool_dataprivacy", r"\tool_dataprivacy\task\expired_retention_period", "0", "9", "*", "*",
     "*", _DAY),
    ("tool_dataprivacy", r"\tool_dataprivacy\task\delete_expired_contexts", "0", "8", "*", "*",
     "*", _DAY),
    ("tool_dataprivacy", r"\tool_dataprivacy\task\delete_expired_requests", "3", "20", "*", "*",
     "*", _DAY),
)  # fmt: skip

#: Security defaults written by the installer (moodle-facts §2), for every release.
#: external_functions rows of the functions the synthetic sites list in their services:
#: (component, declared capabilities) as a real 5.1 install stores them.
EXTERNAL_FUNCTIONS: dict[str, tuple[str, str]] = {
    "core_course_get_courses": ("moodle", "moodle/course:view, moodle/course:update,"
                                " moodle/course:viewhiddencourses"),
    "core_enrol_get_enrolled_users": ("moodle", "moodle/user:viewdetails,"
        " moodle/user:viewhiddendetails, moodle/course:useremail, moodle/user:update,"
        " moodle/site:accessallgroups"),
    "core_enrol_get_users_courses": ("moodle", "moodle/course:viewparticipants"),
    "core_message_get_messages": ("moodle", ""),
    "core_user_add_user_device": ("moodle", ""),
    "core_user_create_users": ("moodle", "moodle/user:create"),
    "core_user_get_users_by_field": ("moodle", "moodle/user:viewdetails,"
        " moodle/user:viewhiddendetails, moodle/course:useremail, moodle/user:update"),
    "core_webservice_get_site_info": ("moodle", ""),
    "enrol_manual_enrol_users": ("enrol_manual", "enrol/manual:enrol"),
    "tool_mobile_get_autologin_key": ("tool_mobile", ""),
    "tool_mobile_get_config": ("tool_mobile", ""),
}  # fmt: skip

_CONFIG_DEFAULTS: dict[str, str] = {
    # §2.1 passwords, lockout, login
    "passwordpolicy": "1", "minpasswordlength": "8", "minpassworddigits": "1",
    "minpasswordlower": "1", "minpasswordupper": "1", "minpasswordnonalphanum": "1",
    "maxconsecutiveidentchars": "0", "passwordreuselimit": "0", "pwresettime": "1800",
    "passwordchangelogout": "0", "passwordchangetokendeletion": "0", "lockoutthreshold": "0",
    "lockoutwindow": "1800", "lockoutduration": "1800", "protectusernames": "1",
    "forcelogin": "0", "forceloginforprofiles": "1", "forceloginforprofileimage": "0",
    "opentowebcrawlers": "0", "allowindexing": "0", "allowobjectembed": "0",
    "enabletrusttext": "0", "emailchangeconfirmation": "1", "cronclionly": "1",
    "cronremotepassword": "", "rememberusername": "2", "groupenrolmentkeypolicy": "1",
    "extendedusernamechars": "0",
    # §2.2 authentication plugins
    "auth": "", "registerauth": "", "authloginviaemail": "0", "allowaccountssameemail": "0",
    "authpreventaccountcreation": "0", "guestloginbutton": "1", "limitconcurrentlogins": "0",
    "alternateloginurl": "", "showloginform": "1", "forgottenpasswordurl": "",
    "allowemailaddresses": "", "denyemailaddresses": "", "verifychangedemail": "1",
    "autologinguests": "0",
    # §2.4 sessions and cookies
    "sessiontimeout": "28800", "dbsessions": "0", "sessioncookie": "", "sessioncookiepath": "",
    "sessioncookiedomain": "", "cookiesecure": "1", "allowframembedding": "0",
    "curlsecurityblockedhosts": "\n".join(
        ("127.0.0.0/8", "192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "0.0.0.0",
         "localhost", "169.254.169.254", "0000::1")),
    "curlsecurityallowedport": "443\n80",
    # §2.5 debugging and maintenance
    "debug": "0", "debugdisplay": "0", "debugsqltrace": "0", "perfdebug": "7",
    "debugpageinfo": "0", "debugvalidators": "0", "debugstringids": "0",
    "themedesignermode": "0", "cachejs": "1", "maintenance_enabled": "0",
    "maintenance_message": "",
    # §2.6 web services
    "enablewebservices": "0", "webserviceprotocols": "", "enablewsdocumentation": "0",
    "enablemobilewebservice": "0",
    # §2.10, §2.11, §2.12
    "sitepolicyhandler": "", "sitepolicy": "", "sitepolicyguest": "",
    "agedigitalconsentverification": "0", "antiviruses": "", "enablestats": "0",
    "enableanalytics": "1", "enableportfolios": "0", "enableplagiarism": "0",
    "enablerssfeeds": "0", "enableblogs": "1", "mnet_dispatcher_mode": "off", "messaging": "1",
    "allowuserthemes": "0", "allowthemechangeonurl": "0", "enablegravatar": "0",
    "maxbytes": "0", "disablegradehistory": "0", "gradehistorylifetime": "0",
    "deleteunconfirmed": "168", "deleteincompleteusers": "0", "displayloginfailures": "0",
    "notifyloginfailures": "", "notifyloginthreshold": "10", "allowbeforeblock": "0",
    "allowedip": "", "blockedip": "", "enableasyncbackup": "1", "lang": "en",
    "timezone": "Europe/London",
}  # fmt: skip


def config_defaults(release: str) -> dict[str, str]:
    """The security settings a fresh install of `release` stores in ``config``."""
    rel = release_tuple(release)
    values = dict(_CONFIG_DEFAULTS)
    if rel < (4, 0):  # renamed in 4.0
        values["opentogoogle"] = values.pop("opentowebcrawlers")
    if rel >= (3, 9):
        values["passwordpolicycheckonlogin"] = "0"
    if rel >= (4, 1):
        values |= {"tokenduration": "7257600", "referrerpolicy": "default",
                   "sessiontimeoutwarning": "1200", "debugtemplateinfo": "0",
                   "enablecustomreports": "1", "enableaccessibilitytools": "1"}  # fmt: skip
    if rel <= (4, 1):  # an admin checkbox until 4.1; gone from the UI by 4.5
        values["cookiehttponly"] = "0"
    if rel >= (5, 0):
        values["enableanalytics"] = "0"
    if rel >= (5, 1):  # the default changed somewhere in 4.2–5.1; 5.1 is the first seen
        values |= {"passwordchangelogout": "1", "enableloginrecaptcha": "0",
                   "enableforgotpasswordrecaptcha": "0"}  # fmt: skip
    return values


_CORE_PLUGINS = (
    "auth_manual", "auth_email", "auth_nologin", "enrol_manual", "enrol_self", "enrol_guest",
    "mod_assign", "mod_forum", "mod_quiz", "tool_log", "logstore_standard", "logstore_database",
    "tool_task", "tool_dataprivacy", "tool_policy", "tool_mobile", "webservice_rest",
    "webservice_soap", "antivirus_clamav",
)  # fmt: skip
_MFA_FACTORS = (
    "admin", "auth", "capability", "cohort", "email", "grace", "iprange", "nosetup", "role",
    "token", "totp", "webauthn",
)  # fmt: skip


def plugin_defaults(release: str, now: int) -> list[tuple[str, str, str]]:
    """(plugin, name, value) rows of ``config_plugins`` after a fresh install of `release`."""
    rel = release_tuple(release)
    plugin_version = RELEASES[release][0][:8] + "00" if release in RELEASES else "2025100600"
    rows = [
        ("tool_log", "enabled_stores", "logstore_standard"), ("tool_log", "exportlog", "1"),
        ("logstore_standard", "loglifetime", "0"), ("logstore_standard", "jsonformat", "1"),
        ("logstore_standard", "logguests", "1"), ("logstore_standard", "buffersize", "50"),
        ("backup", "backup_auto_active", "0"), ("backup", "backup_auto_storage", "0"),
        ("backup", "backup_auto_destination", ""), ("backup", "backup_auto_max_kept", "1"),
        ("backup", "backup_auto_users", "1"), ("backup", "backup_auto_weekdays", "0000000"),
        ("backup", "loglifetime", "30"),
        ("tool_task", "enablerunnow", "1"), ("tool_task", "lastcronstart", str(now - 60)),
        ("tool_task", "lastcroninterval", "60"),
        ("tool_dataprivacy", "contactdataprotectionofficer", "0"),
        ("tool_dataprivacy", "automaticdataexportapproval", "0"),
        ("tool_dataprivacy", "automaticdatadeletionapproval", "0"),
        ("tool_dataprivacy", "automaticdeletionrequests", "1"),
        ("tool_dataprivacy", "privacyrequestexpiry", "604800"),
        ("auth_manual", "expiration", "0"), ("auth_manual", "expirationtime", "30"),
        ("antivirus", "enablequarantine", "0"),
    ]  # fmt: skip
    plugins = list(_CORE_PLUGINS)
    if rel >= (3, 10):
        plugins.append("paygw_paypal")
    if rel >= (4, 3):
        factors = _MFA_FACTORS + (("sms",) if rel >= (4, 4) else ())
        plugins += ["tool_mfa", *(f"factor_{f}" for f in factors)]
        mfa = {"enabled": "0", "lockout": "10", "debugmode": "0", "guidance": "0",
               "redir_exclusions": "", "factor_order": "email"}  # fmt: skip
        rows += [("tool_mfa", name, value) for name, value in mfa.items()]
        for factor in factors:
            enabled = "1" if factor == "email" else "0"
            rows += [
                (f"factor_{factor}", "enabled", enabled),
                (f"factor_{factor}", "weight", "100"),
            ]
    rows += [(plugin, "version", plugin_version) for plugin in plugins]
    return rows
