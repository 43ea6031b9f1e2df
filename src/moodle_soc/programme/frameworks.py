"""The readiness programme seen through any framework (``readiness --framework``).

The programme judges a requirement by the latest scan's checks and the freshness of its manual
evidence; this applies the same rule (``overview._category_scores``) to another framework's
requirements, with that framework's own manual evidence defined beside the built-in ones.
"""

from __future__ import annotations

from datetime import datetime

from moodle_soc.evidence.store.store import EvidenceStore
from moodle_soc.frameworks import Catalogue, Framework
from moodle_soc.models.frameworks import FrameworkReadiness
from moodle_soc.models.records import SiteRef
from moodle_soc.programme.controls import evidence_in_force, manual_controls, owner_changes
from moodle_soc.programme.overview import _category_scores, latest_run
from moodle_soc.programme.scope import scope_in_force


def framework_readiness(
    store: EvidenceStore, site: SiteRef, as_of: datetime, catalogue: Catalogue, framework: Framework
) -> FrameworkReadiness:
    on = as_of.date()
    extended = catalogue.model_copy(
        update={"manual_evidence": catalogue.manual_evidence | framework.manual_evidence}
    )
    evidence_ids = list(dict.fromkeys(e for c in framework.criteria for e in c.manual_evidence))
    controls = manual_controls(
        extended,
        evidence_ids,
        evidence_in_force(store, site.key, on),
        owner_changes(store, site.key, on),
        on,
    )
    run, _seq = latest_run(store, site.key, as_of)
    check_status = {c.id: c.status.value for c in run.checks} if run else {}
    scope = scope_in_force(store, site.key)
    by_id = {c.id: c for c in controls}
    categories = _category_scores(extended, scope, by_id, check_status, framework)
    met = sum(c.met for c in categories)
    scored = sum(c.criteria - c.not_applicable for c in categories)
    return FrameworkReadiness(
        id=framework.id,
        name=framework.name,
        version=framework.version,
        categories=tuple(categories),
        score=round(100 * met / scored, 1) if scored else None,
    )
