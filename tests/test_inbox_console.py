"""The inbox console (/console/inbox/): the queue, a conversation, triage, replies, notes,
moderation against house rules, alerts and duty, attachment downloads, retention.

Access checklist per view (ARCHITECTURE.md §6), through the real endpoints: anonymous -> login,
a role without an inbox desk -> 403, a conversation of another desk -> 404, moderation without
``INBOX_MODERATE`` -> 403, wrong method -> 405, bad input -> 400 with the form, a POST without a
CSRF token -> 403. Every view of an investigation-desk conversation is audited without content.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.inbox import actions, jobs, replies
from copps.inbox.models import (
    Alert,
    Attachment,
    Conversation,
    Decision,
    Desk,
    Duty,
    Entry,
    HouseRule,
    Label,
    Priority,
    SendState,
    Source,
    State,
    Visibility,
)
from copps.inbox.replies import ReplyError
from copps.investigations import tips
from copps.investigations.models import Tip

pytestmark = pytest.mark.django_db

QUEUE = reverse("inbox_console:queue")


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "private")


@pytest.fixture
def senders():
    """Reply senders for the communication sources, restored afterwards."""
    saved = dict(replies.SENDERS)
    yield replies.SENDERS
    replies.SENDERS.clear()
    replies.SENDERS.update(saved)


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ines")


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, "otto")


@pytest.fixture
def rule(db):
    return HouseRule.objects.create(number=3, title={"en": "No personal attacks"})


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def mention(text="@politie is the cycle path open again?", **kw) -> Conversation:
    conversation, _ = actions.open_conversation(
        source=Source.MASTODON,
        external_id=kw.pop("external_id", f"m-{Conversation.objects.count()}"),
        author=kw.pop("author", "@resident@social.example"),
    )
    actions.receive(conversation, text=text, **kw)
    conversation.refresh_from_db()
    return conversation


def web_tip(text="I saw the green raincoat on bus 68.", files=()) -> Tip:
    return tips.create_tip(text=text, files=files).tip


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (32, 24), "teal")
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    exif[0x0132] = "2026:11:28 09:14:00"  # DateTime
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


# The queue ---------------------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_the_login_page():
    response = Client().get(QUEUE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.COACH, Role.ANALYST, Role.COMMANDER])
def test_it_refuses_the_queue_to_roles_without_a_desk(make_user, role):
    assert client_for(make_user(role)).get(QUEUE).status_code == 403


def test_the_queue_shows_a_communicator_the_communication_desk_only(communicator):
    mention(text="When does the cycle path reopen?")
    web_tip(text="Secret tip about the van")
    body = client_for(communicator).get(QUEUE).content.decode()
    assert "When does the cycle path reopen?" in body
    assert "Secret tip" not in body and "Anonymous tip" not in body.split("<table")[-1]


def test_the_queue_shows_an_investigator_tips_and_not_the_communication_desk(investigator):
    mention(text="When does the cycle path reopen?")
    web_tip(text="Secret tip about the van")
    body = client_for(investigator).get(QUEUE).content.decode()
    assert "Secret tip about the van" in body
    assert "cycle path" not in body


def test_the_queue_leaves_closed_conversations_out_unless_asked(communicator):
    open_one = mention(text="Still open question")
    closed = mention(text="An old closed question")
    actions.triage(closed, by=communicator, state=State.CLOSED)
    client = client_for(communicator)
    body = client.get(QUEUE).content.decode()
    assert "Still open question" in body and "An old closed question" not in body
    body = client.get(QUEUE, {"status": "closed"}).content.decode()
    assert "An old closed question" in body and "Still open question" not in body
    body = client.get(QUEUE, {"status": "all"}).content.decode()
    assert "An old closed question" in body and "Still open question" in body
    assert open_one.pk != closed.pk


def test_the_queue_filters_by_channel_priority_assignee_label_overdue_and_text(
    communicator, editor
):
    first = mention(text="Alpha about parking")
    email, _ = actions.open_conversation(
        source=Source.EMAIL, external_id="<e1@x>", subject="Bravo lost wallet"
    )
    actions.receive(email, text="I lost my wallet")
    label = Label.objects.create(desk=Desk.COMMUNICATION, name="traffic")
    actions.triage(first, by=communicator, priority=Priority.HIGH, labels=[label])
    actions.triage(email, by=communicator, assigned_to=editor)
    Conversation.objects.filter(pk=email.pk).update(due_at=timezone.now() - timedelta(hours=2))
    Conversation.objects.filter(pk=first.pk).update(due_at=timezone.now() + timedelta(hours=2))
    client = client_for(communicator)

    def shown(**params) -> set[str]:
        body = client.get(QUEUE, params).content.decode()
        return {name for name in ("Alpha", "Bravo") if name in body}

    assert shown() == {"Alpha", "Bravo"}
    assert shown(source="email") == {"Bravo"}
    assert shown(priority=str(Priority.HIGH)) == {"Alpha"}
    assert shown(assigned="nobody") == {"Alpha"}
    assert shown(assigned="me") == set()
    assert client_for(editor).get(QUEUE, {"assigned": "me"}).content.decode().count("Bravo") >= 1
    assert shown(label=str(label.pk)) == {"Alpha"}
    assert shown(overdue="1") == {"Bravo"}
    assert shown(q="wallet") == {"Bravo"}  # in the text of an entry
    assert shown(q="parking") == {"Alpha"}


def test_an_overdue_answer_is_said_in_words_not_only_in_colour(communicator):
    late = mention(text="Waiting for ages")
    Conversation.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    body = client_for(communicator).get(QUEUE).content.decode()
    assert "Overdue:" in body


@pytest.mark.parametrize(
    "params",
    [
        {"desk": "investigation"},
        {"source": "<script>"},
        {"status": "nope"},
        {"priority": "99"},
        {"assigned": "root"},
        {"label": "1 OR 1=1"},
        {"label": "\u00b2"},
        {"page": "-3"},
        {"q": "\x00" * 5},
        {"q": "x" * 5000},
    ],
)
def test_junk_filters_are_ignored_never_a_500(communicator, params):
    mention(text="Visible anyway")
    response = client_for(communicator).get(QUEUE, params)
    assert response.status_code == 200


def test_a_communicator_cannot_filter_their_way_to_the_investigation_desk(communicator):
    web_tip(text="Secret tip about the van")
    body = client_for(communicator).get(QUEUE, {"desk": "investigation", "source": "tip"})
    assert "Secret tip" not in body.content.decode()


def test_the_queue_is_paginated(communicator):
    for i in range(30):
        mention(text=f"Question number {i:02d}")
    client = client_for(communicator)
    first = client.get(QUEUE).content.decode()
    second = client.get(QUEUE, {"page": "2"}).content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert "Question number 00" in second and "Question number 00" not in first


# Alerts and duty ---------------------------------------------------------------------------------


def test_the_alerts_banner_names_my_desks_alerts_and_who_is_on_duty(investigator, make_user):
    colleague = make_user(Role.INVESTIGATOR, "ivan")
    Duty.objects.create(user=colleague, desk=Desk.INVESTIGATION)
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-9")
    actions.receive(sms, text="there is a burglar in my house", urgent=True)
    body = client_for(investigator).get(QUEUE).content.decode()
    assert "Urgent: danger words" in body and "on duty: ivan" in body
    fragment = client_for(investigator).get(reverse("inbox_console:alerts"))
    assert fragment.status_code == 200 and "Urgent: danger words" in fragment.content.decode()
    assert 'hx-trigger="every 15s"' in body


def test_a_communicator_never_sees_an_investigation_alert(communicator):
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-9")
    actions.receive(sms, text="burglar", urgent=True)
    alert = Alert.objects.get()
    client = client_for(communicator)
    assert "Urgent" not in client.get(reverse("inbox_console:alerts")).content.decode()
    ack = reverse("inbox_console:acknowledge", args=[alert.pk])
    assert client.post(ack).status_code == 404
    assert Alert.objects.get().acknowledged_at is None


def test_acknowledging_an_alert_records_who_and_clears_the_banner(investigator):
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-9")
    actions.receive(sms, text="burglar", urgent=True)
    alert = Alert.objects.get()
    client = client_for(investigator)
    ack = reverse("inbox_console:acknowledge", args=[alert.pk])
    assert client.get(ack).status_code == 405
    response = client.post(ack, {"next": QUEUE})
    assert response.status_code == 302 and response["Location"] == QUEUE
    alert.refresh_from_db()
    assert alert.acknowledged_by == investigator and alert.acknowledged_at
    assert "Urgent: danger" not in client.get(reverse("inbox_console:alerts")).content.decode()


def test_an_outside_next_address_is_never_followed(investigator):
    response = client_for(investigator).post(
        reverse("inbox_console:duty"), {"desk": "investigation", "next": "https://evil.example/"}
    )
    assert response["Location"] == QUEUE


def test_going_on_and_off_duty_for_a_desk(investigator):
    client = client_for(investigator)
    duty = reverse("inbox_console:duty")
    assert client.post(duty, {"desk": "investigation"}).status_code == 302
    assert Duty.objects.get(user=investigator).desk == Desk.INVESTIGATION
    assert "Go off duty" in client.get(QUEUE).content.decode()
    client.post(duty, {"desk": "investigation"})
    assert not Duty.objects.filter(user=investigator).exists()
    assert client.post(duty, {"desk": "communication"}).status_code == 404
    assert AuditRecord.objects.filter(action="inbox.duty.on").count() == 1


# A conversation ----------------------------------------------------------------------------------


def test_a_conversation_shows_its_entries_in_order_with_replies_and_notes_apart(
    communicator, senders
):
    conversation = mention(text="First question")
    senders[Source.MASTODON] = lambda entry: "reply-1"
    actions.reply(conversation, by=communicator, text="Our first answer")
    actions.add_note(conversation, by=communicator, text="Checked with the city")
    actions.receive(conversation, text="Follow-up question")
    body = (
        client_for(communicator)
        .get(reverse("inbox_console:conversation", args=[conversation.pk]))
        .content.decode()
    )
    positions = [
        body.index(t)
        for t in (
            "First question",
            "Our first answer",
            "Checked with the city",
            "Follow-up question",
        )
    ]
    assert positions == sorted(positions)
    assert "inbox-entry--out" in body and "inbox-entry--note" in body and "Sent" in body


def test_replying_sends_through_the_channel_and_records_it(communicator, senders):
    conversation = mention()
    sent = []
    senders[Source.MASTODON] = lambda entry: sent.append(entry.text) or "status-77"
    url = reverse("inbox_console:reply", args=[conversation.pk])
    response = client_for(communicator).post(url, {"text": "Yes, from Monday."}, follow=True)
    assert sent == ["Yes, from Monday."]
    assert "Reply sent." in response.content.decode()
    entry = conversation.entries.get(direction="out")
    assert entry.send_state == SendState.SENT and entry.external_id == "status-77"


def test_a_failed_reply_says_why_and_stays_recorded(communicator, senders):
    conversation = mention()

    def refuse(entry):
        raise ReplyError("the server said 422")

    senders[Source.MASTODON] = refuse
    url = reverse("inbox_console:reply", args=[conversation.pk])
    response = client_for(communicator).post(url, {"text": "Answer"}, follow=True)
    body = response.content.decode()
    assert "The reply was not sent: the server said 422" in body
    assert "Send error:" in body
    assert conversation.entries.get(direction="out").send_state == SendState.FAILED


def test_an_empty_reply_or_a_channel_without_replies_is_the_form_again(communicator, senders):
    conversation = mention()
    senders.pop(Source.MASTODON, None)
    client = client_for(communicator)
    url = reverse("inbox_console:reply", args=[conversation.pk])
    assert client.post(url, {"text": "   "}).status_code == 400
    response = client.post(url, {"text": "Hello"})
    assert response.status_code == 400
    assert "Replies cannot be sent on this channel." in response.content.decode()
    assert client.get(url).status_code == 405


def test_an_internal_note_is_kept_and_never_sent(communicator, senders):
    conversation = mention()
    senders[Source.MASTODON] = lambda entry: pytest.fail("a note must not be sent")
    url = reverse("inbox_console:note", args=[conversation.pk])
    assert client_for(communicator).post(url, {"text": "Ask the city"}).status_code == 302
    assert conversation.entries.get(direction="note").text == "Ask the city"
    assert client_for(communicator).post(url, {"text": ""}).status_code == 400


def test_triage_sets_status_priority_assignee_and_labels_and_creates_a_label(communicator, editor):
    conversation = mention()
    existing = Label.objects.create(desk=Desk.COMMUNICATION, name="traffic")
    url = reverse("inbox_console:triage", args=[conversation.pk])
    response = client_for(communicator).post(
        url,
        {
            "state": "open",
            "priority": str(Priority.HIGH),
            "assigned_to": str(editor.pk),
            "labels": [str(existing.pk)],
            "new_label": "  road   works ",
        },
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == State.OPEN and conversation.priority == Priority.HIGH
    assert conversation.assigned_to == editor
    assert sorted(label.name for label in conversation.labels.all()) == ["road works", "traffic"]
    assert Label.objects.get(name="road works").desk == Desk.COMMUNICATION
    assert AuditRecord.objects.filter(action="inbox.triage").exists()


def test_triage_refuses_an_assignee_from_another_desk_and_a_label_of_another_desk(
    communicator, investigator
):
    conversation = mention()
    tip_label = Label.objects.create(desk=Desk.INVESTIGATION, name="golden")
    url = reverse("inbox_console:triage", args=[conversation.pk])
    client = client_for(communicator)
    base = {"state": "open", "priority": "1"}
    assert client.post(url, {**base, "assigned_to": str(investigator.pk)}).status_code == 400
    assert client.post(url, {**base, "labels": [str(tip_label.pk)]}).status_code == 400
    assert client.post(url, {**base, "priority": "9"}).status_code == 400
    conversation.refresh_from_db()
    assert conversation.assigned_to is None and not conversation.labels.exists()


def test_posts_without_a_csrf_token_are_refused(communicator):
    conversation = mention()
    client = Client(enforce_csrf_checks=True)
    client.force_login(communicator)
    url = reverse("inbox_console:note", args=[conversation.pk])
    assert client.post(url, {"text": "x"}).status_code == 403
    assert not conversation.entries.filter(direction="note").exists()


# Moderation --------------------------------------------------------------------------------------


def test_a_moderator_hides_a_comment_citing_a_house_rule(communicator, rule):
    conversation = mention(text="You are all idiots")
    entry = conversation.entries.get()
    url = reverse("inbox_console:moderate", args=[entry.pk])
    response = client_for(communicator).post(url, {"action": "hide", "rule": str(rule.pk)})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.visibility == Visibility.HIDDEN and entry.rule == rule
    assert Decision.objects.get(entry=entry).rule == rule
    page = client_for(communicator).get(
        reverse("inbox_console:conversation", args=[conversation.pk])
    )
    assert "house rule 3. No personal attacks" in page.content.decode()


def test_hiding_without_a_rule_or_with_a_retired_rule_is_refused(communicator, rule):
    entry = mention().entries.get()
    url = reverse("inbox_console:moderate", args=[entry.pk])
    client = client_for(communicator)
    response = client.post(url, {"action": "hide"})
    assert response.status_code == 400
    assert "Choose the house rule that was broken." in response.content.decode()
    HouseRule.objects.filter(pk=rule.pk).update(active=False)
    assert client.post(url, {"action": "remove", "rule": str(rule.pk)}).status_code == 400
    assert client.post(url, {"action": "explode"}).status_code == 400
    entry.refresh_from_db()
    assert entry.visibility == Visibility.VISIBLE and not Decision.objects.exists()


def test_publishing_a_pending_comment_and_restoring_a_removed_one(communicator, rule):
    conversation = mention(text="Pending words", visibility=Visibility.PENDING)
    entry = conversation.entries.get()
    url = reverse("inbox_console:moderate", args=[entry.pk])
    client = client_for(communicator)
    client.post(url, {"action": "publish"})
    entry.refresh_from_db()
    assert entry.visibility == Visibility.VISIBLE
    client.post(url, {"action": "remove", "rule": str(rule.pk)})
    client.post(url, {"action": "restore"})
    entry.refresh_from_db()
    assert entry.visibility == Visibility.VISIBLE and entry.text == ""
    assert list(Decision.objects.values_list("action", flat=True)) == [
        "publish",
        "remove",
        "restore",
    ]


def test_a_role_that_reads_but_does_not_moderate_gets_403(officer, rule):
    conversation = mention()
    entry = conversation.entries.get()
    client = client_for(officer)
    page = client.get(reverse("inbox_console:conversation", args=[conversation.pk]))
    assert page.status_code == 200 and "inbox-moderate" not in page.content.decode()
    url = reverse("inbox_console:moderate", args=[entry.pk])
    assert client.post(url, {"action": "hide", "rule": str(rule.pk)}).status_code == 403
    assert client.get(url).status_code == 405
    entry.refresh_from_db()
    assert entry.visibility == Visibility.VISIBLE


def test_tips_are_never_moderated(investigator, admin_user, rule):
    entry = web_tip().conversation.entries.get()
    url = reverse("inbox_console:moderate", args=[entry.pk])
    assert (
        client_for(investigator).post(url, {"action": "hide", "rule": str(rule.pk)}).status_code
        == 403
    )
    assert (
        client_for(admin_user).post(url, {"action": "hide", "rule": str(rule.pk)}).status_code
        == 404
    )
    entry.refresh_from_db()
    assert entry.visibility == Visibility.VISIBLE


# The investigation desk: audit, attachments ------------------------------------------------------


def test_viewing_a_tip_conversation_is_audited_without_its_content(investigator):
    tip = web_tip(text="Distinctive tip words")
    url = reverse("inbox_console:conversation", args=[tip.conversation_id])
    body = client_for(investigator).get(url).content.decode()
    assert "Distinctive tip words" in body and tip.code in body
    record = AuditRecord.objects.get(action="inbox.view")
    assert record.actor == "ines" and record.object_id == str(tip.conversation_id)
    assert "Distinctive" not in str(record.data)


def test_viewing_a_communication_conversation_is_not_audited(communicator):
    conversation = mention()
    client_for(communicator).get(reverse("inbox_console:conversation", args=[conversation.pk]))
    assert not AuditRecord.objects.filter(action="inbox.view").exists()


def test_an_attachment_shows_its_hash_and_exif_and_downloads_as_a_file(investigator):
    data = jpeg_with_exif()
    tip = web_tip(files=[SimpleUploadedFile("bus.jpg", data, content_type="image/jpeg")])
    attachment = Attachment.objects.get()
    client = client_for(investigator)
    body = client.get(
        reverse("inbox_console:conversation", args=[tip.conversation_id])
    ).content.decode()
    assert attachment.sha256 in body and "bus.jpg" in body
    assert "DemoCam Model 7" in body and "image/jpeg" in body
    response = client.get(reverse("inbox_console:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="bus.jpg"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    record = AuditRecord.objects.get(action="inbox.attachment.download")
    assert record.data["attachment"] == attachment.pk


def test_an_attachment_whose_file_is_gone_is_a_404(investigator):
    web_tip(files=[SimpleUploadedFile("bus.jpg", jpeg_with_exif())])
    attachment = Attachment.objects.get()
    os.remove(attachment.file.path)
    url = reverse("inbox_console:attachment", args=[attachment.pk])
    assert client_for(investigator).get(url).status_code == 404


def test_unknown_conversations_entries_and_attachments_are_404(communicator):
    client = client_for(communicator)
    for url in (
        "/console/inbox/999999/",
        "/console/inbox/attachments/999999",
        "/console/inbox/alerts/999999/acknowledge",
    ):
        method = client.post if "acknowledge" in url else client.get
        assert method(url).status_code == 404, url
    assert client.post("/console/inbox/entries/999999/moderate").status_code == 404


# Retention ---------------------------------------------------------------------------------------


def test_retention_deletes_closed_conversations_and_their_files_after_the_period(
    settings, communicator, investigator
):
    settings.COPPS_INBOX_RETENTION_DAYS = 10
    settings.COPPS_TIP_RETENTION_DAYS = 30
    old_comment = mention(text="Old")
    tip = web_tip(files=[SimpleUploadedFile("bus.jpg", jpeg_with_exif())])
    path = Attachment.objects.get().file.path
    actions.triage(old_comment, by=communicator, state=State.CLOSED)
    tips.close(tip, by=investigator)
    now = timezone.now()

    assert jobs.retention(now + timedelta(days=9)) == 0
    assert jobs.retention(now + timedelta(days=11)) == 1  # the comment, not yet the tip
    assert not Conversation.objects.filter(pk=old_comment.pk).exists()
    assert Conversation.objects.filter(pk=tip.conversation_id).exists() and os.path.exists(path)

    assert jobs.retention(now + timedelta(days=31)) == 1
    assert (
        not Tip.objects.exists()
        and not Entry.objects.filter(conversation_id=tip.conversation_id).exists()
    )
    assert not os.path.exists(path) and not Attachment.objects.exists()
    record = AuditRecord.objects.filter(action="inbox.retention").last()
    assert record.data == {"conversations": 1, "attachments": 1, "alerts": 0, "sms_aliases": 0}


def test_retention_deletes_what_was_left_without_activity_for_the_period(
    settings, communicator, investigator
):
    settings.COPPS_INBOX_RETENTION_DAYS = 10
    settings.COPPS_TIP_RETENTION_DAYS = 30
    left_open = mention(text="Nobody closed me")
    stopped = web_tip()
    tips.stop(stopped)
    now = timezone.now()
    assert jobs.retention(now + timedelta(days=9)) == 0
    assert jobs.retention(now + timedelta(days=11)) == 1
    assert not Conversation.objects.filter(pk=left_open.pk).exists()
    assert Tip.objects.filter(pk=stopped.pk).exists()
    assert jobs.retention(now + timedelta(days=31)) == 1
    assert not Tip.objects.exists()


def test_retention_keeps_a_conversation_the_citizen_reopened(settings, communicator):
    settings.COPPS_INBOX_RETENTION_DAYS = 1
    reopened, stays_closed = mention(), mention(text="Other")
    for conversation in (reopened, stays_closed):
        actions.triage(conversation, by=communicator, state=State.CLOSED)
    Conversation.objects.update(closed_at=timezone.now() - timedelta(days=5))
    actions.receive(reopened, text="One more thing")
    assert jobs.retention(timezone.now()) == 1
    assert Conversation.objects.filter(pk=reopened.pk).exists()
    assert not Conversation.objects.filter(pk=stays_closed.pk).exists()


def test_retention_deletes_acknowledged_alerts_after_30_days_only(investigator):
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-1")
    actions.receive(sms, text="burglar", urgent=True)
    actions.receive(sms, text="burglar again", urgent=True)
    acknowledged, waiting = Alert.objects.order_by("pk")
    actions.acknowledge(acknowledged, by=investigator)
    now = timezone.now()
    assert jobs.retention(now + timedelta(days=29)) == 0
    assert jobs.retention(now + timedelta(days=31)) == 1
    assert list(Alert.objects.all()) == [waiting]


def test_retention_purges_sms_aliases(monkeypatch, db):
    calls = []
    monkeypatch.setattr(jobs.sms, "purge_aliases", lambda now: calls.append(now) or 2)
    now = timezone.now()
    assert jobs.retention(now) == 2 and calls == [now]


# Demo --------------------------------------------------------------------------------------------


def test_the_demo_conversations_load_once(investigator, area):
    from copps.inbox.demo import DEMO_NOTICE_CASE, load_demo
    from copps.investigations import actions as investigations
    from copps.newsroom.actions import VersionInput

    notice = investigations.create_notice(
        by=investigator,
        kind="missing",
        case_reference=DEMO_NOTICE_CASE,
        area=area,
        versions=[VersionInput("nl", "Vermist", "Gezien aan het station.")],
    )
    assert load_demo() == 3
    assert load_demo() == 0
    assert sorted(Conversation.objects.values_list("source", flat=True)) == [
        "email",
        "mastodon",
        "tip",
    ]
    tip = Tip.objects.get()
    assert tip.notice == notice
    assert [e.direction for e in tip.conversation.entries.all()] == ["in", "out"]
    assert tip.conversation.entries.get(direction="out").send_state == SendState.SENT


@pytest.mark.parametrize("name", ["evil\r\nSet-Cookie: x=1.jpg", 'quote".jpg', "été 📷.jpg", "\t"])
def test_a_hostile_file_name_still_downloads_with_a_safe_header(investigator, name):
    web_tip(files=[SimpleUploadedFile("bus.jpg", jpeg_with_exif())])
    attachment = Attachment.objects.get()
    Attachment.objects.filter(pk=attachment.pk).update(name=name)
    response = client_for(investigator).get(
        reverse("inbox_console:attachment", args=[attachment.pk])
    )
    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"] and "Set-Cookie" not in response.headers
