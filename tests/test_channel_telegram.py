"""Telegram channel: through the real delivery engine against the sandbox Bot API (answering at
the one HTTP entry point like api.telegram.org)."""

import io
import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from copps.channels import deliveries, sandbox
from copps.channels.adapters.telegram import TelegramAdapter, fit, to_html, utf16_len
from copps.channels.base import ChannelError
from copps.channels.fakes import telegram as fake
from copps.channels.models import SandboxPost
from copps.lib import http
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

pytestmark = pytest.mark.django_db

TOKEN = "123456789:AAHsandboxsandboxsandboxsandbox123"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def channel(make_channel):
    return make_channel(
        "telegram", config={"chat_id": "@politiegent"}, secrets={"bot_token": TOKEN}
    )


def messages():
    return SandboxPost.objects.filter(service="telegram")


def run(now=None):
    deliveries.deliver_due(now)


def later(minutes=120):
    return timezone.now() + timedelta(minutes=minutes)


def png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, "PNG")
    return out.getvalue()


def publish(make_message, communicator, editor, *, image_alt=None, **kwargs):
    message = make_message(communicator, **kwargs)
    if image_alt:
        actions.add_image(
            message,
            by=communicator,
            upload=SimpleUploadedFile("p.png", png(), content_type="image/png"),
            alt_text=image_alt,
        )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


@pytest.fixture
def live(make_message, communicator, editor, channel):
    return publish(make_message, communicator, editor)


def correct(message, communicator, editor):
    correction = actions.propose_correction(
        message,
        by=communicator,
        note="Het was het Zuidstation.",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het Zuidstation", "Sluit je fiets op.")],
    )
    actions.approve_correction(correction, by=editor)


# Text rules -----------------------------------------------------------------------------------


def test_text_is_escaped_for_html_and_the_title_is_bold():
    assert to_html("A <b> & C\n\nrest", "A <b> & C") == "<b>A &lt;b&gt; &amp; C</b>\n\nrest"
    plain, entities = fake.parse(to_html("Tom & Jerry <3", "Tom"), "HTML")
    assert plain == "Tom & Jerry <3"
    assert entities == [{"offset": 0, "length": 3, "type": "bold"}]


def test_a_caption_is_cut_at_a_word_and_keeps_the_link():
    link = "https://politie.example/nl/news/1-x/"
    text = ("Fietsdiefstal 🚲 aan het station. " * 60).strip()
    caption = fit(text, link, 1024)
    assert utf16_len(caption) <= 1024 and caption.endswith("…\n" + link)
    assert caption.split("…")[0].endswith("station")  # cut after a whole word
    assert fit("kort", link, 1024) == "kort"


# Posting through the engine -------------------------------------------------------------------


def test_it_posts_the_message_to_the_channel_with_a_link_to_it(live):
    run()
    d = live.deliveries.get()
    assert d.state == "sent" and d.attempts == 1
    msg = messages().get()
    chat_id, message_id = d.external_id.rsplit(":", 1)
    assert message_id == "1" and chat_id == msg.account and chat_id.startswith("-100")
    assert d.url == "https://t.me/politiegent/1"
    assert msg.text.startswith("Fietsdiefstallen aan het station")
    assert live.permalink("nl") in msg.text
    assert msg.payload["entities"][0] == {"offset": 0, "length": 32, "type": "bold"}
    link = msg.payload["entities"][-1]
    units = msg.text.encode("utf-16-le")
    linked = units[2 * link["offset"] : 2 * (link["offset"] + link["length"])].decode("utf-16-le")
    assert link["type"] == "url" and linked == live.permalink("nl")


def test_a_private_channel_gets_a_members_link(make_channel, make_message, communicator, editor):
    make_channel("telegram", config={"chat_id": "-1001234567890"}, secrets={"bot_token": TOKEN})
    message = publish(make_message, communicator, editor)
    run()
    assert message.deliveries.get().url == "https://t.me/c/1234567890/1"


def test_an_approved_correction_edits_the_message(live, communicator, editor):
    run()
    correct(live, communicator, editor)
    run()
    assert live.deliveries.get(operation="update").state == "sent"
    msg = messages().get()
    assert "Zuidstation" in msg.text and msg.edited_at is not None and msg.payload["edit_date"]


def test_an_edit_with_the_same_text_counts_as_done(live, channel):
    run()
    post = live.deliveries.get()
    adapter = channel.adapter
    assert adapter.update(post, post).external_id == post.external_id  # "not modified"


def test_retracting_deletes_the_message(live, editor):
    run()
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert messages().get().deleted_at is not None


def test_a_message_older_than_48_hours_cannot_be_deleted_and_says_so(live, editor):
    run()
    messages().update(created_at=timezone.now() - timedelta(hours=49))
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    delete = live.deliveries.get(operation="delete")
    assert delete.state == "failed" and delete.permanent
    assert "message can't be deleted" in delete.last_error and "48 hours" in delete.last_error
    assert messages().get().deleted_at is None


def test_a_message_already_removed_by_hand_counts_as_deleted(live, editor):
    run()
    messages().update(deleted_at=timezone.now())
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    assert live.deliveries.get(operation="delete").state == "sent"


def test_an_image_goes_as_a_photo_with_the_text_as_caption(
    make_message, communicator, editor, channel
):
    message = publish(make_message, communicator, editor, image_alt="Een fiets")
    run()
    assert message.deliveries.get().state == "sent"
    msg = messages().get()
    assert msg.payload["photo"][-1]["file_size"] == len(png())
    assert msg.payload["photo_file_name"].endswith(".png")
    assert msg.text.startswith("Fietsdiefstallen") and "text" not in msg.payload


def test_a_correction_of_a_photo_edits_its_caption(make_message, communicator, editor, channel):
    message = publish(make_message, communicator, editor, image_alt="Een fiets")
    run()
    correct(message, communicator, editor)
    run()
    assert message.deliveries.get(operation="update").state == "sent"
    assert "Zuidstation" in messages().get().payload["caption"]


def test_a_long_text_with_an_image_fits_the_caption_limit(
    make_message, communicator, editor, channel
):
    body = "Wees alert en sluit je fiets altijd op slot. " * 60
    message = publish(make_message, communicator, editor, image_alt="Een fiets", body=body)
    run()
    assert message.deliveries.get().state == "sent"
    caption = messages().get().payload["caption"]
    assert utf16_len(caption) <= 1024 and caption.endswith(message.permalink("nl"))


def test_check_names_the_bot_and_the_channel(channel):
    assert channel.adapter.check() == (
        "@politie_sandbox_bot posts to Politie politiegent (sandbox) (@politiegent)"
    )


def test_check_with_a_revoked_token_fails_as_telegram_answers(make_channel):
    channel = make_channel(
        "telegram", slug="bad", config={"chat_id": "@politiegent"}, secrets={"bot_token": "revoked"}
    )
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert caught.value.disable_channel and "401 Unauthorized" in str(caught.value)


def test_check_with_an_unknown_chat_fails(make_channel):
    channel = make_channel(
        "telegram", slug="bad", config={"chat_id": "nochat"}, secrets={"bot_token": TOKEN}
    )
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert "chat not found" in str(caught.value)


def test_check_fails_when_the_bot_may_not_post(channel):
    def not_admin(request):
        if request.url.path.endswith("/getChatMember"):
            return fake.ok({"user": fake.BOT, "status": "member"})
        return fake.handle(request)

    with http.fake(not_admin), pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert "not an administrator" in str(caught.value)


def test_the_configuration_checks_the_channel_and_the_token_format():
    errors = TelegramAdapter.validate_config({"chat_id": "politie gent"}, {"bot_token": "abc"})
    assert set(errors) == {"chat_id", "bot_token"}
    assert TelegramAdapter.validate_config({"chat_id": "@politiegent"}, {"bot_token": TOKEN}) == {}


def test_a_bot_removed_from_the_channel_disables_it(live, channel):
    def kicked(request):
        return fake.fail(403, "Forbidden: bot is not a member of the channel chat")

    with http.fake(kicked):
        run()
    channel.refresh_from_db()
    d = live.deliveries.get()
    assert channel.status == "disabled" and d.permanent and "not a member" in d.last_error


def test_an_unanswered_send_becomes_unknown_and_is_never_retried_blindly(live):
    sandbox.inject("telegram", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown" and messages().count() == 1
    deliveries.reconcile(later())  # no read-back on Telegram: a person decides
    run(later(60 * 24))
    d.refresh_from_db()
    assert d.state == "unknown" and d.attempts == 1 and messages().count() == 1


def test_a_server_error_is_an_unknown_outcome(live):
    sandbox.inject("telegram", 502)
    run()
    assert live.deliveries.get().state == "unknown"


def test_a_refused_connection_is_retried_and_sends_once(live):
    sandbox.inject("telegram", "refuse")
    run()
    assert live.deliveries.get().state == "failed" and not messages().exists()
    run(later())
    assert live.deliveries.get().state == "sent" and messages().count() == 1


def test_too_many_requests_waits_as_long_as_telegram_says(live):
    def flood(request):
        return fake.fail(429, "Too Many Requests: retry after 600", retry_after=600)

    with http.fake(flood):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "Too Many Requests" in d.last_error
    assert d.next_attempt_at > timezone.now() + timedelta(seconds=590)
    run(timezone.now() + timedelta(minutes=5))
    assert live.deliveries.get().attempts == 1
    run(later(11))
    assert live.deliveries.get().state == "sent" and messages().count() == 1


def test_a_text_telegram_refuses_is_a_permanent_failure(live):
    def refuse(request):
        return fake.fail(400, "Bad Request: can't parse entities: Unsupported start tag")

    with http.fake(refuse):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent


def test_the_bot_token_never_reaches_the_log(live, caplog):
    # copps keeps httpx at WARNING; an operator debugging at DEBUG must not see tokens either.
    with caplog.at_level(logging.DEBUG, logger="httpx"):
        run()
    assert live.deliveries.get().state == "sent"
    assert "HTTP Request" in caplog.text  # the client did log the call
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
