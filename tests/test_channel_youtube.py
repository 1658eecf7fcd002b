"""YouTube channel: resumable upload of the message's video, edits, deletion, errors, and the
Postiz double-post: an upload whose answer is lost is never uploaded again blindly."""

import hashlib

import httpx
import pytest

from copps.channels import sandbox
from copps.channels.adapters import youtube
from copps.channels.adapters.youtube import YouTubeAdapter, description_of, title_of
from copps.channels.base import ChannelError
from copps.channels.fakes import youtube as fake
from copps.channels.models import Alert
from copps.lib import http

from .support_socialb import (
    MP4_BYTES,
    correct,
    later,
    live_posts,
    publish,
    publish_with_video,
    reconcile_later,
    retract,
    run,
)

pytestmark = pytest.mark.django_db
SECRETS = {"client_id": "cid.apps", "client_secret": "csecret", "refresh_token": "1//refresh"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _fresh_state():
    youtube._tokens.clear()
    fake.TOKEN_CALLS.clear()
    fake.REVOKED_ACCESS.clear()
    fake.QUOTA.clear()


@pytest.fixture
def channel(make_channel):
    return make_channel("youtube", config={"privacy": "unlisted"}, secrets=dict(SECRETS))


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish_with_video(make_message, communicator, editor)


def uploads():
    return live_posts("youtube")


def test_it_uploads_the_video_with_title_description_and_language(live):
    run(2)
    d = live.deliveries.get()
    video = uploads().get()
    assert d.state == "sent" and d.attempts == 1 and d.external_id == video.external_id
    assert d.url == f"https://www.youtube.com/watch?v={video.external_id}"
    assert video.payload["sha256"] == hashlib.sha256(MP4_BYTES).hexdigest()
    assert video.payload["content_type"] == "video/mp4"
    snippet = video.payload["snippet"]
    assert snippet["title"] == "Fietsdiefstallen aan het station"
    assert snippet["description"] == d.payload["text"] and snippet["defaultLanguage"] == "nl"
    assert video.payload["status"]["privacyStatus"] == "unlisted"


def test_the_payload_carries_the_video(live):
    video = live.deliveries.get().payload["video"]
    assert video["name"].startswith("videos/") and video["name"].endswith(".mp4")
    assert video["url"].endswith(video["name"]) and video["content_type"] == "video/mp4"
    assert video["caption"] == "Beelden van de verdachte"


def test_a_message_without_a_video_fails_permanently(make_message, communicator, editor, channel):
    message = publish(make_message, communicator, editor)
    run()
    d = message.deliveries.get()
    assert d.state == "failed" and d.permanent and "no video attached" in d.last_error
    assert not uploads().exists()


def test_the_access_token_is_fetched_once_and_reused(
    live, channel, make_message, communicator, editor
):
    run()
    assert channel.adapter.check() == fake.CHANNEL_TITLE
    assert len(fake.TOKEN_CALLS) == 1


def test_a_lost_answer_after_the_upload_is_settled_by_the_session_without_reuploading(live):
    sandbox.inject("youtube", None, None, "timeout")  # token, start, then the PUT's answer is lost
    run()
    d = live.deliveries.get()
    assert d.state == "sent" and d.external_id == uploads().get().external_id
    assert uploads().count() == 1
    assert "upload" not in d.last_error


def test_when_even_the_session_cannot_answer_the_outcome_is_unknown_and_read_back(live):
    sandbox.inject("youtube", None, None, "timeout", "refuse")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and uploads().count() == 1
    run(3, now=later())
    assert live.deliveries.get().state == "unknown"  # never re-uploaded blindly
    assert uploads().count() == 1
    assert reconcile_later() == 1
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id == uploads().get().external_id
    run(2, now=later(hours=3))
    assert uploads().count() == 1


def test_an_upload_that_never_reached_youtube_is_uploaded_again(live):
    sandbox.inject("youtube", None, None, "refuse")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and not uploads().exists()
    run(now=later())
    assert live.deliveries.get().state == "sent" and uploads().count() == 1


def test_a_timeout_while_starting_the_session_is_retried_because_nothing_was_uploaded(live):
    sandbox.inject("youtube", None, "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    run(now=later())
    assert live.deliveries.get().state == "sent" and uploads().count() == 1


def test_an_incomplete_upload_is_retried_and_not_counted_as_published(live):
    def cut_short(request):
        if request.method == "PUT" and "upload_id" in str(request.url) and request.content:
            request = httpx.Request(
                request.method, request.url, headers=request.headers, content=request.content[:10]
            )
            fake.handle(request)  # YouTube received only part of it
            raise httpx.ReadTimeout("connection dropped", request=request)
        return fake.handle(request)

    with http.fake(cut_short):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and "did not complete" in d.last_error
    assert not uploads().exists()
    run(now=later())
    assert live.deliveries.get().state == "sent" and uploads().count() == 1


def test_an_approved_correction_edits_title_and_description(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    assert live.deliveries.get(operation="update").state == "sent"
    video = uploads().get()
    assert video.payload["snippet"]["title"] == "Fietsdiefstallen aan het Zuidstation"
    assert video.payload["snippet"]["categoryId"] == "25" and video.edited_at is not None


def test_retracting_deletes_the_video(live, editor):
    run()
    retract(live, editor)
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert not uploads().exists()


def test_an_exhausted_quota_waits_for_the_daily_reset(live):
    fake.exhaust_quota()
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "quotaExceeded" in d.last_error
    assert (d.next_attempt_at - d.updated_at).total_seconds() > 60


def test_a_revoked_refresh_token_disables_the_channel(live, channel):
    channel.set_secrets(SECRETS | {"refresh_token": "revoked"})
    channel.save()
    with pytest.raises(ChannelError) as err:
        channel.adapter.check()
    assert err.value.disable_channel and "revoked" in str(err.value)
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and Alert.objects.filter(channel=channel).exists()
    assert live.deliveries.get().state == "failed"


def test_an_access_token_revoked_early_is_refreshed_once(live, channel):
    run()
    fake.REVOKED_ACCESS.update(fake.TOKEN_CALLS)
    assert channel.adapter.check() == fake.CHANNEL_TITLE
    assert len(fake.TOKEN_CALLS) == 2


def test_check_refuses_a_token_of_another_channel(make_channel):
    other = make_channel(
        "youtube", slug="yt-other", config={"channel_id": "UC" + "x" * 22}, secrets=dict(SECRETS)
    )
    with pytest.raises(ChannelError, match="not UC"):
        other.adapter.check()


def test_titles_and_descriptions_keep_youtubes_limits():
    long = {"title": "Opsporing <dringend> " + "a" * 200, "text": "é" * 4000}
    assert len(title_of(long)) == 100 and "<" not in title_of(long)
    assert len(description_of(long).encode()) <= 5000


def test_configuration_is_checked_before_any_call():
    errors = YouTubeAdapter.validate_config({"privacy": "private", "channel_id": "abc"}, {})
    assert set(errors) == {"privacy", "channel_id", "client_id", "client_secret", "refresh_token"}


# The video on a message -----------------------------------------------------------------------

from django.core.exceptions import ValidationError  # noqa: E402
from django.urls import reverse  # noqa: E402

from copps.accounts import roles  # noqa: E402
from copps.accounts.roles import Role  # noqa: E402
from copps.audit.models import AuditRecord  # noqa: E402
from copps.newsroom import actions  # noqa: E402
from copps.newsroom.videos import sniff  # noqa: E402
from copps.newsroom.workflow import Conflict  # noqa: E402

from .support_socialb import WEBM_BYTES, png_upload, video_upload  # noqa: E402


@pytest.fixture
def draft(make_message, communicator):
    return make_message(communicator)


def refused(draft, communicator, upload, field="video"):
    with pytest.raises(ValidationError) as caught:
        actions.set_video(draft, by=communicator, upload=upload, caption="Beelden")
    assert field in caught.value.message_dict
    draft.refresh_from_db()
    assert not draft.video
    return " ".join(caught.value.message_dict[field])


def test_the_test_containers_are_recognised():
    assert sniff(MP4_BYTES) == "mp4" and sniff(WEBM_BYTES) == "webm"
    assert sniff(b"\x1a\x45\xdf\xa3\x42\x82\x88matroska") is None
    assert sniff(b"\x89PNG\r\n\x1a\n" + bytes(20)) is None


def test_a_webm_video_is_accepted_and_stored_under_a_random_name(draft, communicator, media_root):
    actions.set_video(
        draft,
        by=communicator,
        upload=video_upload("../../etc/x.webm", WEBM_BYTES),
        caption="Uitleg",
    )
    draft.refresh_from_db()
    assert draft.video.name.startswith("videos/") and draft.video.name.endswith(".webm")
    assert (media_root / draft.video.name).read_bytes() == WEBM_BYTES
    assert draft.video_caption == "Uitleg"
    assert AuditRecord.objects.filter(action="message.set_video").exists()


def test_a_video_is_refused_by_its_name(draft, communicator):
    assert "MP4 or WebM" in refused(draft, communicator, video_upload("clip.mov", MP4_BYTES))


def test_a_video_is_refused_when_its_bytes_are_not_the_container_its_name_says(draft, communicator):
    assert "not an MP4 or WebM" in refused(
        draft, communicator, video_upload("clip.webm", MP4_BYTES)
    )
    png = png_upload("clip.mp4")
    assert "not an MP4 or WebM" in refused(draft, communicator, png)


def test_a_video_over_the_size_limit_is_refused(draft, communicator, settings):
    settings.COPPS_MAX_VIDEO_BYTES = 16
    assert "larger than" in refused(draft, communicator, video_upload())


def test_a_video_needs_a_description(draft, communicator):
    with pytest.raises(ValidationError) as caught:
        actions.set_video(draft, by=communicator, upload=video_upload(), caption="  ")
    assert "caption" in caught.value.message_dict


def test_the_video_can_only_change_while_the_message_is_a_draft(draft, communicator, media_root):
    from django.core.exceptions import PermissionDenied

    from copps.newsroom.models import Message

    stale = Message.objects.get(pk=draft.pk)  # opened before someone submitted it
    actions.submit_message(draft, by=communicator)
    with pytest.raises(PermissionDenied):
        actions.set_video(draft, by=communicator, upload=video_upload(), caption="Beelden")
    with pytest.raises(Conflict):
        actions.set_video(stale, by=communicator, upload=video_upload(), caption="Beelden")
    assert not any(media_root.rglob("*.mp4"))  # the stored file went with the rollback
    draft.refresh_from_db()
    assert not draft.video


def test_replacing_and_removing_the_video_deletes_the_old_files(
    draft, communicator, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_video(draft, by=communicator, upload=video_upload(), caption="Eerste")
    first = draft.video.name
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_video(
            draft, by=communicator, upload=video_upload("b.webm", WEBM_BYTES), caption="Tweede"
        )
    assert not (media_root / first).exists() and (media_root / draft.video.name).exists()
    second = draft.video.name
    with django_capture_on_commit_callbacks(execute=True):
        actions.remove_video(draft, by=communicator)
    draft.refresh_from_db()
    assert not draft.video and not (media_root / second).exists()


def test_the_console_attaches_a_video(client, communicator, draft):
    client.force_login(communicator)
    response = client.post(
        reverse("console:message-video-set", args=[draft.pk]),
        {"video": video_upload(), "caption": "Beelden van de camera"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#video")
    draft.refresh_from_db()
    assert draft.video.name.endswith(".mp4")
    page = client.get(reverse("console:message-edit", args=[draft.pk]))
    assert b"<video controls" in page.content and b"Beelden van de camera" in page.content


def test_the_console_refuses_a_disguised_file_with_a_field_error(client, communicator, draft):
    client.force_login(communicator)
    response = client.post(
        reverse("console:message-video-set", args=[draft.pk]),
        {"video": video_upload("evil.mp4", b"#!/bin/sh\nrm -rf /\n" * 3), "caption": "Beelden"},
    )
    assert response.status_code == 400 and b"not an MP4 or WebM video" in response.content
    draft.refresh_from_db()
    assert not draft.video


def test_the_console_video_endpoints_refuse_readers_outsiders_and_get(
    client, make_user, draft, monkeypatch
):
    url = reverse("console:message-video-set", args=[draft.pk])
    analyst = make_user(Role.ANALYST, "erik")
    client.force_login(analyst)
    assert client.post(url, {"video": video_upload(), "caption": "x"}).status_code == 403
    outsider = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    client.force_login(outsider)
    assert client.post(url, {"video": video_upload(), "caption": "x"}).status_code == 404
    assert client.get(url).status_code == 405
    draft.refresh_from_db()
    assert not draft.video


def test_the_public_page_plays_the_video_with_its_description(
    client, make_message, communicator, editor
):
    message = publish_with_video(make_message, communicator, editor)
    response = client.get(message.permalink_path("nl"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<video controls preload="none" src="{message.video.url}"' in html
    assert '<figcaption id="video-caption">Beelden van de verdachte</figcaption>' in html


def test_a_webm_video_is_uploaded_as_webm(make_message, communicator, editor, channel):
    message = make_message(communicator)
    actions.set_video(
        message, by=communicator, upload=video_upload("film.webm", WEBM_BYTES), caption="Uitleg"
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    run()
    video = uploads().get()
    assert message.deliveries.get().state == "sent"
    assert video.payload["content_type"] == "video/webm"
    assert video.payload["sha256"] == hashlib.sha256(WEBM_BYTES).hexdigest()


def test_a_video_file_gone_from_storage_fails_permanently(live, media_root):
    (media_root / live.video.name).unlink()
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent and "missing" in d.last_error


def test_the_sandbox_preview_shows_title_description_and_video(live, channel):
    d = live.deliveries.get()
    preview = channel.adapter.preview(d)
    assert preview["title"] == "Fietsdiefstallen aan het station"
    assert preview["text"] == d.payload["text"] and preview["video"] == d.payload["video"]["url"]
