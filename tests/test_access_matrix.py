"""Who may do what: every role against every action, through the real actions and endpoints.

The expected table below is written out by hand, on purpose. Deriving it from
``ROLE_CAPABILITIES`` would make the test agree with whatever the code says, so it could never
fail. When a rule changes, change the table here, in the same commit, after deciding it is right
for a police communication department.

Each cell runs the real thing: a ``copps.newsroom.actions`` call (refused = PermissionDenied),
``copps.public.actions.update_page``, ``copps.accounts.actions``, or an HTTP request to the
console, the user pages or the API (refused = 403). Where an access helper decides what the
console offers (``copps.newsroom.access``), it is checked against the same cell.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from copps.accounts import actions as account_actions
from copps.accounts.roles import Role
from copps.newsroom import access, actions
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Correction, Message
from copps.newsroom.workflow import State, apply
from copps.public import actions as page_actions
from copps.public.models import Page

Y, N = True, False

# Column order of the table.
ROLES = (
    Role.COMMUNICATOR,
    Role.EDITOR,
    Role.OFFICER,
    Role.COACH,
    Role.INVESTIGATOR,
    Role.ANALYST,
    Role.COMMANDER,
    Role.ADMIN,
)

# fmt: off
EXPECTED = {
    #                              comm edit offi coach inv  anal cmdr admin
    "view console":               (Y,   Y,   Y,   Y,    Y,   Y,   Y,   Y),
    "create message, own area":   (Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "create message, other area": (Y,   Y,   N,   N,    N,   N,   Y,   Y),
    "edit own draft":             (Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "edit someone else's draft":  (N,   Y,   N,   N,    N,   N,   N,   Y),
    "submit own draft":           (Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "withdraw own submission":    (Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "withdraw own approved msg":  (Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "approve someone else's":     (N,   Y,   N,   N,    N,   N,   N,   Y),
    "approve own message":        (N,   N,   N,   N,    N,   N,   N,   N),
    "reject":                     (N,   Y,   N,   N,    N,   N,   N,   Y),
    "schedule":                   (N,   Y,   N,   N,    N,   N,   N,   Y),
    "unschedule":                 (N,   Y,   N,   N,    N,   N,   N,   Y),
    "publish":                    (N,   Y,   N,   N,    N,   N,   N,   Y),
    # A correction of a published message is proposed by whoever may write it (or publish),
    # and goes public only when a reviewer other than the proposer approves it.
    "propose correction, own msg":(Y,   Y,   Y,   N,    N,   N,   Y,   Y),
    "propose correction, other's":(N,   Y,   N,   N,    N,   N,   N,   Y),
    "approve others' correction": (N,   Y,   N,   N,    N,   N,   N,   Y),
    "approve own correction":     (N,   N,   N,   N,    N,   N,   N,   N),
    "reject a correction":        (N,   Y,   N,   N,    N,   N,   N,   Y),
    "retract":                    (N,   Y,   N,   N,    N,   N,   N,   Y),
    "override blocking findings": (N,   Y,   N,   N,    N,   N,   N,   Y),
    "view audit":                 (N,   Y,   N,   Y,    N,   N,   N,   Y),
    "manage word lists":          (N,   N,   N,   Y,    N,   N,   N,   Y),
    "edit pages":                 (N,   Y,   N,   N,    N,   N,   N,   Y),
    "manage users":               (N,   N,   N,   N,    N,   N,   N,   Y),
    "own tokens":                 (Y,   Y,   Y,   Y,    Y,   Y,   Y,   Y),
    "manage channels":            (N,   N,   N,   N,    N,   N,   N,   Y),
    "resolve unknown deliveries": (N,   Y,   N,   N,    N,   N,   N,   Y),
    # The citizens' inbox: two desks that never cross (tips and SMS: investigators only).
    "read the communication inbox":(Y,  Y,   Y,   N,    N,   N,   N,   Y),
    "moderate citizens' comments":(Y,   Y,   N,   N,    N,   N,   N,   Y),
    "read tips":                  (N,   N,   N,   N,    Y,   N,   N,   N),
    # The police blotter: raw incidents, policy and review for editors; dispatch pushes through
    # an analyst's or administrator's token.
    "manage the blotter policy":  (N,   Y,   N,   N,    N,   N,   N,   Y),
    "push incidents (API)":       (N,   N,   N,   N,    N,   Y,   N,   Y),
    # Listening: communication purposes and investigation purposes never cross.
    "see communication listening":(Y,   Y,   N,   N,    N,   Y,   N,   Y),
    "see investigation listening":(N,   N,   N,   N,    Y,   N,   N,   N),
    # Listening sources: whoever listens sees where posts come from; administrators manage.
    "see listening sources":      (Y,   Y,   N,   N,    Y,   Y,   N,   Y),
    "manage listening sources":   (N,   N,   N,   N,    N,   N,   N,   Y),
}
# fmt: on


def test_the_table_covers_every_role():
    assert sorted(ROLES) == sorted(Role.values), "a role was added: give it a column above"
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())


class World:
    """The setting for one cell: the actor, a colleague author, areas, helpers to make messages."""

    def __init__(self, user, alice, area, other_area, approver):
        self.user, self.alice, self.area, self.other_area = user, alice, area, other_area
        self.approver = approver

    def message(self, author, state=State.DRAFT, **kwargs) -> Message:
        """A message by ``author`` in ``state``, put there without access checks (setup only):
        some roles can never write one themselves, yet "their own draft" must be tested."""
        message, _ = actions.create_message(
            by=self.alice,
            versions=[VersionInput("nl", "Fietsdiefstallen", "Sluit je fiets altijd op slot.")],
            area=self.area,
            **kwargs,
        )
        Message.objects.filter(pk=message.pk).update(author=author, contributor_ids=[author.pk])
        message.refresh_from_db()
        path = {
            State.DRAFT: [],
            State.SUBMITTED: ["submit"],
            State.APPROVED: ["submit", "approve"],
            State.SCHEDULED: ["submit", "approve", "schedule"],
            State.PUBLISHED: ["submit", "approve", "publish"],
        }[state]
        for step in path:
            fields = {}
            if step == "approve":
                fields["approved_by"] = self.approver
            if step == "schedule":
                fields["publish_at"] = timezone.now() + timedelta(days=1)
            if step == "publish":
                fields["published_at"] = timezone.now()
            apply(message, step, by="setup", **fields)
        return message

    def http(self, method: str, path: str, **kwargs) -> int:
        client = Client()
        client.force_login(self.user)
        return getattr(client, method)(path, **kwargs).status_code

    def api(self, path: str) -> int:
        _token, raw = account_actions.issue_token(self.user, by=self.user, name="matrix")
        return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


def refused_if(status: int, allowed_status: int = 200) -> None:
    """Turn an HTTP answer into the same allowed/refused outcome as an action call."""
    if status == 403:
        raise PermissionDenied(status)
    assert status == allowed_status, f"unexpected status {status}"


NL = [VersionInput("nl", "Aangepaste titel", "Aangepaste tekst zonder problemen.")]


# Each cell: run it (returns when allowed, raises PermissionDenied when refused) and, where the
# console asks an access helper first, return that helper's answer too.
def view_console(w):
    refused_if(w.http("get", "/console/"))


def create_own_area(w):
    helper = access.can_create(w.user, w.area)
    actions.create_message(by=w.user, versions=NL, area=w.area)
    return helper


def create_other_area(w):
    helper = access.can_create(w.user, w.other_area)
    actions.create_message(by=w.user, versions=NL, area=w.other_area)
    return helper


def edit_own_draft(w):
    message = w.message(w.user)
    helper = access.can_edit(w.user, message)
    actions.update_message(message, by=w.user, versions=NL)
    return helper


def edit_others_draft(w):
    message = w.message(w.alice)
    helper = access.can_edit(w.user, message)
    actions.update_message(message, by=w.user, versions=NL)
    return helper


def submit_own(w):
    message = w.message(w.user)
    helper = access.can(w.user, message, "submit")
    actions.submit_message(message, by=w.user)
    assert message.state == State.SUBMITTED
    return helper


def withdraw_own(w):
    message = w.message(w.user, State.SUBMITTED)
    helper = access.can(w.user, message, "withdraw")
    actions.withdraw_message(message, by=w.user)
    return helper


def withdraw_own_approved(w):
    message = w.message(w.user, State.APPROVED)
    helper = access.can(w.user, message, "withdraw")
    actions.withdraw_message(message, by=w.user)
    assert message.state == State.DRAFT and message.approved_by is None
    return helper


def approve_others(w):
    message = w.message(w.alice, State.SUBMITTED)
    helper = access.can(w.user, message, "approve")
    actions.approve_message(message, by=w.user)
    assert message.state == State.PUBLISHED and message.approved_by_id == w.user.pk
    return helper


def approve_own(w):
    message = w.message(w.user, State.SUBMITTED)
    helper = access.can(w.user, message, "approve")
    try:
        actions.approve_message(message, by=w.user)
    finally:
        message.refresh_from_db()
        assert message.state == State.SUBMITTED
    return helper


def reject(w):
    message = w.message(w.alice, State.SUBMITTED)
    helper = access.can(w.user, message, "reject")
    actions.reject_message(message, by=w.user, reason="Bron ontbreekt.")
    return helper


def schedule(w):
    message = w.message(w.alice, State.APPROVED)
    helper = access.can(w.user, message, "schedule")
    actions.schedule_message(message, by=w.user, publish_at=timezone.now() + timedelta(hours=2))
    return helper


def unschedule(w):
    message = w.message(w.alice, State.SCHEDULED)
    helper = access.can(w.user, message, "unschedule")
    actions.unschedule_message(message, by=w.user)
    return helper


def publish(w):
    message = w.message(w.alice, State.APPROVED)
    helper = access.can(w.user, message, "publish")
    actions.publish_message(message, by=w.user)
    return helper


def propose_correction_own(w):
    message = w.message(w.user, State.PUBLISHED)
    helper = access.can(w.user, message, "correct")
    assert helper is access.can_propose_correction(w.user, message)
    correction = actions.propose_correction(
        message, by=w.user, note="Datum verbeterd.", versions=NL
    )
    message.refresh_from_db()
    assert correction.state == "pending" and message.state == State.PUBLISHED
    return helper


def propose_correction_others(w):
    message = w.message(w.alice, State.PUBLISHED)
    helper = access.can(w.user, message, "correct")
    actions.propose_correction(message, by=w.user, note="Datum verbeterd.", versions=NL)
    return helper


def _pending_correction(w, proposer) -> Correction:
    """A pending correction of alice's published message by ``proposer`` (setup only, so that
    roles that can never propose one can still be tested as its proposer)."""
    message = w.message(w.alice, State.PUBLISHED)
    return Correction.objects.create(
        message=message,
        proposed_by=proposer,
        note="Datum verbeterd.",
        versions={"nl": {"title": "Fietsdiefstallen", "teaser": "", "body": "Nieuwe tekst."}},
    )


def approve_others_correction(w):
    correction = _pending_correction(w, w.approver)
    helper = access.can_decide_correction(w.user, correction)
    actions.approve_correction(correction, by=w.user)
    correction.message.refresh_from_db()
    assert correction.message.state == State.CORRECTED
    return helper


def approve_own_correction(w):
    correction = _pending_correction(w, w.user)
    helper = access.can_decide_correction(w.user, correction)
    try:
        actions.approve_correction(correction, by=w.user)
    finally:
        correction.refresh_from_db()
        assert correction.state == "pending"
    return helper


def reject_correction(w):
    correction = _pending_correction(w, w.approver)
    helper = access.can_decide_correction(w.user, correction)
    actions.reject_correction(correction, by=w.user, reason="Klopt niet.")
    return helper


def retract(w):
    message = w.message(w.alice, State.PUBLISHED)
    helper = access.can(w.user, message, "retract")
    actions.retract_message(message, by=w.user, reason="Verkeerde informatie.")
    return helper


def override(w):
    # A personal post without a signature has a blocking finding.
    message = w.message(w.user, is_personal=True, signature="")
    assert any(f.severity == "blocking" for f in actions.findings_for(message))
    actions.submit_message(message, by=w.user, override_reason="Afgesproken met de woordvoerder.")
    assert message.state == State.SUBMITTED


def view_audit(w):
    message = w.message(w.alice)
    refused_if(w.api(f"/api/v1/messages/{message.pk}/audit"))


def manage_word_lists(w):
    actions.update_word_list(by=w.user, language="nl", category="offensive", terms="flik\nsmeris")


def edit_pages(w):
    page_actions.update_page(
        by=w.user,
        slug=Page.Slug.HOUSE_RULES,
        language="nl",
        title="Huisregels",
        body="Wees beleefd.",
    )


def manage_users(w):
    refused_if(w.http("get", "/accounts/users/"))
    account_actions.create_user(
        by=w.user, username="nieuw", password="een lang genoeg wachtwoord", role=Role.ANALYST
    )


def own_tokens(w):
    refused_if(w.http("get", "/accounts/tokens/"))
    account_actions.issue_token(w.user, by=w.user, name="script")


def manage_channels(w):
    from copps.channels import actions as channel_actions

    refused_if(w.http("get", "/console/channels/"))
    channel_actions.create_channel(
        by=w.user,
        kind="webhook",
        name="Webhook",
        slug="webhook-matrix",
        language="nl",
        sandbox=True,
        config={"url": "https://hooks.example.org/matrix"},
        secrets={"signing_secret": "s" * 32},
    )


def resolve_deliveries(w):
    from copps.channels import deliveries
    from copps.channels.models import Channel, Delivery

    message = w.message(w.alice, State.PUBLISHED)
    channel = Channel(name="Hook", slug="hook-matrix", kind="webhook", language="nl", sandbox=True)
    channel.save()
    delivery = deliveries.plan(
        message_id=message.pk, channel=channel, language="nl", payload={"text": "x"}
    )
    Delivery.objects.filter(pk=delivery.pk).update(state="unknown")
    refused_if(w.http("post", f"/console/channels/deliveries/{delivery.pk}/cancel"), 302)
    assert Delivery.objects.get(pk=delivery.pk).state == "cancelled"


def refused_or_hidden(status: int, allowed_status: int = 200) -> None:
    """Like ``refused_if``, where a refusal may also be a 404 (no hint that the object exists)."""
    if status == 404:
        raise PermissionDenied(status)
    refused_if(status, allowed_status)


def read_communication_inbox(w):
    from copps.inbox import actions as inbox

    conversation, _ = inbox.open_conversation(source="mastodon", external_id="matrix-1")
    inbox.receive(conversation, text="When does the cycle path reopen?")
    refused_or_hidden(w.http("get", f"/console/inbox/{conversation.pk}/"))


def moderate_comments(w):
    from copps.inbox import actions as inbox
    from copps.inbox.models import HouseRule

    rule = HouseRule.objects.create(number=1, title={"en": "Be kind"})
    conversation, _ = inbox.open_conversation(source="comment")
    entry = inbox.receive(conversation, text="You are all idiots", visibility="pending")
    data = {"action": "hide", "rule": str(rule.pk)}
    refused_or_hidden(w.http("post", f"/console/inbox/entries/{entry.pk}/moderate", data=data), 302)
    entry.refresh_from_db()
    assert entry.visibility == "hidden"


def read_tips(w):
    from copps.investigations import tips

    tip = tips.create_tip(text="The van was blue.").tip
    refused_or_hidden(w.http("get", "/console/tips/"))
    refused_or_hidden(w.http("get", f"/console/inbox/{tip.conversation_id}/"))


def manage_blotter(w):
    refused_or_hidden(w.http("get", "/console/blotter/policy"))
    refused_or_hidden(w.http("get", "/console/blotter/review"))


def push_incidents(w):
    import json

    _token, raw = account_actions.issue_token(w.user, by=w.user, name="matrix")
    body = [
        {"incident_id": "M-1", "reported_at": "2026-01-01T10:00:00+01:00", "category_code": "theft"}
    ]
    status = (
        Client()
        .post(
            "/api/v1/incidents",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        .status_code
    )
    refused_if(status)


def _watch(kind):
    from datetime import date, timedelta

    from copps.listening.models import Purpose, Watch

    extra = {}
    if kind == "investigation":
        extra = {
            "case_reference": "PV-1",
            "legal_basis": "art. 46 Sv",
            "authorised_by": "Onderzoeksrechter",
            "ends_on": date.today() + timedelta(days=30),
        }
    purpose = Purpose.objects.create(name=f"matrix {kind}", kind=kind, **extra)
    return Watch.objects.create(purpose=purpose, name="w", query="fiets")


def see_communication_listening(w):
    watch = _watch("mood")
    refused_or_hidden(w.http("get", f"/console/listening/watches/{watch.pk}"))


def see_investigation_listening(w):
    watch = _watch("investigation")
    refused_or_hidden(w.http("get", f"/console/listening/watches/{watch.pk}"))
    refused_or_hidden(w.http("get", f"/console/listening/purposes/{watch.purpose_id}"))


def see_listening_sources(w):
    refused_or_hidden(w.http("get", "/console/listening/sources/"))


def manage_listening_sources(w):
    from copps.listening import actions as listening_actions
    from copps.listening.models import Source

    refused_or_hidden(w.http("get", "/console/listening/sources/new/rss"))
    refused_or_hidden(
        w.http("post", "/console/listening/sources/new/import", data={"name": "Matrix"}), 302
    )
    source = Source.objects.get(name="Matrix")
    listening_actions.set_source_enabled(source, by=w.user, enabled=False)


CELLS = {
    "view console": view_console,
    "create message, own area": create_own_area,
    "create message, other area": create_other_area,
    "edit own draft": edit_own_draft,
    "edit someone else's draft": edit_others_draft,
    "submit own draft": submit_own,
    "withdraw own submission": withdraw_own,
    "withdraw own approved msg": withdraw_own_approved,
    "approve someone else's": approve_others,
    "approve own message": approve_own,
    "reject": reject,
    "schedule": schedule,
    "unschedule": unschedule,
    "publish": publish,
    "propose correction, own msg": propose_correction_own,
    "propose correction, other's": propose_correction_others,
    "approve others' correction": approve_others_correction,
    "approve own correction": approve_own_correction,
    "reject a correction": reject_correction,
    "retract": retract,
    "override blocking findings": override,
    "view audit": view_audit,
    "manage word lists": manage_word_lists,
    "edit pages": edit_pages,
    "manage users": manage_users,
    "own tokens": own_tokens,
    "manage channels": manage_channels,
    "resolve unknown deliveries": resolve_deliveries,
    "read the communication inbox": read_communication_inbox,
    "moderate citizens' comments": moderate_comments,
    "read tips": read_tips,
    "manage the blotter policy": manage_blotter,
    "push incidents (API)": push_incidents,
    "see communication listening": see_communication_listening,
    "see investigation listening": see_investigation_listening,
    "see listening sources": see_listening_sources,
    "manage listening sources": manage_listening_sources,
}


def test_every_action_in_the_table_is_exercised():
    assert set(CELLS) == set(EXPECTED)


@pytest.fixture
def world(make_user, area, other_area):
    def build(role):
        alice = make_user(Role.COMMUNICATOR, "alice-author", area=area)
        approver = make_user(Role.EDITOR, "approver")
        user = make_user(role, f"actor-{role}")
        return World(user, alice, area, other_area, approver)

    return build


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_access(world, role, action):
    allowed = EXPECTED[action][ROLES.index(role)]
    w = world(role)
    cell = CELLS[action]
    if allowed:
        helper = cell(w)
    else:
        with pytest.raises(PermissionDenied):
            cell(w)
        helper = None
    if helper is not None:
        assert helper is allowed, f"the access helper disagrees for {role} / {action}"


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_reviewers_are_refused_their_own_message_as_self_approval(world, role):
    w = world(role)
    message = w.message(w.user, State.SUBMITTED)
    with pytest.raises(actions.SelfApproval):
        actions.approve_message(message, by=w.user)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_reviewers_are_refused_their_own_correction_as_self_approval(world, role):
    w = world(role)
    message = w.message(w.alice, State.PUBLISHED)
    correction = actions.propose_correction(message, by=w.user, note="Datum.", versions=NL)
    with pytest.raises(actions.SelfApproval, match="another editor must"):
        actions.approve_correction(correction, by=w.user)
    with pytest.raises(actions.SelfApproval):
        actions.reject_correction(correction, by=w.user, reason="Toch niet.")


def test_an_editor_who_edited_a_message_may_not_approve_it(world):
    """Four eyes means two people who did not write it: editing makes you a contributor."""
    w = world(Role.EDITOR)
    message = w.message(w.alice)
    actions.update_message(message, by=w.user, versions=NL)
    apply(message, "submit", by="setup")
    with pytest.raises(actions.SelfApproval):
        actions.approve_message(message, by=w.user)


def test_an_officer_without_an_area_may_not_create_anything(make_user, area):
    officer = make_user(Role.OFFICER, "no-area", area=None)
    with pytest.raises(PermissionDenied):
        actions.create_message(by=officer, versions=NL, area=area)
    with pytest.raises(PermissionDenied):
        actions.create_message(by=officer, versions=NL, area=None)


def test_a_deactivated_editor_may_do_nothing(world):
    w = world(Role.EDITOR)
    w.user.is_active = False
    w.user.save()
    message = w.message(w.alice, State.SUBMITTED)
    with pytest.raises(PermissionDenied):
        actions.approve_message(message, by=w.user)
    with pytest.raises(PermissionDenied):
        actions.create_message(by=w.user, versions=NL)
