"""Wanted and missing person notices (issue 5, part 1): authorisation, publication, takedown.

Everything runs through the real actions, the real newsroom workflow and the real delivery
engine against the sandbox Mastodon server; pages through the test client.
"""

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from copps.accounts.roles import Role
from copps.channels import deliveries
from copps.channels.adapters.webhook import WebhookAdapter
from copps.channels.models import SandboxPost
from copps.investigations import actions
from copps.investigations.models import Notice, NoticeKind, NoticeState
from copps.newsroom import actions as newsroom
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Message
from copps.newsroom.workflow import State
from copps.worker import jobs

pytestmark = pytest.mark.django_db

NAME = "Jolien Vermeersch"  # fictional
CASE = "PV-BR-2026-0042"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ivo")


@pytest.fixture
def mastodon(make_channel):
    return make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )


@pytest.fixture
def hook(make_channel):
    return make_channel("webhook", config={"url": "https://hooks.example/in"})


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, "PNG")
    return out.getvalue()


def make_notice(investigator, *, channels=("web", "rss", "mastodon")):
    notice = actions.create_notice(
        by=investigator,
        kind=NoticeKind.MISSING,
        case_reference=CASE,
        versions=[
            VersionInput(
                "nl", f"Vermist: {NAME}", f"{NAME} (15) is sinds zondag vermist in Brugge."
            )
        ],
    )
    newsroom.update_message(notice.message, by=investigator, channels=list(channels))
    newsroom.add_image(
        notice.message,
        by=investigator,
        upload=SimpleUploadedFile("p.png", png(), content_type="image/png"),
        alt_text=f"Foto van {NAME}",
    )
    notice.refresh_from_db()
    return notice


def authorise(notice, investigator, *, channels=("mastodon",), days=30):
    return actions.record_authorisation(
        notice,
        by=investigator,
        magistrate="Procureur des Konings, Brugge",
        reference="MAG-2026-117",
        date=date.today(),
        channels_allowed=list(channels),
        valid_until=timezone.now() + timedelta(days=days),
    )


def publish(notice, investigator, editor):
    actions.submit_notice(notice, by=investigator)
    notice.message.refresh_from_db()
    newsroom.approve_message(notice.message, by=editor)
    notice.refresh_from_db()
    return notice


@pytest.fixture
def live(investigator, editor, mastodon):
    notice = make_notice(investigator)
    authorise(notice, investigator)
    publish(notice, investigator, editor)
    deliveries.deliver_due()
    return notice


def detail_url(notice, lang="nl"):
    return f"/{lang}/notices/{notice.pk}/"


# Authorisation ---------------------------------------------------------------------------------


def test_it_refuses_to_submit_a_notice_without_an_authorisation(investigator):
    notice = make_notice(investigator)
    with pytest.raises(ValidationError) as error:
        actions.submit_notice(notice, by=investigator)
    assert "authorisation" in error.value.message_dict
    notice.message.refresh_from_db()
    assert notice.message.state == State.DRAFT


def test_it_refuses_to_submit_under_an_expired_authorisation(investigator):
    notice = make_notice(investigator)
    authorisation = authorise(notice, investigator)
    authorisation.valid_until = timezone.now() - timedelta(minutes=1)
    authorisation.save()
    with pytest.raises(ValidationError) as error:
        actions.submit_notice(notice, by=investigator)
    assert "no longer valid" in str(error.value)
    notice.message.refresh_from_db()
    assert notice.message.state == State.DRAFT


def test_it_refuses_to_record_an_authorisation_that_has_already_ended(investigator):
    notice = make_notice(investigator)
    with pytest.raises(ValidationError) as error:
        authorise(notice, investigator, days=-1)
    assert "valid_until" in error.value.message_dict


def test_the_newsroom_submit_button_cannot_go_around_the_authorisation(investigator, editor):
    notice = make_notice(investigator)
    with pytest.raises(ValidationError):
        newsroom.submit_message(notice.message, by=editor)
    notice.message.refresh_from_db()
    assert notice.message.state == State.DRAFT


def test_approval_is_refused_once_the_authorisation_has_run_out(investigator, editor):
    notice = make_notice(investigator)
    authorisation = authorise(notice, investigator)
    actions.submit_notice(notice, by=investigator)
    authorisation.valid_until = timezone.now() - timedelta(seconds=1)
    authorisation.save()
    notice.message.refresh_from_db()
    with pytest.raises(ValidationError):
        newsroom.approve_message(notice.message, by=editor)
    notice.message.refresh_from_db()
    assert notice.message.state == State.SUBMITTED


def test_submission_keeps_only_the_channels_the_authorisation_allows(investigator):
    notice = make_notice(investigator, channels=("web", "rss", "mastodon", "x", "sms"))
    authorise(notice, investigator, channels=("mastodon",))
    actions.submit_notice(notice, by=investigator)
    notice.message.refresh_from_db()
    assert notice.message.state == State.SUBMITTED
    assert notice.message.channels == ["web", "rss", "mastodon"]


def test_a_channel_added_after_a_rejection_is_refused_at_the_next_submission(investigator, editor):
    notice = make_notice(investigator)
    authorise(notice, investigator, channels=("mastodon",))
    actions.submit_notice(notice, by=investigator)
    message = notice.message
    message.refresh_from_db()
    newsroom.reject_message(message, by=editor, reason="Foto te klein")
    message.refresh_from_db()
    newsroom.update_message(message, by=editor, channels=["web", "rss", "x"])
    with pytest.raises(ValidationError) as error:
        newsroom.submit_message(message, by=editor)
    assert "x" in str(error.value)


def test_a_plain_message_cannot_become_a_notice(communicator, make_message):
    message = make_message(communicator)
    with pytest.raises(ValidationError):
        newsroom.update_message(message, by=communicator, kind="notice")
    with pytest.raises(PermissionDenied):
        make_message(communicator, kind="notice")


# Publication -----------------------------------------------------------------------------------


def test_an_approved_notice_is_published_on_its_page_and_on_the_authorised_channel(live, client):
    assert live.state == NoticeState.ACTIVE
    assert live.message.state == State.PUBLISHED
    post = SandboxPost.objects.get(service="mastodon")
    assert NAME in post.text
    page = client.get(detail_url(live))
    assert page.status_code == 200
    html = page.content.decode()
    assert NAME in html and f'alt="Foto van {NAME}"' in html
    assert "I have information" in html or "informatie" in html.lower()
    # The written tip form (anonymous tips) is linked, in the page's language, next to the phone.
    assert f'href="/notices/{live.pk}/tip?lang=nl"' in html and 'href="tel:101"' in html
    assert CASE not in html and "MAG-2026-117" not in html
    listing = client.get("/nl/notices/").content.decode()
    assert NAME in listing and CASE not in listing
    assert NAME in client.get("/feeds/news.xml").content.decode()


def test_the_author_of_a_notice_cannot_approve_it(investigator, editor):
    notice = make_notice(investigator)
    authorise(notice, investigator)
    actions.submit_notice(notice, by=investigator)
    notice.message.refresh_from_db()
    with pytest.raises(PermissionDenied):
        newsroom.approve_message(notice.message, by=investigator)


def test_the_notice_list_filters_by_kind_area_and_date(live, client, area, other_area):
    Message.objects.filter(pk=live.message_id).update(area=area)
    assert NAME in client.get("/en/notices/?kind=missing").content.decode()
    assert NAME not in client.get("/en/notices/?kind=wanted").content.decode()
    assert NAME in client.get("/en/notices/?area=noord").content.decode()
    assert NAME not in client.get("/en/notices/?area=zuid").content.decode()
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    assert NAME not in client.get(f"/en/notices/?since={tomorrow}").content.decode()
    # Hostile filter values are ignored, never an error.
    response = client.get("/en/notices/?kind=<x>&since=yesterday&area=%00")
    assert response.status_code == 200 and NAME in response.content.decode()


def test_a_notice_not_yet_published_is_not_found(investigator, client):
    notice = make_notice(investigator)
    assert client.get(detail_url(notice)).status_code == 404
    assert client.get("/nl/notices/999999/").status_code == 404


# Takedown --------------------------------------------------------------------------------------


def assert_taken_down(notice, client):
    page = client.get(detail_url(notice))
    assert page.status_code == 410
    html = page.content.decode()
    assert NAME not in html and "Foto van" not in html and ".png" not in html
    assert "Vermist" not in html
    assert "thank you" in html.lower() or "bedankt" in html.lower()
    assert NAME not in client.get("/nl/notices/").content.decode()
    assert NAME not in client.get("/feeds/news.xml").content.decode()
    assert NAME not in client.get("/feeds/news.atom").content.decode()
    news = client.get(notice.message.permalink_path())
    assert news.status_code == 410 and NAME not in news.content.decode()


def test_resolving_a_notice_takes_it_down_everywhere(live, investigator, client):
    actions.resolve_notice(live, by=investigator, resolution="found")
    assert live.state == NoticeState.RESOLVED and live.resolution == "found"
    assert live.resolved_at is not None
    assert_taken_down(live, client)
    deliveries.deliver_due()
    delete = live.message.deliveries.get(operation="delete")
    assert delete.state == "sent"
    assert SandboxPost.objects.get(service="mastodon").deleted_at is not None


def test_a_post_that_cannot_be_deleted_is_listed_to_remove_by_hand(
    investigator, editor, hook, monkeypatch
):
    notice = make_notice(investigator, channels=("web", "rss", "webhook"))
    authorise(notice, investigator, channels=("webhook",))
    publish(notice, investigator, editor)
    deliveries.deliver_due()
    monkeypatch.setattr(WebhookAdapter, "can_delete", False)
    actions.resolve_notice(notice, by=investigator, resolution="solved")
    delete = notice.message.deliveries.get(operation="delete")
    assert delete.state == "failed" and "remove it by hand" in delete.last_error


def test_resolving_twice_changes_nothing(live, investigator):
    actions.resolve_notice(live, by=investigator, resolution="found")
    actions.resolve_notice(live, by=investigator, resolution="solved")
    live.refresh_from_db()
    assert live.resolution == "found"
    assert live.message.deliveries.filter(operation="delete").count() == 1


def test_a_resolved_notice_cannot_be_authorised_or_submitted_again(live, investigator):
    actions.resolve_notice(live, by=investigator, resolution="found")
    with pytest.raises(ValidationError):
        authorise(live, investigator)


def test_the_worker_takes_down_a_notice_whose_authorisation_lapsed(live, client):
    live.authorisation.valid_until = timezone.now() - timedelta(seconds=1)
    live.authorisation.save()
    results = jobs.tick()
    assert results["notices_lapsed"] == 1 and results["errors"] == 0
    live.refresh_from_db()
    assert live.state == NoticeState.LAPSED
    assert_taken_down(live, client)
    assert live.message.deliveries.get(operation="delete").state == "sent"
    assert SandboxPost.objects.get(service="mastodon").deleted_at is not None
    assert jobs.tick()["notices_lapsed"] == 0  # idempotent


def test_the_worker_sends_a_waiting_notice_back_to_draft_when_its_authorisation_lapsed(
    investigator,
):
    notice = make_notice(investigator)
    authorisation = authorise(notice, investigator)
    actions.submit_notice(notice, by=investigator)
    authorisation.valid_until = timezone.now() - timedelta(seconds=1)
    authorisation.save()
    assert actions.lapse_due() == 1
    notice.message.refresh_from_db()
    assert notice.message.state == State.DRAFT


# Console and access ----------------------------------------------------------------------------


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_investigators_see_the_case_reference_and_communicators_do_not(
    live, investigator, communicator, editor
):
    url = reverse("notice_console:detail", args=[live.pk])
    assert CASE in login(investigator).get(url).content.decode()
    for user in (communicator, editor):
        response = login(user).get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert CASE not in html and "MAG-2026-117" not in html
        listing = login(user).get(reverse("notice_console:list")).content.decode()
        assert CASE not in listing
    assert CASE in login(investigator).get(reverse("notice_console:list")).content.decode()


def test_an_investigator_creates_authorises_and_submits_through_the_console(investigator):
    client = login(investigator)
    response = client.post(
        reverse("notice_console:new"),
        {
            "kind": "witness",
            "case_reference": "PV-2",
            "language": "nl",
            "title": "Getuigen gezocht",
            "body": "Wie zag iets aan de Markt?",
        },
    )
    assert response.status_code == 302
    notice = Notice.objects.get(case_reference="PV-2")
    submit = reverse("notice_console:submit", args=[notice.pk])
    refused = client.post(submit)
    assert refused.status_code == 400 and "authorisation" in refused.content.decode()
    until = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("notice_console:authorise", args=[notice.pk]),
        {
            "magistrate": "Onderzoeksrechter Peeters",
            "reference": "OR-9",
            "date": date.today().isoformat(),
            "channels_allowed": ["web"],
            "valid_until": until,
        },
    )
    assert response.status_code == 302
    assert client.post(submit).status_code == 302
    notice.message.refresh_from_db()
    assert notice.message.state == State.SUBMITTED


def test_other_roles_may_not_write_notices(live, communicator, editor, make_user):
    analyst = make_user(Role.ANALYST, "erik")
    for user in (communicator, editor, analyst):
        client = login(user)
        assert client.get(reverse("notice_console:new")).status_code == 403
        for name in ("edit", "authorise", "submit", "resolve"):
            url = reverse(f"notice_console:{name}", args=[live.pk])
            assert client.post(url, {"resolution": "found"}).status_code == 403
    live.refresh_from_db()
    assert live.state == NoticeState.ACTIVE
    with pytest.raises(PermissionDenied):
        actions.resolve_notice(live, by=editor, resolution="found")
    with pytest.raises(PermissionDenied):
        authorise(live, communicator)


def test_the_console_answers_404_405_and_login_as_it_should(live, investigator):
    client = login(investigator)
    assert client.get(reverse("notice_console:detail", args=[999999])).status_code == 404
    assert client.post(reverse("notice_console:resolve", args=[999999]), {}).status_code == 404
    assert client.get(reverse("notice_console:resolve", args=[live.pk])).status_code == 405
    anonymous = Client().get(reverse("notice_console:list"))
    assert anonymous.status_code == 302 and "/accounts/" in anonymous["Location"]


def test_resolving_through_the_console_takes_the_page_down(live, investigator, client):
    response = login(investigator).post(
        reverse("notice_console:resolve", args=[live.pk]), {"resolution": "found"}
    )
    assert response.status_code == 302
    assert client.get(detail_url(live)).status_code == 410


def test_investigators_write_a_notices_text_in_the_message_editor_but_no_other_message(
    investigator, communicator, make_message
):
    notice = make_notice(investigator)
    client = login(investigator)
    assert client.get(reverse("console:message-edit", args=[notice.message_id])).status_code == 200
    other = make_message(communicator)
    assert client.get(reverse("console:message-edit", args=[other.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        make_message(investigator)


def test_the_console_navigation_links_to_the_notices(communicator):
    home = login(communicator).get(reverse("console:home")).content.decode()
    nav = home.split("console-nav", 1)[1].split("</nav>", 1)[0]
    assert f'href="{reverse("notice_console:list")}"' in nav


def test_resolving_a_notice_still_in_review_sends_its_message_back_to_draft(investigator, editor):
    notice = make_notice(investigator)
    authorise(notice, investigator)
    actions.submit_notice(notice, by=investigator)
    actions.resolve_notice(notice, by=investigator, resolution="withdrawn")
    notice.message.refresh_from_db()
    assert notice.message.state == State.DRAFT
    with pytest.raises(ValidationError):
        newsroom.submit_message(notice.message, by=editor)


def test_the_audit_trail_records_every_step_without_the_case_reference(live, investigator):
    from copps.audit.models import AuditRecord

    actions.resolve_notice(live, by=investigator, resolution="found")
    records = AuditRecord.objects.filter(object_type="investigations.notice")
    assert {
        "notice.create",
        "notice.record_authorisation",
        "notice.submit",
        "notice.resolve",
    } <= set(records.values_list("action", flat=True))
    assert not any(CASE in str(r.data) + r.reason for r in AuditRecord.objects.all())
