"""A reviewer's decision recorded in the web dashboard instead of a review file.

The rules are the review file's (``files._check_row``), applied to one entry: a known entry,
one of the decisions, grants to remove only for revoke and modify (and modify needs some), only
grants the account holds, a bounded comment. The decision is kept as a ``review_decisions``
record of its own, with ``file_format`` "web".
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from moodle_soc.errors import BadInputError
from moodle_soc.models.reviews import DECISIONS, Campaign, Decision, DecisionImport
from moodle_soc.reviews.files import MAX_COMMENT


def browser_decision(
    campaign: Campaign,
    *,
    key: str,
    decision: str,
    comment: str,
    remove_grants: list[str],
    by: str,
    now: datetime | None = None,
) -> DecisionImport:
    """One validated decision as an import, or ``BadInputError`` naming every problem."""
    entry = campaign.entry(key)
    problems = []
    if entry is None:
        problems.append(f"{key!r} is not an entry to review in campaign {campaign.id}")
    if decision not in DECISIONS:
        problems.append(f"Decision {decision!r} is not one of {', '.join(DECISIONS)}")
    elif decision in ("keep", "escalate") and remove_grants:
        problems.append(f"Remove grants must be empty for decision {decision}")
    elif decision == "modify" and not remove_grants:
        problems.append("decision modify needs the grants to take away")
    if entry is not None and remove_grants:
        held = {grant.key for grant in entry.grants}
        foreign = [g for g in remove_grants if g not in held]
        if foreign:
            problems.append(f"{', '.join(foreign)} is not held by {entry.username}")
    if len(comment) > MAX_COMMENT:
        problems.append(f"the comment is longer than {MAX_COMMENT} characters")
    if problems:
        raise BadInputError("The decision was not recorded: " + "; ".join(problems) + ".")
    made = Decision(
        key=key,
        decision=decision,  # checked against DECISIONS above
        comment=comment,
        remove_grants=remove_grants,
        reviewer=by,
        row=0,
    )
    submitted = json.dumps(made.model_dump(mode="json"), sort_keys=True).encode()
    return DecisionImport(
        campaign_id=campaign.id,
        imported_by=by,
        imported_at=now or datetime.now(UTC),
        file_name="",
        file_sha256=hashlib.sha256(submitted).hexdigest(),
        file_format="web",
        decisions=[made],
    )
