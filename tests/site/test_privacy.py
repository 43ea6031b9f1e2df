"""Privacy reads open data requests and the active compulsory site policies."""

from __future__ import annotations

NOW = 1795936000
DAY = 86400


def test_pending_requests_are_open_and_older_than_the_cutoff(builder, make_site):
    alice = builder.user("alice")
    old = builder.privacy_request(alice, type=2, status=2, timecreated=NOW - 40 * DAY)
    builder.privacy_request(alice, status=0, timecreated=NOW - 2 * DAY)  # recent
    builder.privacy_request(alice, status=5, timecreated=NOW - 90 * DAY)  # complete
    builder.privacy_request(alice, status=4, timecreated=NOW - 35 * DAY)
    privacy = make_site(builder).privacy

    late = privacy.pending_requests(NOW - 30 * DAY)

    assert [(r.id, r.type_word, r.status_word) for r in late] == [
        (old, "delete", "awaiting approval"),
        (4, "export", "processing"),
    ]
    assert privacy.count_pending_requests(NOW - 30 * DAY) == 2
    assert len(privacy.pending_requests(NOW - 30 * DAY, limit=1)) == 1


def test_active_site_policies_are_current_compulsory_and_for_users(builder, make_site):
    site_policy = builder.policy("Site policy", type=0)
    builder.policy("Marketing", type=99, optional=1)
    builder.policy("Guests only", audience=2)
    builder.policy("Old policy", archived=1)
    privacy_policy = builder.policy("Privacy notice", type=1, audience=1)

    active = make_site(builder).privacy.active_site_policies()

    assert [(p.id, p.name, p.type_word) for p in active] == [
        (site_policy, "Site policy", "site"),
        (privacy_policy, "Privacy notice", "privacy"),
    ]


def test_users_without_acceptance_of_every_compulsory_version(builder, make_site):
    first = builder.policy("Site policy")
    second = builder.policy("Privacy notice", type=1)
    both = builder.user("both")
    one = builder.user("one")
    builder.user("none")
    builder.user("gone", deleted=1)
    declined = builder.user("declined")
    for version in (first, second):
        builder.policy_acceptance(version, both)
    builder.policy_acceptance(first, one)
    builder.policy_acceptance(first, declined, status=0)
    privacy = make_site(builder).privacy

    # admin, one, none and declined; not the guest, not the deleted user
    assert privacy.users_without_policy_acceptance([first, second]) == 4
    assert privacy.users_without_policy_acceptance([first]) == 3
    assert privacy.users_without_policy_acceptance([]) == 0
