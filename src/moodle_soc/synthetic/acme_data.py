"""Word lists and the documented findings of the Acme Academy demo site."""

from __future__ import annotations

__all__ = [
    "ACME_STRENGTHS",
    "ACME_WEAKNESSES",
    "CATALOGUE",
    "FIRST_NAMES",
    "LAST_NAMES",
    "LEVELS",
]

FIRST_NAMES = (
    "Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "Elijah", "Mia", "James",
    "Sofia", "Lucas", "Chloé", "Mateo", "Zoë", "Aarav", "Priya", "Wei", "Mei", "Hiroshi",
    "Yuki", "Kwame", "Amara", "Chidi", "Fatima", "Omar", "Leila", "Tomás", "Inés", "Björn",
    "Astrid", "Siobhán", "Declan", "Anya", "Dmitri", "Ana", "João", "Nadia", "Ravi", "Grace",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martínez",
    "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Pérez", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
    "Nguyen", "Kim", "Patel", "Singh", "Tanaka", "Sato", "Müller", "Schmidt", "O'Brien",
    "Kowalski", "Novak", "Okafor", "Mensah",
)  # fmt: skip

#: category → (course code, subject); courses cycle through these and through LEVELS.
CATALOGUE: dict[str, tuple[tuple[str, str], ...]] = {
    "Business": (("ACC", "Accounting"), ("MKT", "Marketing"), ("FIN", "Corporate Finance")),
    "Computing": (("CS", "Programming"), ("NET", "Networking"), ("SEC", "Information Security")),
    "Languages": (("ENG", "English"), ("SPA", "Spanish"), ("JPN", "Japanese")),
    "Sciences": (("BIO", "Biology"), ("CHM", "Chemistry"), ("PHY", "Physics")),
    "Health": (("NUR", "Nursing Practice"), ("NUT", "Nutrition")),
    "Arts & Humanities": (("HIS", "Modern History"), ("ART", "Design"), ("PHI", "Ethics")),
}
LEVELS = ("Fundamentals", "Intermediate", "Advanced", "Workshop", "Capstone")

#: Deliberate weaknesses of the demo site: key → what an auditor should find.
ACME_WEAKNESSES: dict[str, str] = {
    "password_policy_weak": "Passwords need only 6 characters, no character classes are "
    "required and reuse is not limited (passwordreuselimit 0).",
    "lockout_disabled": "Account lockout is off (lockoutthreshold 0) since it was switched "
    "off 300 days ago.",
    "mfa_disabled": "Multi-factor authentication is off (tool_mfa/enabled 0; absent on 4.1).",
    "session_timeout_long": "Idle sessions last 24 hours (sessiontimeout 86400).",
    "too_many_site_admins": "There are three site administrators.",
    "dormant_site_admin": "Site administrator j.hartley has not logged in for 200 days.",
    "generic_admin_account": "Site administrator admin2 is a generic, shared-looking account.",
    "support_manager": "The generic 'support' account holds the manager role at system level.",
    "risky_override": "Editing teachers are allowed moodle/user:loginas (RISK_CONFIG) by an "
    "override in one course.",
    "web_services_exposed": "Web services are enabled with the REST and SOAP protocols.",
    "tokens_unrestricted": "Two web service tokens have no IP restriction and never expire; "
    "one belongs to site administrator admin2.",
    "expired_token_present": "An expired web service token is still stored.",
    "log_retention_short": "Logs are kept for 90 days only (logstore_standard/loglifetime 90).",
    "backups_failing": "Automated backups are on but the last backup of two courses failed.",
    "cron_stale": "Cron last ran 3 days ago (tool_task/lastcronstart).",
    "task_failing": "The automated backup task is failing (faildelay 7200).",
    "debug_display": "Developer debugging is displayed to users (debug 32767, debugdisplay 1).",
    "frame_embedding": "The site may be embedded in frames (allowframembedding 1).",
    "cookie_not_secure": "Cookies are not marked secure (cookiesecure 0) on an https site.",
    "dpo_contact_off": "Users cannot contact the data protection officer "
    "(tool_dataprivacy/contactdataprotectionofficer 0).",
    "no_site_policy": "No site policy is configured (sitepolicyhandler and sitepolicy empty).",
    "privacy_request_overdue": "A data deletion request has been pending for 60 days.",
    "xss_name": "A user's first name is <script>alert(1)</script>; reports must escape it.",
}
#: Settings the demo site gets right, so that the report also shows passes.
ACME_STRENGTHS: dict[str, str] = {
    "https": "The site is served over HTTPS (https://acme.example.test).",
    "cron_cli_only": "Cron can only run from the command line (cronclionly 1).",
    "force_login": "Visitors must log in (forcelogin 1).",
    "no_crawlers": "Search engines are not let in (opentowebcrawlers 0).",
    "no_object_embed": "Users cannot embed objects (allowobjectembed 0).",
    "cache_js": "JavaScript caching is on (cachejs 1).",
    "email_change_confirmed": "Email changes must be confirmed (emailchangeconfirmation 1).",
    "no_auth_none": "Only manual accounts are enabled (auth ''; no 'No authentication').",
    "no_self_registration": "Self-registration is off (registerauth '').",
}
