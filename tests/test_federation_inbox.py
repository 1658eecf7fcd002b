"""The inbox under hostile and broken input, through the real endpoints: huge or deeply nested
JSON, wrong content types, replays, actors that do not match their key, Announce loops, blocked
servers, keys that cannot be fetched, and plain garbage. Every refusal has a clear status and is
counted per reason (``Rejection``); nothing ever crashes the inbox or is stored unverified."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from copps.federation import actions as fediverse
from copps.federation import httpsig, outgoing
from copps.federation.models import (
    Follower,
    InboxItem,
    Reaction,
    Rejection,
    RemoteActor,
    SeenActivity,
)
from copps.newsroom import actions
from tests.support_fediverse import (
    FakeServer,
    RemoteUser,
    cached_key_pair,
    fast_keys,
    signed_post,
    stranger_key_pair,
)

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = []


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch):
    fast_keys(monkeypatch)


@pytest.fixture
def alice(social):
    return social.user("alice")


@pytest.fixture
def posted(news, make_message, communicator, editor):
    message = make_message(communicator, channels=["web", "fediverse"])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def counted(reason: str) -> int:
    return sum(Rejection.objects.filter(reason=reason).values_list("count", flat=True))


def refused(response, status: int, reason: str, times: int = 1) -> None:
    """The inbox answered ``status`` naming ``reason``, and counted it."""
    assert response.status_code == status, response.content
    assert response.json()["reason"] == reason
    assert counted(reason) == times


def follow(user: RemoteUser, n: int = 1, target: str = "news") -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{user.id}#follows/{n}",
        "type": "Follow",
        "actor": user.id,
        "object": f"{SITE}/@{target}",
    }


def like(user: RemoteUser, note: str, n: int = 1) -> dict:
    return {"id": f"{user.id}#likes/{n}", "type": "Like", "actor": user.id, "object": note}


def note_of(message) -> str:
    return f"{SITE}/@news/posts/{message.pk}"


# Size and shape ----------------------------------------------------------------------------


def test_it_refuses_a_body_over_the_size_limit_with_413(client, news, alice, settings):
    settings.COPPS_AP_MAX_BODY_BYTES = 2048
    activity = follow(alice) | {"padding": "x" * 4000}
    refused(signed_post(client, "/inbox", activity, alice), 413, "too_large")
    assert not SeenActivity.objects.exists()
    assert alice.server.gets == []  # refused before any key was fetched


def test_it_refuses_a_content_length_that_claims_too_much_without_reading(
    client, news, alice, settings
):
    settings.COPPS_AP_MAX_BODY_BYTES = 2048
    response = signed_post(
        client, "/inbox", follow(alice), alice, extra={"CONTENT_LENGTH": "999999999"}
    )
    refused(response, 413, "too_large")
    refused(
        signed_post(client, "/inbox", follow(alice), alice, extra={"CONTENT_LENGTH": "-1x"}),
        400,
        "malformed",
    )


def test_a_content_length_shorter_than_the_body_never_lets_the_rest_in(
    client, news, alice, settings
):
    """The server reads no more than Content-Length (WSGI bounds the stream): the rest of an
    oversized body is never seen, and what was read no longer matches the signed digest."""
    settings.COPPS_AP_MAX_BODY_BYTES = 2048
    activity = follow(alice) | {"padding": "x" * 10_000}
    response = signed_post(client, "/inbox", activity, alice, extra={"CONTENT_LENGTH": "100"})
    refused(response, 401, "signature_digest")
    assert not Follower.objects.exists()


def test_ten_thousand_levels_of_nesting_are_a_400_not_a_crash(client, news, alice):
    body = b'{"type": "Create", "object": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    refused(signed_post(client, "/inbox", {}, alice, body=body), 400, "malformed")
    objects = b'{"type": "Create", "object": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001
    refused(signed_post(client, "/inbox", {}, alice, body=objects), 400, "malformed", times=2)
    assert alice.server.gets == []


def test_nesting_past_the_configured_depth_is_refused(client, news, alice, settings):
    settings.COPPS_AP_MAX_DEPTH = 5
    activity = like(alice, "https://x.example/n") | {"x": [[[[[["deep"]]]]]]}
    refused(signed_post(client, "/inbox", activity, alice), 400, "too_deep")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'["Follow"]', b'"Follow"', b"42", b"null", b'{"id": "x"}', b'{"type": 7}'],
    ids=["invalid", "array", "string", "number", "null", "no-type", "type-not-text"],
)
def test_a_body_that_is_not_an_activity_is_a_400(client, news, alice, body):
    refused(signed_post(client, "/inbox", {}, alice, body=body), 400, "malformed")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data; boundary=x"],
    ids=["text", "form", "missing", "multipart"],
)
def test_a_wrong_content_type_is_a_415(client, news, alice, content_type):
    response = signed_post(client, "/inbox", follow(alice), alice, content_type=content_type)
    refused(response, 415, "content_type")
    assert not Follower.objects.exists()


def test_the_json_ld_content_type_with_its_profile_is_accepted(client, news, alice):
    content_type = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    response = signed_post(client, "/inbox", follow(alice), alice, content_type=content_type)
    assert response.status_code == 202, response.content
    assert Follower.objects.count() == 1


# Time and replays ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(hours=1)], ids=["old", "future"])
def test_a_request_dated_outside_the_window_is_a_401(client, news, alice, offset):
    response = signed_post(client, "/inbox", follow(alice), alice, now=timezone.now() + offset)
    refused(response, 401, "signature_date")
    assert not Follower.objects.exists()
    assert alice.server.gets == []


def test_a_replayed_request_is_acknowledged_without_acting_twice(client, news, alice):
    moment = timezone.now()
    first = signed_post(client, "/@news/inbox", follow(alice), alice, now=moment)
    assert first.status_code == 202
    assert outgoing.send_due() == 1
    replay = signed_post(client, "/@news/inbox", follow(alice), alice, now=moment)
    assert replay.status_code == 202
    outgoing.send_due(now=timezone.now() + timedelta(hours=1))
    assert len(alice.server.of_type("Accept")) == 1  # one Accept, not one per copy
    assert SeenActivity.objects.count() == 1
    assert Follower.objects.count() == 1


def test_an_unsigned_request_is_a_401(client, news, alice):
    response = client.post("/inbox", follow(alice), content_type="application/activity+json")
    refused(response, 401, "signature_missing")


# Who is speaking --------------------------------------------------------------------------


def test_an_activity_whose_actor_is_not_the_keys_owner_is_a_401(client, news, alice, social):
    bob = social.user("bob")
    activity = follow(bob)  # claims to be bob, signed by alice
    refused(signed_post(client, "/inbox", activity, alice), 401, "actor_mismatch")
    assert not Follower.objects.exists()


def test_a_post_attributed_to_someone_else_than_the_signer_is_refused(
    client, posted, alice, social
):
    bob = social.user("bob")
    create = {
        "id": f"{alice.id}/statuses/1/activity",
        "type": "Create",
        "actor": alice.id,
        "object": {
            "id": f"{bob.id}/statuses/1",
            "type": "Note",
            "attributedTo": bob.id,
            "inReplyTo": note_of(posted),
            "content": "I am bob, honestly",
        },
    }
    refused(signed_post(client, "/inbox", create, alice), 401, "actor_mismatch")
    assert not InboxItem.objects.exists()
    assert not SeenActivity.objects.exists()  # a refusal leaves no trace that blocks a retry


def test_an_activity_id_on_another_server_is_a_400(client, news, alice):
    activity = follow(alice) | {"id": "https://other.example/follows/1"}
    refused(signed_post(client, "/inbox", activity, alice), 400, "foreign_id")
    refused(signed_post(client, "/inbox", follow(alice) | {"id": ["x"]}, alice), 400, "malformed")


def test_a_reply_whose_object_lives_on_another_server_is_refused(client, posted, alice):
    create = {
        "id": f"{alice.id}/statuses/2/activity",
        "type": "Create",
        "actor": alice.id,
        "object": {
            "id": "https://other.example/statuses/2",
            "type": "Note",
            "attributedTo": alice.id,
            "inReplyTo": note_of(posted),
            "content": "hi",
        },
    }
    refused(signed_post(client, "/inbox", create, alice), 422, "foreign_id")


@pytest.mark.parametrize("inner", ["Announce", "Like", "Create"])
def test_an_announce_of_an_activity_is_a_loop_and_refused(client, posted, alice, inner):
    boost = {
        "id": f"{alice.id}/statuses/9/activity",
        "type": "Announce",
        "actor": alice.id,
        "object": {
            "id": f"{alice.id}/statuses/8/activity",
            "type": inner,
            "actor": alice.id,
            "object": {"id": f"{alice.id}/statuses/7/activity", "type": "Announce"},
        },
    }
    refused(signed_post(client, "/inbox", boost, alice), 422, "announce_loop")
    assert not Reaction.objects.exists()


# Blocked servers ----------------------------------------------------------------------------


def test_a_blocked_server_gets_403_and_its_key_is_never_fetched(client, news, admin_user):
    relay = FakeServer("relay.blocked.example")
    try:
        fediverse.block_domain(by=admin_user, domain="blocked.example")
        mallory = relay.user("mallory")
        refused(signed_post(client, "/inbox", follow(mallory), mallory), 403, "blocked")
        assert relay.gets == []
        assert not RemoteActor.objects.exists()
    finally:
        relay.close()


def test_a_silenced_server_may_follow_but_its_replies_are_dropped(
    client, posted, alice, admin_user
):
    fediverse.block_domain(by=admin_user, domain="social.example", severity="silence")
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    reply = {
        "id": f"{alice.id}/statuses/3/activity",
        "type": "Create",
        "actor": alice.id,
        "object": {
            "id": f"{alice.id}/statuses/3",
            "type": "Note",
            "attributedTo": alice.id,
            "inReplyTo": note_of(posted),
            "content": "spam",
        },
    }
    assert signed_post(client, "/inbox", reply, alice).status_code == 202
    assert not InboxItem.objects.exists()


# Keys that cannot be had -------------------------------------------------------------------


def _answer(status: int, **kwargs):
    return lambda request: httpx.Response(status, **kwargs)


def _raise(exc: Exception):
    def handler(request):
        raise exc

    return handler


@pytest.mark.parametrize(
    "handler",
    [
        _answer(500),
        _answer(404),
        _answer(200, text="<html>not json</html>", headers={"Content-Type": "text/html"}),
        _answer(200, json=["not", "an", "object"]),
        _raise(httpx.ReadTimeout("slow")),
        _raise(httpx.ConnectError("refused")),
    ],
    ids=["500", "404", "html", "json-array", "timeout", "down"],
)
def test_a_key_that_cannot_be_fetched_is_a_401(client, news, alice, handler):
    alice.server.routes["/users/alice"] = handler
    refused(signed_post(client, "/inbox", follow(alice), alice), 401, "key_unavailable")
    assert not Follower.objects.exists()


def test_an_actor_document_naming_another_origin_is_a_401(client, news, alice):
    lying = alice.document() | {"id": "https://evil.example/users/alice"}
    alice.server.routes["/users/alice"] = _answer(200, json=lying)
    refused(signed_post(client, "/inbox", follow(alice), alice), 401, "key_unavailable")
    assert not RemoteActor.objects.exists()


def test_an_actor_document_without_the_signing_key_is_a_401(client, news, alice):
    doc = alice.document()
    doc["publicKey"] = doc["publicKey"] | {"id": f"{alice.id}#other-key"}
    alice.server.routes["/users/alice"] = _answer(200, json=doc)
    refused(signed_post(client, "/inbox", follow(alice), alice), 401, "key_unavailable")


@pytest.mark.parametrize("host", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "[::1]", "localhost"])
def test_a_key_on_a_private_address_is_never_fetched(client, news, host):
    server = FakeServer(host.strip("[]"))
    server.close()  # nothing answers in-process: the real address check decides
    intruder = RemoteUser(server, "x", *cached_key_pair())
    intruder_id = f"https://{host}/users/x"
    activity = {"id": f"{intruder_id}#f", "type": "Follow", "actor": intruder_id, "object": ""}
    body = json.dumps(activity).encode()
    headers = httpsig.sign_request(
        "POST",
        f"{SITE}/inbox",
        body=body,
        key_id=f"{intruder_id}#main-key",
        private_key_pem=intruder.private_pem,
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    response = client.post("/inbox", data=body, content_type="application/activity+json", **meta)
    refused(response, 401, "key_unavailable")
    assert not RemoteActor.objects.exists()


@pytest.mark.parametrize(
    "key_id",
    [
        "file:///etc/passwd#main-key",
        "javascript:alert(1)",
        "https://user:secret@social.example/users/alice#main-key",
        "acct:alice@social.example",
        "https://[social.example/users/alice#main-key",
        "https://social.example:99999/users/alice#main-key",
        "https://social.example/" + "a" * 600 + "#main-key",
    ],
    ids=["file", "javascript", "userinfo", "acct", "bad-ipv6", "bad-port", "too-long"],
)
def test_a_key_id_that_is_not_a_plain_web_address_is_never_fetched(client, news, alice, key_id):
    body = json.dumps(follow(alice)).encode()
    headers = httpsig.sign_request(
        "POST", f"{SITE}/inbox", body=body, key_id=key_id, private_key_pem=alice.private_pem
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    response = client.post("/inbox", data=body, content_type="application/activity+json", **meta)
    refused(response, 401, "key_unavailable")
    assert alice.server.gets == []


@pytest.mark.parametrize("via", ["upload", "redirect"])
def test_a_document_elsewhere_on_the_server_cannot_speak_for_an_account(client, posted, alice, via):
    """An uploaded file or an open redirect on alice's server serves a document claiming to be
    alice with the attacker's key: the account is fetched again from its own id, whose real
    document does not publish that key."""
    assert signed_post(client, "/inbox", like(alice, note_of(posted)), alice).status_code == 202
    genuine = RemoteActor.objects.get(uri=alice.id).public_key_pem
    attacker_private, attacker_public = stranger_key_pair()
    key_id = f"https://social.example/media/{via}.json#main-key"
    forged = alice.document()
    forged["publicKey"] = {"id": key_id, "owner": alice.id, "publicKeyPem": attacker_public}
    if via == "upload":
        alice.server.routes["/media/upload.json"] = _answer(200, json=forged)
    else:
        evil = FakeServer("evil.example")
        evil.routes["/doc"] = _answer(200, json=forged)
        alice.server.routes["/media/redirect.json"] = _answer(
            302, headers={"Location": "https://evil.example/doc"}
        )
    body = json.dumps(
        {"id": f"{alice.id}#delete", "type": "Delete", "actor": alice.id, "object": alice.id}
    ).encode()
    headers = httpsig.sign_request(
        "POST", f"{SITE}/inbox", body=body, key_id=key_id, private_key_pem=attacker_private
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    try:
        response = client.post(
            "/inbox", data=body, content_type="application/activity+json", **meta
        )
    finally:
        if via == "redirect":
            evil.close()
    refused(response, 401, "key_unavailable")
    assert Reaction.objects.count() == 1  # alice's like was not deleted in her name
    assert RemoteActor.objects.get(uri=alice.id).public_key_pem == genuine


def test_a_key_rotated_remotely_is_fetched_again_once(client, posted, alice):
    assert signed_post(client, "/inbox", like(alice, note_of(posted), 1), alice).status_code == 202
    assert len(alice.server.gets) == 1
    alice.rotate_key()
    response = signed_post(client, "/inbox", like(alice, note_of(posted), 2), alice)
    assert response.status_code == 202, response.content
    assert len(alice.server.gets) == 2  # the cached key failed; one fetch found the new one
    assert RemoteActor.objects.get().public_key_pem == alice.public_pem


def test_a_signature_that_fails_even_with_a_fresh_key_is_a_401(client, posted, alice):
    assert signed_post(client, "/inbox", like(alice, note_of(posted), 1), alice).status_code == 202
    response = signed_post(
        client, "/inbox", like(alice, note_of(posted), 2), alice, key_pem=stranger_key_pair()[0]
    )
    refused(response, 401, "signature_bad_signature")
    assert Reaction.objects.count() == 1


# What the inbox does not handle -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["EmojiReact", "Move", "Add", "Block", "Question", "Bite"])
def test_unknown_activity_types_are_acknowledged_and_ignored(client, news, alice, kind):
    activity = {"id": f"{alice.id}#{kind}/1", "type": kind, "actor": alice.id, "object": "x"}
    assert signed_post(client, "/inbox", activity, alice).status_code == 202
    assert not Follower.objects.exists() and not InboxItem.objects.exists()
    assert not Rejection.objects.exists()


def test_a_follow_of_an_account_that_does_not_exist_is_a_404(client, news, alice):
    refused(
        signed_post(client, "/inbox", follow(alice, target="nobody"), alice),
        404,
        "no_such_actor",
    )
    assert signed_post(client, "/@nobody/inbox", follow(alice, 2), alice).status_code == 404
    assert not Follower.objects.exists()


def test_a_follow_of_a_disabled_account_is_a_404(client, news, alice, admin_user):
    fediverse.set_enabled(news, False, by=admin_user)
    refused(signed_post(client, "/inbox", follow(alice), alice), 404, "no_such_actor")


@pytest.mark.parametrize("path", ["/inbox", "/@news/inbox"])
def test_get_on_an_inbox_is_a_405(client, news, path):
    assert client.get(path).status_code == 405
    assert client.put(path, b"{}", content_type="application/activity+json").status_code == 405


# Garbage ------------------------------------------------------------------------------------

GARBAGE_HEADERS = [
    {"HTTP_SIGNATURE": "\u2603" * 100},
    {
        "HTTP_SIGNATURE": 'keyId="https://social.example/users/alice#main-key",signature="'
        + "A" * 20_000
        + '"'
    },
    {"HTTP_SIGNATURE": 'keyId="",algorithm="rsa-sha256",headers="",signature=""'},
    {"HTTP_SIGNATURE": "keyId=" + "x," * 5000},
    {"HTTP_SIGNATURE": 'keyId="k",headers="(request-target) host date",signature="%%%"'},
    {"HTTP_SIGNATURE": 'keyId="k",algorithm="md5",headers="date",signature="AAAA"'},
    {"HTTP_SIGNATURE": 'keyId="k",headers="' + " ".join(["date"] * 500) + '",signature="AA=="'},
    {"HTTP_SIGNATURE": 'keyId="k",created=99999999999999999999,signature="AA=="'},
    {"HTTP_SIGNATURE": "\x00\x01\x02", "HTTP_DATE": "\x00"},
    {"HTTP_AUTHORIZATION": "Signature " + "\u00ff" * 300},
    {"HTTP_AUTHORIZATION": "Bearer abc"},
    {"HTTP_SIGNATURE_INPUT": 'sig1=("@method" ' * 100, "HTTP_SIGNATURE": "sig1=:AAAA:"},
    {"HTTP_SIGNATURE_INPUT": "sig1=(" + '"x" ' * 1000 + ")", "HTTP_SIGNATURE": "sig1=:AA==:"},
    {"HTTP_SIGNATURE_INPUT": 'sig1=();created=-1;keyid="k"', "HTTP_SIGNATURE": "sig1=:AA==:"},
    {"HTTP_SIGNATURE_INPUT": "\u2603", "HTTP_SIGNATURE": "\u2603"},
    {
        "HTTP_DATE": "Mon, 99 Foo 99999 99:99:99 GMT",
        "HTTP_SIGNATURE": 'keyId="k",headers="(request-target) host date",signature="AA=="',
    },
    {
        "HTTP_DATE": "9" * 1000,
        "HTTP_SIGNATURE": 'keyId="k",headers="(request-target) host date",signature="AA=="',
    },
    {
        "HTTP_DIGEST": "SHA-256=!!!",
        "HTTP_SIGNATURE": 'keyId="k",headers="(request-target) host date digest",signature="AA=="',
    },
    {"HTTP_DIGEST": "SHA-256" * 1000},
    {"HTTP_CONTENT_DIGEST": "sha-256=:" + "A" * 100 + ":"},
    {"HTTP_HOST": "t\u00e9st\u2603.example"},
    {"HTTP_HOST": "a" * 5000},
]


@pytest.mark.parametrize("headers", GARBAGE_HEADERS, ids=range(len(GARBAGE_HEADERS)))
@pytest.mark.parametrize("path", ["/inbox", "/@news/inbox"])
def test_garbage_headers_are_refused_without_a_crash(client, news, alice, headers, path):
    body = json.dumps(follow(alice)).encode()
    response = client.post(path, data=body, content_type="application/activity+json", **headers)
    assert response.status_code in (400, 401), response.content
    assert not Follower.objects.exists()
    assert alice.server.gets == []


GARBAGE_BODIES = [
    bytes(range(256)) * 4,
    b"\xff\xfe\x00\x00" + b"\x00" * 64,  # looks like UTF-32
    b"\xef\xbb\xbf" + b'{"type": "Follow"}',  # BOM, then an object without id
    '{"type": "Follow", "id": "é"}'.encode("utf-16"),
    b'{"type": "Follow", "id": "\x00\x01"}',
    b'{"type": "Follow", "n": ' + b"9" * 10_000 + b"}",  # past Python's int digit limit
    b'{"type": "Follow", "n": 1e999999}',
    b'{"type": "Follow", "id": "\\ud800"}',  # a lone surrogate
    b"\x1f\x8b\x08\x00" + b"\x00" * 40,  # gzip magic
    b"{" * 200_000,
]


@pytest.mark.parametrize("body", GARBAGE_BODIES, ids=range(len(GARBAGE_BODIES)))
def test_signed_binary_and_broken_bodies_are_refused_without_a_crash(client, news, alice, body):
    response = signed_post(client, "/inbox", {}, alice, body=body)
    # Unreadable: 400. Readable but naming no actor (a BOM, UTF-16, odd ids): 401.
    assert response.status_code in (400, 401), response.content
    assert response.json()["reason"] in ("malformed", "actor_mismatch")
    assert not SeenActivity.objects.exists()
    assert not Follower.objects.exists()


@pytest.mark.parametrize(
    "activity",
    [
        {"type": "Follow", "object": None},
        {"type": "Follow", "object": {"id": {"id": {"id": "x"}}}},
        {"type": "Undo", "object": 12},
        {"type": "Undo", "object": [{"type": "Follow"}]},
        {"type": "Like", "object": ["a", "b"]},
        {"type": "Create", "object": "https://social.example/notes/1"},
        {"type": "Create", "object": {"type": "Note", "attributedTo": None}},
        {"type": "Update", "object": {"id": 5}},
        {"type": "Delete", "object": {"id": None}},
        {"type": "Flag", "object": 7},
        {"type": "Flag", "object": [None, {}, "x" * 5000]},
        {"type": "Accept", "object": {"id": []}},
    ],
    ids=lambda a: a["type"],
)
def test_odd_shapes_of_known_types_never_crash_the_inbox(client, news, alice, activity):
    activity = activity | {"id": f"{alice.id}#odd", "actor": alice.id}
    response = signed_post(client, "/inbox", activity, alice)
    assert response.status_code in (202, 400, 401, 404, 422), response.content


# Posts that try to take over others ---------------------------------------------------------


def reply(user: RemoteUser, message, n: int, content: str, object_id: str = "") -> dict:
    return {
        "id": f"{user.id}/statuses/{n}/activity",
        "type": "Create",
        "actor": user.id,
        "object": {
            "id": object_id or f"{user.id}/statuses/{n}",
            "type": "Note",
            "attributedTo": user.id,
            "inReplyTo": note_of(message),
            "content": content,
        },
    }


def test_a_second_create_of_an_approved_post_does_not_replace_its_text(
    client, posted, alice, admin_user
):
    assert (
        signed_post(client, "/inbox", reply(alice, posted, 1, "Goed werk"), alice).status_code
        == 202
    )
    fediverse.moderate(InboxItem.objects.get(), by=admin_user, approve=True)
    again = reply(alice, posted, 1, "something nasty")
    again["id"] = f"{alice.id}/statuses/1/activity-again"  # a new activity id: not a replay
    assert signed_post(client, "/inbox", again, alice).status_code == 202
    item = InboxItem.objects.get()
    assert item.content_html == "Goed werk" and item.state == "approved"


def test_another_account_cannot_take_over_a_held_post_with_a_create(client, posted, alice, social):
    assert (
        signed_post(client, "/inbox", reply(alice, posted, 1, "Goed werk"), alice).status_code
        == 202
    )
    mallory = social.user("mallory")
    takeover = reply(mallory, posted, 1, "mine now", object_id=f"{alice.id}/statuses/1")
    assert signed_post(client, "/inbox", takeover, mallory).status_code == 202
    item = InboxItem.objects.get()
    assert item.remote.uri == alice.id and item.content_html == "Goed werk"


def test_an_id_reused_for_something_else_is_a_409_not_a_crash(client, posted, alice):
    assert signed_post(client, "/inbox", like(alice, note_of(posted), 1), alice).status_code == 202
    SeenActivity.objects.all().delete()  # as the retention job does after COPPS_AP_SEEN_DAYS
    boost = like(alice, note_of(posted), 1) | {"type": "Announce"}  # the like's id again
    refused(signed_post(client, "/inbox", boost, alice), 409, "conflict")
    assert list(Reaction.objects.values_list("kind", flat=True)) == ["like"]


def test_an_overlong_post_url_is_dropped_not_stored(client, posted, alice):
    create = reply(alice, posted, 1, "hi")
    create["object"]["url"] = "https://social.example/" + "u" * 600
    assert signed_post(client, "/inbox", create, alice).status_code == 202
    assert InboxItem.objects.get().url == ""
    link = reply(alice, posted, 2, "hi")
    link["object"]["url"] = [{"type": "Link", "href": "https://social.example/@alice/2"}]
    assert signed_post(client, "/inbox", link, alice).status_code == 202
    assert InboxItem.objects.get(object_id=f"{alice.id}/statuses/2").url.endswith("/@alice/2")


# The two signature schemes -------------------------------------------------------------------


def test_an_rfc_9421_signed_follow_is_accepted_and_a_stale_one_refused(client, news, alice):
    stale = signed_post(
        client,
        "/inbox",
        follow(alice, 1),
        alice,
        scheme="rfc9421",
        now=timezone.now() - timedelta(hours=1),
    )
    refused(stale, 401, "signature_date")
    response = signed_post(client, "/inbox", follow(alice, 2), alice, scheme="rfc9421")
    assert response.status_code == 202, response.content
    assert Follower.objects.get().activity_id == f"{alice.id}#follows/2"


def test_a_cavage_signature_in_the_authorization_header_is_accepted(client, news, alice):
    body = json.dumps(follow(alice)).encode()
    headers = httpsig.sign_request(
        "POST", f"{SITE}/inbox", body=body, key_id=alice.key_id, private_key_pem=alice.private_pem
    )
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    response = client.post("/inbox", data=body, content_type="application/activity+json", **meta)
    assert response.status_code == 202, response.content


def test_a_body_changed_after_signing_is_a_401(client, news, alice):
    body = json.dumps(follow(alice)).encode()
    headers = httpsig.sign_request(
        "POST", f"{SITE}/inbox", body=body, key_id=alice.key_id, private_key_pem=alice.private_pem
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    tampered = body.replace(b"follows/1", b"follows/2")
    response = client.post(
        "/inbox", data=tampered, content_type="application/activity+json", **meta
    )
    refused(response, 401, "signature_digest")
    assert alice.server.gets == []


def test_a_request_signed_for_another_path_is_a_401(client, news, alice):
    response = signed_post(
        client, "/inbox", follow(alice), alice, extra={"PATH_INFO": "/@news/inbox"}
    )
    refused(response, 401, "signature_bad_signature")
    assert not Follower.objects.exists()


# Key shapes other servers use ------------------------------------------------------------------


def _signed_with_key_id(client, user: RemoteUser, key_id: str, activity: dict):
    body = json.dumps(activity).encode()
    headers = httpsig.sign_request(
        "POST", f"{SITE}/inbox", body=body, key_id=key_id, private_key_pem=user.private_pem
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    meta.pop("HTTP_CONTENT_TYPE", None)
    return client.post("/inbox", data=body, content_type="application/activity+json", **meta)


def test_a_key_url_serving_its_owners_stub_is_followed_to_the_owner(client, news, alice):
    """GoToSocial's shape: the key id is a path of its own whose document is a stub of the
    actor (with the actor's id); the actor is then fetched from that id."""
    key_id = f"{alice.id}/main-key"
    doc = alice.document()
    doc["publicKey"]["id"] = key_id
    stub = {k: doc[k] for k in ("@context", "id", "type", "publicKey", "inbox")}
    alice.server.routes["/users/alice/main-key"] = _answer(200, json=stub)
    alice.server.routes["/users/alice"] = _answer(200, json=doc)
    response = _signed_with_key_id(client, alice, key_id, follow(alice))
    assert response.status_code == 202, response.content
    assert [r.url.path for r in alice.server.gets] == ["/users/alice/main-key", "/users/alice"]
    assert RemoteActor.objects.get().key_id == key_id


def test_a_separate_key_document_names_its_owner(client, news, alice):
    key_id = f"{alice.id}/keys/1"
    key_doc = {
        "id": key_id,
        "type": "CryptographicKey",
        "owner": alice.id,
        "publicKeyPem": alice.public_pem,
    }
    doc = alice.document()
    doc["publicKey"] = {"id": key_id, "owner": alice.id, "publicKeyPem": alice.public_pem}
    alice.server.routes["/users/alice/keys/1"] = _answer(200, json=key_doc)
    alice.server.routes["/users/alice"] = _answer(200, json=doc)
    response = _signed_with_key_id(client, alice, key_id, follow(alice))
    assert response.status_code == 202, response.content


def test_a_key_document_whose_owner_is_elsewhere_is_a_401(client, news, alice):
    key_id = f"{alice.id}/keys/1"
    key_doc = {
        "id": key_id,
        "type": "CryptographicKey",
        "owner": "https://evil.example/alice",
        "publicKeyPem": alice.public_pem,
    }
    alice.server.routes["/users/alice/keys/1"] = _answer(200, json=key_doc)
    refused(_signed_with_key_id(client, alice, key_id, follow(alice)), 401, "key_unavailable")
