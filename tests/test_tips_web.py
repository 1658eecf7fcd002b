"""The anonymous tip form on the public site (issue 5, part A): /tips/new, /notices/<id>/tip,
/tips/follow-up — through the real endpoints with the CSRF check on, as a browser posts them."""

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from PIL import Image

from copps.audit.models import AuditRecord
from copps.channels.models import RateHit
from copps.inbox import actions as inbox
from copps.inbox.models import Attachment, Entry
from copps.investigations import actions as notice_actions
from copps.investigations import tip_forms
from copps.investigations.models import Tip, TipState
from copps.runner import ACCESS_LOG_FORMAT
from tests.test_investigations_notices import authorise, make_notice, publish

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    tip_settings(settings, tmp_path)


def tip_settings(settings, tmp_path) -> None:
    """Files under the test's own directory; limits high (the limits have their own tests)."""
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "private")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.COPPS_TIP_POW_BITS = 8
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 1000
    settings.COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR = 1000
    settings.COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR = 1000


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", "ivo")


@pytest.fixture
def notice(investigator, editor, make_channel):
    return published_notice(investigator, editor, make_channel)


def published_notice(investigator, editor, make_channel):
    """An active, published missing-person notice (authorised for the sandbox Mastodon)."""
    make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )
    item = make_notice(investigator)
    authorise(item, investigator)
    return publish(item, investigator, editor)


def jpeg(size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "JPEG")
    return out.getvalue()


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def form_fields(client: Client, url: str) -> dict:
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return fields


def solve(challenge: str, bits: int) -> str:
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{challenge}{nonce}".encode()).digest()
        if tip_forms.leading_zero_bits(digest) >= bits:
            return str(nonce)
        nonce += 1


def send(client: Client, url: str = "/tips/new", *, work=True, files=(), **data):
    fields = form_fields(client, url)
    if work:
        fields["nonce"] = solve(fields["challenge"], tip_forms.pow_bits())
    fields.update(data)
    if files:
        fields["attachments"] = list(files)
    return client.post(url, fields)


def keys(response) -> tuple[str, str]:
    html = response.content.decode()
    code = re.search(r'id="tip-code">([^<]+)<', html).group(1)
    secret = re.search(r'id="tip-secret">([^<]+)<', html).group(1)
    return code, secret


# Sending -----------------------------------------------------------------------------------------


def test_it_stores_a_tip_and_shows_its_code_and_secret_once():
    client = browser()
    response = send(client, message="De blauwe bestelwagen stond om 22 uur aan de kaai.")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code, secret = keys(response)
    tip = Tip.objects.get(code=code)
    assert tip.conversation.entries.get().text.startswith("De blauwe bestelwagen")
    assert "112" in response.content.decode()
    assert "/tips/follow-up" in response.content.decode()
    # Only the CSRF cookie: no session.
    assert set(client.cookies) == {"csrftoken"}
    assert AuditRecord.objects.filter(action="tip.create", actor="tipster").exists()
    assert tip.secret_hash and secret not in tip.secret_hash


def test_it_stores_the_attachments_with_their_hash():
    data = jpeg()
    response = send(browser(), message="Foto van de wagen.", files=[upload("wagen.jpg", data)])
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.content_type == "image/jpeg"


def test_the_form_on_a_notice_links_the_tip_to_it(notice):
    client = browser()
    page = client.get(f"/notices/{notice.pk}/tip?lang=en")
    assert page.status_code == 200 and "About the notice" in page.content.decode()
    response = send(client, f"/notices/{notice.pk}/tip?lang=en", message="Ik zag haar gisteren.")
    assert response.status_code == 200
    assert Tip.objects.get().notice == notice


def test_the_notice_page_links_to_the_form_while_active_and_not_once_closed(notice, investigator):
    html = Client().get(f"/fr/notices/{notice.pk}/").content.decode()
    assert f'href="/notices/{notice.pk}/tip?lang=fr"' in html
    notice_actions.resolve_notice(notice, by=investigator, resolution="found")
    closed = Client().get(f"/fr/notices/{notice.pk}/")
    assert f"/notices/{notice.pk}/tip" not in closed.content.decode()
    assert Client().get(f"/notices/{notice.pk}/tip").status_code == 404


def test_an_unknown_notice_has_no_form_and_a_bad_notice_id_is_ignored():
    assert Client().get("/notices/99999/tip").status_code == 404
    response = send(browser(), message="Iets gezien.", notice="'; DROP TABLE x;--")
    assert response.status_code == 200
    assert Tip.objects.get().notice is None


def test_a_notice_id_in_other_digits_is_ignored_never_a_500():
    # "\u00b2" (superscript two) is a digit to str.isdigit() but not to int().
    response = send(browser(), message="Iets gezien.", notice="\u00b2")
    assert response.status_code == 200
    assert Tip.objects.get().notice is None


def test_the_page_speaks_the_language_asked_for():
    for lang in ("nl", "fr", "de", "en"):
        page = Client().get(f"/tips/new?lang={lang}")
        assert page.status_code == 200
        assert f'<html lang="{lang}">' in page.content.decode()
        assert f'name="lang" value="{lang}"' in page.content.decode()
    # Without ?lang= the browser's language decides; the hidden field wins over both on a post.
    german = Client(HTTP_ACCEPT_LANGUAGE="de-BE,de;q=0.9").get("/tips/new")
    assert '<html lang="de">' in german.content.decode()
    assert 'href="/tips/new?lang=fr"' in german.content.decode()  # language links keep the page
    posted = send(browser(), "/tips/new?lang=nl", message="Iets.", lang="fr")
    assert '<html lang="fr">' in posted.content.decode()


def test_the_form_carries_a_signed_challenge_and_the_script_file_not_inline_script():
    html = Client().get("/tips/new").content.decode()
    assert "investigations/tips-pow.js" in html
    assert re.search(r"<script>", html) is None
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert tip_forms.work_is_valid(fields["challenge"], solve(fields["challenge"], 8))
    assert not tip_forms.work_is_valid(fields["challenge"] + "x", "1")


def test_a_plain_post_without_javascript_is_accepted(settings):
    response = send(browser(), work=False, message="Zonder JavaScript.")
    assert response.status_code == 200
    assert Tip.objects.count() == 1


# Flood protection ---------------------------------------------------------------------------------


def test_without_work_the_stricter_limit_applies_and_the_text_is_kept(settings):
    settings.COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR = 2
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 5
    client = browser()
    for _ in range(2):
        assert send(client, work=False, message="Nummer plaat 1-ABC-123.").status_code == 200
    limited = send(client, work=False, message="Mijn derde bericht.")
    assert limited.status_code == 429
    html = limited.content.decode()
    assert "Mijn derde bericht." in html and "101" in html
    # With work the same client may still send, up to the ordinary limit.
    assert send(client, message="Met rekenwerk.").status_code == 200
    assert Tip.objects.count() == 3


def test_the_ordinary_limit_counts_per_client_and_another_client_is_free(settings):
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 2
    one = browser()
    assert send(one, message="a", REMOTE_ADDR="192.0.2.1").status_code == 200
    assert send(one, message="b").status_code == 200
    assert send(one, message="c").status_code == 429
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.200")
    assert send(other, message="d").status_code == 200
    # The keys are daily HMACs: no address in the table.
    assert not RateHit.objects.filter(key__contains="127.0.0.1").exists()


def test_spent_work_is_not_accepted_twice(settings):
    settings.COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR = 2
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 10
    client = browser()
    fields = form_fields(client, "/tips/new")
    fields["nonce"] = solve(fields["challenge"], tip_forms.pow_bits())
    assert client.post("/tips/new", {**fields, "message": "een"}).status_code == 200
    assert client.post("/tips/new", {**fields, "message": "twee"}).status_code == 200  # as no work
    # The replay is held to the no-work limit; fresh work still gets the ordinary one.
    assert client.post("/tips/new", {**fields, "message": "drie"}).status_code == 429
    assert send(client, message="vier").status_code == 200


def test_work_spent_before_midnight_is_still_spent_after_it(monkeypatch):
    from datetime import UTC, datetime

    challenge = tip_forms.new_challenge()
    clock = [datetime(2026, 3, 1, 23, 59, tzinfo=UTC)]
    monkeypatch.setattr(tip_forms.timezone, "now", lambda: clock[0])
    assert tip_forms.consume_challenge(challenge)
    clock[0] += timedelta(minutes=10)
    assert not tip_forms.consume_challenge(challenge)


def test_a_filled_honeypot_stores_nothing():
    response = send(browser(), message="Buy pills", website="http://spam.example")
    assert response.status_code == 400
    assert Tip.objects.count() == 0


# Bad input -----------------------------------------------------------------------------------------


def test_a_script_named_jpg_is_refused_nothing_is_stored_and_the_text_is_kept():
    script = b"#!/bin/sh\nrm -rf /\n"
    response = send(
        browser(),
        message="Mijn tekst blijft staan.",
        files=[upload("ok.jpg", jpeg()), upload("foto.jpg", script)],
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "foto.jpg is not a photo or video we accept" in html
    assert "Mijn tekst blijft staan." in html
    assert Tip.objects.count() == 0 and Attachment.objects.count() == 0


def test_an_oversized_file_is_refused(settings):
    settings.COPPS_TIP_MAX_FILE_MB = 1
    big = jpeg() + b"\0" * (1024 * 1024 + 10)
    response = send(browser(), message="Groot bestand.", files=[upload("groot.jpg", big)])
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert Tip.objects.count() == 0


def test_too_many_files_are_refused(settings):
    settings.COPPS_TIP_MAX_FILES = 2
    files = [upload(f"f{i}.jpg", jpeg()) for i in range(3)]
    response = send(browser(), message="Drie fotos.", files=files)
    assert response.status_code == 400
    assert "at most 2 files" in response.content.decode()
    assert Tip.objects.count() == 0


def test_a_missing_or_huge_message_is_refused_clearly():
    assert "Please describe what you know." in send(browser(), message="").content.decode()
    huge = send(browser(), message="x" * 6000)
    assert huge.status_code == 400
    assert "too long" in huge.content.decode()
    assert Tip.objects.count() == 0


def test_a_post_without_the_csrf_token_is_refused():
    assert browser().post("/tips/new", {"message": "x"}).status_code == 403
    assert Tip.objects.count() == 0


def test_other_methods_and_garbage_multipart_never_give_a_500():
    client = Client()
    assert client.put("/tips/new").status_code == 405
    assert client.delete("/tips/follow-up").status_code == 405
    assert client.head("/tips/new").status_code == 200
    garbage = client.generic(
        "POST",
        "/tips/new",
        b'--xx\r\nContent-Disposition: form-data; name="message\r\n\r\n\x00\xff--',
        content_type="multipart/form-data; boundary=xx",
    )
    assert garbage.status_code < 500
    no_boundary = client.generic(
        "POST", "/tips/new", b"garbage", content_type="multipart/form-data"
    )
    assert no_boundary.status_code < 500
    assert client.post("/tips/follow-up", {"code": "x" * 500, "secret": "\x00"}).status_code == 400
    assert Tip.objects.count() == 0


# Follow-up ------------------------------------------------------------------------------------------


def follow(client: Client, code: str, secret: str, **data):
    fields = form_fields(client, "/tips/follow-up")
    return client.post("/tips/follow-up", {**fields, "code": code, "secret": secret, **data})


def test_the_tipster_reads_the_question_answers_and_stops(investigator):
    client = browser()
    code, secret = keys(send(client, message="Ik weet waar de fiets is."))
    tip = Tip.objects.get(code=code)
    inbox.add_note(tip.conversation, by=investigator, text="Interne notitie: bekende bron")
    inbox.reply(tip.conversation, by=investigator, text="Waar precies?")

    page = follow(client, code.lower().replace("-", " "), secret)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "Waar precies?" in html and "Ik weet waar de fiets is." in html
    assert "Interne notitie" not in html
    assert f'name="secret" value="{secret}"' in html  # carried in the page, not in a session

    answered = follow(client, code, secret, action="answer", message="Achter het station.")
    assert "Achter het station." in answered.content.decode()
    assert tip.conversation.entries.filter(direction="in", text="Achter het station.").exists()

    stopped = follow(client, code, secret, action="stop")
    assert "The conversation has ended" in stopped.content.decode()
    tip.refresh_from_db()
    assert tip.state == TipState.STOPPED
    again = follow(client, code, secret, action="answer", message="Nog iets")
    assert not tip.conversation.entries.filter(text="Nog iets").exists()
    assert again.status_code == 400 and "This conversation has ended." in again.content.decode()
    assert set(client.cookies) == {"csrftoken"}


def test_a_wrong_secret_answers_exactly_as_an_unknown_code():
    client = browser()
    code, _secret = keys(send(client, message="Iets."))
    wrong_secret = follow(client, code, "AAAA-BBBB-CCCC")
    unknown_code = follow(client, "ZZZZ-ZZZZ", "AAAA-BBBB-CCCC")
    assert wrong_secret.status_code == unknown_code.status_code == 400

    def body(response):
        html = response.content.decode()
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return html.replace("ZZZZ-ZZZZ", "").replace(code, "")

    assert body(wrong_secret) == body(unknown_code)
    assert "do not match" in body(wrong_secret)


def test_follow_up_failures_are_rate_limited_per_client(settings):
    settings.COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR = 3
    client = browser()
    code, secret = keys(send(client, message="Iets."))
    for _ in range(3):
        assert follow(client, code, "WRONG-WRONG-WRONG").status_code == 400
    assert follow(client, code, secret).status_code == 429  # even the right one, for an hour
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.9")
    assert follow(other, code, secret).status_code == 200


def test_answers_are_held_to_the_ordinary_limit_per_client(settings):
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 3
    client = browser()
    code, secret = keys(send(client, message="Iets."))
    for n in range(3):
        assert follow(client, code, secret, action="answer", message=f"a{n}").status_code == 200
    limited = follow(client, code, secret, action="answer", message="Het vierde antwoord.")
    assert limited.status_code == 429 and limited["Retry-After"] == "3600"
    assert "Het vierde antwoord." in limited.content.decode()  # kept in the form to copy
    tip = Tip.objects.get(code=code)
    assert tip.conversation.entries.filter(direction="in").count() == 4  # the tip + 3 answers
    # Reading the conversation is not limited.
    assert follow(client, code, secret).status_code == 200


def test_a_question_to_a_stopped_tip_is_not_shown_as_sent(investigator):
    client = browser()
    code, secret = keys(send(client, message="Iets."))
    tip = Tip.objects.get(code=code)
    follow(client, code, secret, action="stop")
    refused = inbox.reply(tip.conversation, by=investigator, text="Nog een vraag?")
    assert refused.send_state == "failed"
    assert "Nog een vraag?" not in follow(client, code, secret).content.decode()
    assert Entry.objects.filter(direction="in").count() == 1


# Anonymity plumbing -------------------------------------------------------------------------------


def test_the_access_log_format_names_no_client():
    for field in ("%(h)s", "%(a)s", "%(r)s", "%(q)s", "%(f)s", "%(u)s", "}i", "}e"):
        assert field not in ACCESS_LOG_FORMAT
    assert "%(U)s" in ACCESS_LOG_FORMAT and "%(s)s" in ACCESS_LOG_FORMAT


def error_report(request) -> str:
    """Django's report (text and HTML) of an error while serving ``request``."""
    from django.views.debug import ExceptionReporter

    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        reporter = ExceptionReporter(request, type(error), error, error.__traceback__)
        return reporter.get_traceback_text() + reporter.get_traceback_html()


def test_error_reports_scrub_the_client_address_user_agent_and_cookies(rf):
    # Built at run time: the report quotes this test's source lines, which must not match.
    values = ["198.51.100." + "77", "203.0.113." + "99", "203.0.113." + "98"]
    values += ["Tipster" + "Browser/9.9", "abcdef" * 2]
    request = rf.post(
        "/tips/new",
        REMOTE_ADDR=values[0],
        HTTP_X_FORWARDED_FOR=values[1],
        HTTP_X_REAL_IP=values[2],
        HTTP_USER_AGENT=values[3],
        HTTP_COOKIE=f"csrftoken={values[4]}",
    )
    text = error_report(request)
    for value in values:
        assert value not in text
    assert "boom" in text and "/tips/new" in text  # the report itself is all there
