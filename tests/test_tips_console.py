"""The investigator console for tips (/console/tips/): tips per notice, a tip's conversation,
closing, the export ZIP with hashes — and that nobody but an investigator ever reaches a tip.

The access test walks every tip URL and every inbox URL of a tip conversation with every role
that is not an investigator: each answer is a 404 (no hint that the tip exists).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.inbox import actions as inbox
from copps.inbox.models import Alert, Attachment, HouseRule, State
from copps.investigations import actions as investigations
from copps.investigations import tips
from copps.investigations.models import TipState
from copps.newsroom.actions import VersionInput

pytestmark = pytest.mark.django_db

TIPS = reverse("tip_console:list")


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "private")
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ines")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_notice(investigator, area, case="PV-2026-0042", title="Missing: Lotte (16)"):
    return investigations.create_notice(
        by=investigator,
        kind="missing",
        case_reference=case,
        area=area,
        versions=[VersionInput("en", title, "Seen last at the station.")],
    )


def jpeg() -> bytes:
    image = Image.new("RGB", (16, 16), "olive")
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def notice(investigator, area):
    return make_notice(investigator, area)


@pytest.fixture
def tip(notice):
    return tips.create_tip(
        text="I saw her on bus 68.",
        notice=notice,
        files=[
            SimpleUploadedFile("bus.jpg", jpeg()),
            SimpleUploadedFile("../../etc/passwd.jpg", jpeg()),
        ],
    ).tip


def test_the_tip_list_shows_tips_with_their_notice_and_an_unanswered_flag(investigator, tip):
    body = client_for(investigator).get(TIPS).content.decode()
    assert tip.code in body and str(tip.notice) in body
    assert "Unanswered" in body


def test_an_answered_tip_is_no_longer_flagged(investigator, tip):
    inbox.reply(tip.conversation, by=investigator, text="Which stop?")
    body = client_for(investigator).get(TIPS).content.decode()
    assert tip.code in body and "Unanswered" not in body


def test_tips_are_counted_per_notice_and_filtered_by_notice(investigator, area, tip, notice):
    other = make_notice(investigator, area, case="PV-2026-0050", title="Witnesses wanted")
    other_tip = tips.create_tip(text="I have dashcam video", notice=other).tip
    loose = tips.create_tip(text="Something else entirely").tip
    client = client_for(investigator)
    body = client.get(TIPS).content.decode()
    assert "Tips per notice" in body and "PV-2026-0042" in body and "PV-2026-0050" in body
    filtered = client.get(TIPS, {"notice": str(notice.pk)}).content.decode()
    assert tip.code in filtered and other_tip.code not in filtered and loose.code not in filtered
    none = client.get(TIPS, {"notice": "none"}).content.decode()
    assert loose.code in none and tip.code not in none
    assert client.get(TIPS, {"notice": "999999"}).status_code == 404
    assert client.get(TIPS, {"notice": "'; drop"}).status_code == 200


def test_the_notice_page_shows_its_tip_count_to_investigators_only(
    investigator, communicator, tip, notice
):
    url = reverse("notice_console:detail", args=[notice.pk])
    body = client_for(investigator).get(url).content.decode()
    assert "1 tip" in body and f"{TIPS}?notice={notice.pk}" in body
    assert f"{TIPS}?notice=" not in client_for(communicator).get(url).content.decode()


def test_the_tip_detail_opens_its_conversation_with_code_notice_close_and_export(investigator, tip):
    client = client_for(investigator)
    response = client.get(reverse("tip_console:detail", args=[tip.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox_console:conversation", args=[tip.conversation_id])
    body = client.get(response["Location"]).content.decode()
    assert tip.code in body and "PV-2026-0042" in body
    assert reverse("tip_console:close", args=[tip.pk]) in body
    assert reverse("tip_console:export", args=[tip.pk]) in body


def test_closing_a_tip_closes_its_conversation(investigator, tip):
    client = client_for(investigator)
    url = reverse("tip_console:close", args=[tip.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    tip.refresh_from_db()
    assert tip.state == TipState.CLOSED and tip.conversation.state == State.CLOSED


def test_an_investigator_asks_the_tipster_a_question_from_the_console(investigator, tip):
    url = reverse("inbox_console:reply", args=[tip.conversation_id])
    client_for(investigator).post(url, {"text": "Which stop did she get off?"})
    questions = [e.text for e in tips.questions_for_tipster(tip)]
    assert questions[-1] == "Which stop did she get off?"


def test_the_export_is_a_zip_with_the_tip_its_files_and_their_hashes(investigator, tip):
    inbox.reply(tip.conversation, by=investigator, text="Which stop?")
    inbox.add_note(tip.conversation, by=investigator, text="Check the bus camera")
    response = client_for(investigator).get(reverse("tip_console:export", args=[tip.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f'filename="tip-{tip.code}.zip"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert "tip.json" in names and "SHA256SUMS" in names
    assert all(not n.startswith("/") and ".." not in n for n in names)
    document = json.loads(archive.read("tip.json"))
    assert document["code"] == tip.code and document["state"] == "open"
    assert document["notice"] == {"id": tip.notice_id, "case_reference": "PV-2026-0042"}
    assert [e["direction"] for e in document["entries"]] == ["in", "out", "note"]
    assert document["entries"][0]["text"] == "I saw her on bus 68."
    files = document["entries"][0]["attachments"]
    assert [f["name"] for f in files] == ["bus.jpg", "passwd.jpg"]
    for described, stored in zip(files, Attachment.objects.order_by("pk"), strict=True):
        assert described["sha256"] == stored.sha256 and described["sha256_verified"]
        assert described["size"] == stored.size and described["exif"]["Make"] == "DemoCam"
        assert hashlib.sha256(archive.read(described["path"])).hexdigest() == stored.sha256
    sums = dict(
        reversed(line.split("  ", 1)) for line in archive.read("SHA256SUMS").decode().splitlines()
    )
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    record = AuditRecord.objects.get(action="tip.export")
    assert record.actor == "ines" and record.data == {"attachments": 2}


def test_unknown_tips_are_404(investigator):
    client = client_for(investigator)
    assert client.get("/console/tips/999999/").status_code == 404
    assert client.get("/console/tips/999999/export").status_code == 404
    assert client.post("/console/tips/999999/close").status_code == 404
    # A digit that is not 0-9 (superscript two) is junk and ignored, not a 500.
    assert client.get("/console/tips/", {"notice": "\u00b2"}).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(tip):
    response = Client().get(reverse("tip_console:export", args=[tip.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


NOT_INVESTIGATORS = [role for role in Role.values if role != Role.INVESTIGATOR]


def tip_urls(tip) -> list[tuple[str, str, dict]]:
    """Every URL that shows or changes a tip or its conversation, with a plausible body."""
    conversation = tip.conversation
    entry = conversation.entries.first()
    attachment = Attachment.objects.filter(entry__conversation=conversation).first()
    alert = Alert.objects.filter(conversation=conversation).first()
    rule = HouseRule.objects.first()
    return [
        ("get", reverse("tip_console:list"), {}),
        ("get", reverse("tip_console:list") + f"?notice={tip.notice_id}", {}),
        ("get", reverse("tip_console:detail", args=[tip.pk]), {}),
        ("get", reverse("tip_console:export", args=[tip.pk]), {}),
        ("post", reverse("tip_console:close", args=[tip.pk]), {}),
        ("get", reverse("inbox_console:conversation", args=[conversation.pk]), {}),
        ("post", reverse("inbox_console:reply", args=[conversation.pk]), {"text": "Hello?"}),
        ("post", reverse("inbox_console:note", args=[conversation.pk]), {"text": "Note"}),
        (
            "post",
            reverse("inbox_console:triage", args=[conversation.pk]),
            {"state": "closed", "priority": "3"},
        ),
        (
            "post",
            reverse("inbox_console:moderate", args=[entry.pk]),
            {"action": "remove", "rule": str(rule.pk)},
        ),
        ("get", reverse("inbox_console:attachment", args=[attachment.pk]), {}),
        ("post", reverse("inbox_console:acknowledge", args=[alert.pk]), {}),
    ]


@pytest.mark.parametrize("role", NOT_INVESTIGATORS)
def test_nobody_but_an_investigator_reaches_any_tip_url(make_user, role, notice):
    HouseRule.objects.create(number=1, title={"en": "Be kind"})
    tip = tips.create_tip(
        text="Secret: the van is blue",
        notice=notice,
        files=[SimpleUploadedFile("van.jpg", jpeg())],
        urgent=True,
    ).tip
    client = client_for(make_user(role))
    for method, url, data in tip_urls(tip):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, f"{role} {method} {url}: {response.status_code}"
        assert b"Secret" not in response.content and tip.code.encode() not in response.content
    tip.refresh_from_db()
    conversation = tip.conversation
    assert tip.state == TipState.OPEN and conversation.state != State.CLOSED
    assert list(conversation.entries.values_list("direction", flat=True)) == ["in"]
    assert conversation.entries.get().text == "Secret: the van is blue"
    assert Alert.objects.get().acknowledged_at is None
    # The inbox queue and alerts banner do not name it either.
    for url in (reverse("inbox_console:queue"), reverse("inbox_console:alerts")):
        response = client.get(url)
        assert b"Secret" not in response.content and tip.code.encode() not in response.content


def test_an_investigator_reaches_every_tip_url(investigator, notice):
    HouseRule.objects.create(number=1, title={"en": "Be kind"})
    tip = tips.create_tip(
        text="Secret", notice=notice, files=[SimpleUploadedFile("van.jpg", jpeg())], urgent=True
    ).tip
    client = client_for(investigator)
    for method, url, data in tip_urls(tip):
        if "moderate" in url:  # tips are never moderated: the investigator may not either
            assert client.post(url, data).status_code == 403
            continue
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302), f"{method} {url}: {response.status_code}"


def test_the_navigation_offers_tips_to_investigators_and_the_inbox_to_every_desk(
    investigator, communicator, make_user
):
    inv = client_for(investigator).get(reverse("inbox_console:queue")).content.decode()
    assert f'href="{TIPS}"' in inv and 'href="/console/inbox/"' in inv
    com = client_for(communicator).get(reverse("inbox_console:queue")).content.decode()
    assert f'href="{TIPS}"' not in com and 'href="/console/inbox/"' in com
    coach = client_for(make_user(Role.COACH)).get("/console/").content.decode()
    assert 'href="/console/inbox/"' not in coach
