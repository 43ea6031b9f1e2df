"""The closed vocabulary of a check's outcome: status, severity and the Result a check yields.

Nothing unreadable ever counts as a pass: a check that cannot decide yields ``error`` or
``not_applicable`` with the reason, and the runner turns an exception into ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MANUAL = "manual"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
    #: A failing finding covered by an active, approved risk exception: never a pass; the
    #: finding carries the exception (and the scan's own verdict) wherever it is shown.
    ACCEPTED = "accepted"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used to sort findings and to apply ``--fail-on``."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class Result:
    """One verdict about one resource, with the sentence and values an auditor reads.

    ``resource`` names what was looked at: ``site``, ``setting:<name>``,
    ``setting:<plugin>/<name>``, ``user:<id>``, ``role:<shortname>``, ``role_override:<id>``,
    ``token:<id>``, ``task:<class>``, ``course:<id>``, ``privacy_request:<id>``,
    ``review_campaign:<id>`` or ``plugin:<component>``.
    ``severity`` overrides the check's declared severity for this one result (for example a
    Moodle check that is critical in one case and a warning in another). ``remediation`` and
    ``fix_command`` override the check's for this result when the exact fix depends on the
    site (its version, its other settings); ``fix_command`` ``""`` means no command applies.
    """

    status: Status
    reason: str
    resource: str = "site"
    observed: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    remediation: str | None = None
    fix_command: str | None = None

    def with_fix(self, *, remediation: str | None = None, command: str | None = None) -> Result:
        """This result with a site-specific remediation and/or fix command."""
        return replace(
            self,
            remediation=remediation or self.remediation,
            fix_command=self.fix_command if command is None else command,
        )

    def __post_init__(self) -> None:
        if not self.reason.endswith((".", "?", "!")):
            raise ValueError(f"A result's reason must be a full sentence: {self.reason!r}")

    @classmethod
    def pass_if(
        cls,
        condition: bool,
        reason: str,
        *,
        resource: str = "site",
        observed: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Result:
        return cls(
            Status.PASS if condition else Status.FAIL,
            reason,
            resource,
            observed or {},
            severity,
        )

    @classmethod
    def passed(cls, reason: str, **kwargs: Any) -> Result:
        return cls(Status.PASS, reason, **kwargs)

    @classmethod
    def failed(cls, reason: str, **kwargs: Any) -> Result:
        return cls(Status.FAIL, reason, **kwargs)

    @classmethod
    def manual(cls, reason: str, **kwargs: Any) -> Result:
        return cls(Status.MANUAL, reason, **kwargs)

    @classmethod
    def not_applicable(cls, reason: str, **kwargs: Any) -> Result:
        return cls(Status.NOT_APPLICABLE, reason, **kwargs)

    @classmethod
    def error(cls, reason: str, **kwargs: Any) -> Result:
        return cls(Status.ERROR, reason, **kwargs)
