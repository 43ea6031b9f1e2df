"""Reviewers decide in the browser: each decision is evidence, the review file's rules apply,
only the campaign's reviewer decides, and the sign-off is final."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.conftest import REVIEWER, Fixture, login

from moodle_soc.api.reviews import get_review
from moodle_soc.evidence.store.store import open_store
from moodle_soc.evidence.store.verify import verify_store
from moodle_soc.models.records import RecordKind


def _campaign(web_store: Fixture, campaign_id: str):  # type: ignore[no-untyped-def]
    with open_store(str(web_store.path)) as store:
        return get_review(store, campaign_id)


def test_a_reviewer_decides_every_entry_and_signs_off(
    client: TestClient, web_store: Fixture
) -> None:
    csrf = login(client, REVIEWER)
    campaign = _campaign(web_store, web_store.acme_campaign)
    url = f"/reviews/{campaign.id}"
    for number, entry in enumerate(campaign.entries):
        decision = "revoke" if number == 0 else "keep"
        answer = client.post(
            f"{url}/decisions",
            data={
                "key": entry.key,
                "decision": decision,
                "comment": f"checked {number}",
                "csrf_token": csrf,
            },
        )
        assert answer.status_code == 303, answer.text
    assert client.post(f"{url}/signoff", data={"csrf_token": csrf}).status_code == 303
    after = _campaign(web_store, campaign.id)
    assert after.close is not None and after.close.closed_by == REVIEWER
    assert [f.username for f in after.close.follow_ups] == [campaign.entries[0].username]
    first = after.decisions[campaign.entries[0].key]
    assert (first.decision, first.comment, first.reviewer) == ("revoke", "checked 0", REVIEWER)
    assert {i.file_format for i in after.imports} == {"web"}
    with open_store(str(web_store.path)) as store:
        kinds = [r.kind for r in store.records(site_key=campaign.start.site_key)]
        assert kinds.count(RecordKind.REVIEW_DECISIONS) == len(campaign.entries)
        assert verify_store(store).ok
    page = client.get(url).text
    assert (
        f"Signed off by {REVIEWER}" in page and 'action="/reviews' not in page.split("<table", 1)[1]
    )
    late = client.post(
        f"{url}/decisions",
        data={"key": campaign.entries[0].key, "decision": "keep", "csrf_token": csrf},
    )
    assert late.status_code == 400 and "refused after sign-off" in late.text


def test_a_decision_breaking_the_review_rules_is_refused_and_not_stored(
    client: TestClient, web_store: Fixture
) -> None:
    csrf = login(client, REVIEWER)
    entry = _campaign(web_store, web_store.acme_campaign).entries[0]
    answer = client.post(
        f"/reviews/{web_store.acme_campaign}/decisions",
        data={"key": entry.key, "decision": "modify", "csrf_token": csrf},
    )
    assert answer.status_code == 400
    assert "decision modify needs the grants to take away" in answer.text
    assert _campaign(web_store, web_store.acme_campaign).imports == []


def test_signing_off_with_undecided_entries_is_refused(
    client: TestClient, web_store: Fixture
) -> None:
    csrf = login(client, REVIEWER)
    answer = client.post(f"/reviews/{web_store.acme_campaign}/signoff", data={"csrf_token": csrf})
    assert answer.status_code == 400 and "cannot be closed" in answer.text


def test_only_the_campaigns_reviewer_sees_and_decides_it(
    client: TestClient, web_store: Fixture
) -> None:
    csrf = login(client, "other@acme.test")
    assert "No campaign to show" in client.get("/reviews").text
    assert client.get(f"/reviews/{web_store.acme_campaign}").status_code == 404
    entry = _campaign(web_store, web_store.acme_campaign).entries[0]
    answer = client.post(
        f"/reviews/{web_store.acme_campaign}/decisions",
        data={"key": entry.key, "decision": "keep", "csrf_token": csrf},
    )
    assert answer.status_code == 404


def test_a_manager_reads_a_campaign_but_gets_no_decision_forms(
    client: TestClient, web_store: Fixture
) -> None:
    login(client, "manager")
    page = client.get(f"/reviews/{web_store.acme_campaign}").text
    assert "undecided" in page and "/decisions" not in page and "Sign off" not in page


def test_with_htmx_a_decision_answers_with_its_row_and_the_counts(
    client: TestClient, web_store: Fixture
) -> None:
    csrf = login(client, REVIEWER)
    campaign = _campaign(web_store, web_store.acme_campaign)
    entry = campaign.entries[0]
    url = f"/reviews/{campaign.id}/decisions"
    headers = {"HX-Request": "true"}
    done = client.post(
        url, headers=headers, data={"key": entry.key, "decision": "keep", "csrf_token": csrf}
    )
    assert done.status_code == 200
    assert done.text.lstrip().startswith(f'<tr id="entry-{entry.key}">')
    assert '<strong class="decision">keep</strong>' in done.text
    assert f'<p id="counts" hx-swap-oob="true">{len(campaign.entries)} entries: 1 keep' in done.text
    refused = client.post(
        url, headers=headers, data={"key": entry.key, "decision": "modify", "csrf_token": csrf}
    )
    assert refused.status_code == 200
    assert "decision modify needs the grants to take away" in refused.text
    assert len(_campaign(web_store, campaign.id).imports) == 1


def test_a_changed_entry_names_its_new_grants_by_role_and_context() -> None:
    from types import SimpleNamespace as NS

    from moodle_soc.models.access import Grant
    from moodle_soc.reports.templating import environment

    grant = Grant(key="role:coursecreator@system", kind="role", context="system", risks=[],
                  summary="Course creator at System")  # fmt: skip
    entry = NS(key="user:3", username="support", fullname="S", email="s@x.test", state="active",
               grants=[grant], flags=[])  # fmt: skip
    row = NS(entry=entry, tag=NS(tag="changed", grants_added=[grant.key]), decision=None,
             decided_at=None, error="")  # fmt: skip
    html = (
        environment()
        .get_template("web/review_row.html.j2")
        .render(c=NS(id="c1", close=None), row=row, can_decide=False, csrf_token="t", oob=False)
    )
    assert "new: Course creator at System" in html and "new: role:" not in html
