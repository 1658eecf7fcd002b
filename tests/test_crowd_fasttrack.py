"""Templates approved beforehand, the commander's fast track, crisis mode and crisis priority."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.channels import deliveries
from copps.channels.models import Delivery, Recipient, SandboxPost, Subscription
from copps.crowd import actions, ingest, templates
from copps.crowd.models import (
    AlertState,
    CrisisMode,
    CrowdAlert,
    Event,
    SentMessage,
    TemplateUse,
    Zone,
)
from copps.newsroom.models import Kind
from copps.newsroom.workflow import State
from tests.crowd_helpers import approved_template, iso, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER, "cmdr")


@pytest.fixture
def editor2(make_user):
    return make_user(Role.EDITOR, "eddie")


def fill_zone(zone, density, when=None):
    when = when or timezone.now()
    area = Zone.objects.get(pk=zone.pk).area_m2
    ingest.ingest(
        [("bt-korenmarkt-1", {"ts": iso(when), "devices": int(density * area / 2.0) + 1})],
        via="http",
        now=when,
    )


def test_a_template_is_approved_by_a_second_person_and_edits_withdraw_it(commander, editor2):
    template = actions.save_template(
        by=commander,
        name="Vol",
        use=TemplateUse.CROWD,
        level="red",
        texts={"nl": {"title": "{zone} is vol", "body": "Ga naar {quietest}."}},
    )
    assert not template.approved
    with pytest.raises(PermissionDenied):
        actions.approve_template(template, by=commander)  # commanders may not approve at all
    writer_editor = actions.save_template(
        by=editor2, name="Eigen", use=TemplateUse.CROWD, texts={"nl": {"title": "x", "body": "y"}}
    )
    with pytest.raises(actions.SelfApproval):
        actions.approve_template(writer_editor, by=editor2)
    actions.approve_template(template, by=editor2)
    template.refresh_from_db()
    assert template.approved and template.approved_by == editor2
    # The same words again keep the approval; other words withdraw it.
    actions.save_template(
        by=commander, template=template, name="Vol!", use="crowd", level="red", texts=template.texts
    )
    template.refresh_from_db()
    assert template.approved
    actions.save_template(
        by=commander,
        template=template,
        name="Vol!",
        use="crowd",
        level="red",
        texts={"nl": {"title": "{zone} zit vol", "body": "Ga naar {quietest}."}},
    )
    template.refresh_from_db()
    assert not template.approved


def test_alert_to_fast_track_to_sandbox_channel(admin, commander, editor2, make_channel):
    mastodon = make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )
    event, markt, vrijdag, *_ = make_event(admin, channels=("web", "rss", "mastodon"))
    template = approved_template(commander, editor2)
    ingest.ingest([("gate-vrijdag-1", {"ts": iso(timezone.now()), "in": 30, "out": 0})], via="http")
    fill_zone(markt, 2.5)
    alert = CrowdAlert.objects.get(zone=markt, level="red")
    assert template in templates.proposals("red")
    message = actions.send_fast_track(by=commander, template=template, alert=alert)
    assert message.state == State.PUBLISHED
    assert message.kind == Kind.PUBLIC_ORDER
    assert message.author == commander and message.approved_by == editor2
    nl = message.version_for("nl")
    assert nl.title == "Korenmarkt is vol"
    # The live facts: the number of people, the quietest other zone, the zone's advice.
    people = Zone.objects.get(pk=markt.pk).people
    assert f"{people:,}".replace(",", ".") in nl.body or str(people) in nl.body
    assert "Vrijdagmarkt" in nl.body and "Veldstraat" in nl.body
    alert.refresh_from_db()
    assert alert.state == AlertState.SENT and alert.closed_by == commander
    sent = SentMessage.objects.get(message=message)
    assert sent.event == event and sent.template == template and sent.sent_by == commander
    record = AuditRecord.objects.get(action="message.fast_track")
    assert record.actor == "cmdr"
    assert record.data["template"] == template.pk
    assert record.data["template_approved_by"] == "eddie"
    assert AuditRecord.objects.filter(action="event.fast_track").exists()
    deliveries.deliver_due()
    post = SandboxPost.objects.get(service="mastodon")
    assert "Korenmarkt" in post.text
    assert Delivery.objects.get(channel=mastodon).state == "sent"


def test_only_commanders_and_administrators_send(
    admin, commander, editor2, communicator, make_user
):
    make_event(admin)
    template = approved_template(commander, editor2)
    event = Event.objects.get()
    for user in (communicator, editor2, make_user(Role.ANALYST), make_user(Role.OFFICER)):
        with pytest.raises(PermissionDenied):
            actions.send_fast_track(by=user, template=template, event=event)
    actions.send_fast_track(by=admin, template=template, event=event)


def test_an_unapproved_or_inactive_template_never_goes(admin, commander, editor2):
    event, *_ = make_event(admin)
    draft = actions.save_template(
        by=commander, name="Ontwerp", use="crowd", texts={"nl": {"title": "t", "body": "b"}}
    )
    with pytest.raises(PermissionDenied):
        actions.send_fast_track(by=commander, template=draft, event=event)
    template = approved_template(commander, editor2)
    actions.set_template_active(template, by=commander, active=False)
    with pytest.raises(PermissionDenied):
        actions.send_fast_track(by=commander, template=template, event=event)
    assert not SentMessage.objects.exists()


def test_crisis_mode_on_and_off_is_for_administrators_and_audited(admin, commander):
    page = actions.save_crisis_page(
        by=admin,
        name="Stroomuitval",
        content={"nl": {"title": "Stroomuitval", "body": "Blijf binnen."}},
    )
    with pytest.raises(PermissionDenied):
        actions.crisis_on(by=commander, page=page)
    actions.crisis_on(by=admin, page=page)
    mode = CrisisMode.current()
    assert mode.active and mode.page == page and mode.by == admin
    actions.crisis_off(by=admin)
    assert not CrisisMode.current().active
    actions_done = list(
        AuditRecord.objects.filter(action__startswith="crisis.").values_list("action", flat=True)
    )
    assert actions_done == ["crisis.page_save", "crisis.on", "crisis.off"]


def test_crisis_updates_reach_every_subscriber_of_the_area_first(
    admin, commander, editor2, area, make_channel
):
    area.postcodes = ["9000"]
    area.save()
    newsletter = make_channel("email", slug="news-nl")

    def subscribe(address, topics, postcodes):
        return Subscription.objects.create(
            medium="email",
            address=address,
            state="active",
            language="nl",
            topics=topics,
            postcodes=postcodes,
            secret="x" * 32,
        )

    traffic_only = subscribe("t@example.org", ["traffic"], ["9000"])
    elsewhere = subscribe("e@example.org", [], ["2000"])
    everywhere = subscribe("w@example.org", ["news"], [])
    # An ordinary message planned first must wait behind the crisis update.
    from copps.newsroom.distribution import payload_for

    page = actions.save_crisis_page(
        by=admin, name="Brand", content={"nl": {"title": "Brand", "body": "Ramen dicht."}}
    )
    actions.crisis_on(by=admin, page=page, area=area)
    crisis_template = approved_template(commander, editor2, use=TemplateUse.CRISIS, level="")
    message = actions.send_fast_track(by=commander, template=crisis_template)
    assert message.kind == Kind.CRISIS and message.area == area
    from copps.newsroom.renditions import CHANNELS

    assert message.channels == list(CHANNELS)
    crisis_delivery = Delivery.objects.get(message=message, channel=newsletter)
    assert crisis_delivery.priority == 1
    ordinary = deliveries.plan(
        message_id=message.pk,
        channel=newsletter,
        language="fr",
        payload=payload_for(message, newsletter, "nl"),
    )
    Delivery.objects.filter(pk=ordinary.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert deliveries.due()[0] == crisis_delivery.pk
    deliveries.deliver_due()
    got = set(
        Recipient.objects.filter(delivery=crisis_delivery).values_list("subscription_id", flat=True)
    )
    # Topics do not matter in a crisis; the area does (no postcodes: the whole force area).
    assert got == {traffic_only.pk, everywhere.pk}
    assert elsewhere.pk not in got


def test_send_without_event_or_text_is_refused(admin, commander, editor2):
    template = approved_template(commander, editor2)
    with pytest.raises(ValidationError):
        actions.send_fast_track(by=commander, template=template)


def test_changing_a_templates_use_or_level_withdraws_its_approval(commander, editor2):
    template = approved_template(commander, editor2)
    actions.save_template(
        by=commander,
        template=template,
        name=template.name,
        use=TemplateUse.CRISIS,
        level="",
        texts=template.texts,
    )
    template.refresh_from_db()
    assert not template.approved


def test_an_approval_is_for_the_words_the_approver_saw(commander, editor2):
    template = actions.save_template(
        by=commander, name="Vol", use="crowd", texts={"nl": {"title": "{zone} is vol", "body": "b"}}
    )
    seen = template.updated_at.isoformat()
    actions.save_template(
        by=commander,
        template=template,
        name="Vol",
        use="crowd",
        texts={"nl": {"title": "Iedereen naar {zone}", "body": "b"}},
    )
    template.refresh_from_db()
    with pytest.raises(ValidationError):
        actions.approve_template(template, by=editor2, seen=seen)
    template.refresh_from_db()
    assert not template.approved
    actions.approve_template(template, by=editor2, seen=template.updated_at.isoformat())
    template.refresh_from_db()
    assert template.approved
