"""``copps fediverse actors`` and ``copps fediverse follow``: the operator's command line for the
force's fediverse accounts."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from copps.audit.models import AuditRecord
from copps.federation import actions as fediverse
from copps.federation.models import (
    Follower,
    Following,
    FollowState,
    Outgoing,
    RemoteActor,
)

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]


def run(*args: str) -> str:
    out = StringIO()
    call_command("fediverse", *args, stdout=out)
    return out.getvalue()


def test_actors_lists_each_account_with_its_followers_and_follows(news, admin_user, area):
    fediverse.create_actor(by=admin_user, username="noord", kind="area", name="Noord", area=area)
    fediverse.set_enabled(news, False, by=admin_user)
    for n, state in enumerate(["accepted", "accepted", "pending"]):
        remote = RemoteActor.objects.create(
            uri=f"https://social.example/users/{n}", domain="social.example"
        )
        Follower.objects.create(
            actor=news, remote=remote, state=state, activity_id=f"{remote.uri}#f"
        )
    Following.objects.create(
        actor=news, remote=remote, state=FollowState.ACCEPTED, activity_id=f"{SITE}/@news#f"
    )
    assert run("actors").splitlines() == [
        "@news@testserver force disabled followers=2 pending=1 following=1",
        "@noord@testserver area enabled followers=0 pending=0 following=0",
    ]


def test_follow_queues_a_follow_for_the_worker_and_is_audited(news, social):
    alice = social.user("alice")
    assert run("follow", "@news", alice.id).strip() == "@news requested @alice@social.example"
    following = Following.objects.get(actor=news)
    assert following.state == FollowState.PENDING
    queued = Outgoing.objects.get(activity_id=following.activity_id)
    assert queued.inbox == alice.inbox and queued.activity["type"] == "Follow"
    record = AuditRecord.objects.get(action="fediverse.follow")
    assert record.actor == "cli"
    # Asking again changes nothing.
    run("follow", "news", alice.id)
    assert Outgoing.objects.count() == 1


def test_follow_refuses_an_unknown_account_and_an_address_it_cannot_resolve(news, social):
    with pytest.raises(CommandError, match="No fediverse account named 'nobody'"):
        run("follow", "nobody", social.user("alice").id)
    with pytest.raises(CommandError, match="Cannot follow"):
        run("follow", "news", "not-an-address")
    assert not Following.objects.exists()
