"""Hostile and broken input to the JSON API: always a JSON 4xx naming the problem, never a 500."""

# ruff: noqa: F811 -- the fixtures imported from test_api are redefined as arguments

import json

import pytest
from django.test import Client

from copps.accounts.models import ApiToken
from copps.accounts.roles import Role
from copps.newsroom import actions
from copps.newsroom.models import Message
from tests.test_api import ApiClient, api, create, url  # noqa: F401 (fixtures, used as arguments)

VALID = {"title": "Titel", "body": "Tekst", "language": "nl"}


def raw_post(client: ApiClient, path: str, body: bytes | str, content_type="application/json"):
    return client.client.generic("POST", path, body, content_type=content_type)


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def author(api, communicator):
    return api(communicator)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"title=x&body=y", b"\xff\xfe\x00garbage", b'{"title": "x",}', b"NaN"],
)
def test_a_body_that_is_not_json_is_a_400(author, body):
    data = assert_json_error(raw_post(author, "/api/v1/messages", body), 400)
    assert "JSON" in data["detail"]
    assert "body" in data["errors"]
    assert not Message.objects.exists()


@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "42", "true", "null", "{}"])
def test_json_that_is_not_a_message_object_is_a_422(author, body):
    data = assert_json_error(raw_post(author, "/api/v1/messages", body), 422)
    assert data["errors"]
    assert not Message.objects.exists()


def test_an_empty_body_is_a_422_naming_the_required_fields(author):
    data = assert_json_error(raw_post(author, "/api/v1/messages", b""), 422)
    assert data["errors"]


def test_a_body_over_the_upload_limit_is_a_413(author, settings):
    payload = json.dumps({**VALID, "body": "x" * (3 * 1024 * 1024)})
    assert len(payload) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    data = assert_json_error(raw_post(author, "/api/v1/messages", payload), 413)
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in data["detail"]
    assert not Message.objects.exists()


def test_an_unknown_language_is_a_422_naming_the_field(author):
    data = assert_json_error(author.post("/api/v1/messages", {**VALID, "language": "xx"}), 422)
    assert "language" in data["errors"]
    nested = author.post(
        "/api/v1/messages", {**VALID, "versions": [{"language": "xx", "title": "t", "body": "b"}]}
    )
    assert "versions.0.language" in assert_json_error(nested, 422)["errors"]


def test_a_title_of_ten_thousand_characters_is_a_422(author):
    data = assert_json_error(author.post("/api/v1/messages", {**VALID, "title": "T" * 10_000}), 422)
    assert "title" in data["errors"]
    assert not Message.objects.exists()


def test_a_body_over_the_text_limit_is_a_422(author, settings):
    body = "x" * (settings.COPPS_MAX_BODY_CHARS + 1)
    data = assert_json_error(author.post("/api/v1/messages", {**VALID, "body": body}), 422)
    assert "body" in data["errors"]


def test_nulls_for_required_fields_are_a_422_per_field(author):
    data = assert_json_error(
        author.post("/api/v1/messages", {"title": None, "body": None, "language": None}), 422
    )
    assert {"title", "body", "language"} <= set(data["errors"])


def test_nulls_for_optional_fields_mean_the_defaults(author):
    response = author.post(
        "/api/v1/messages",
        {
            **VALID,
            "teaser": None,
            "kind": None,
            "channels": None,
            "audiences": None,
            "area": None,
            "is_personal": None,
            "signature": None,
            "publish_at": None,
            "versions": None,
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "news"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": 123},
        {"title": ["a"]},
        {"body": {"x": 1}},
        {"channels": "x"},
        {"channels": ["telepathy"]},
        {"kind": "gossip"},
        {"is_personal": "yes"},
        {"publish_at": "tomorrow"},
        {"publish_at": "0001-01-01T00:00:00+05:00"},
        {"audiences": [{"slug": "a"}]},
        {"area": "not a slug!"},
        {"versions": {"language": "fr"}},
        {"versions": [{"language": "fr"}]},
        {"unexpected": 1},
        {"langauge": "nl"},
    ],
)
def test_wrong_types_and_unknown_fields_are_a_422_naming_the_field(author, fields):
    data = assert_json_error(author.post("/api/v1/messages", {**VALID, **fields}), 422)
    assert data["errors"]
    assert set(data["errors"]) & {
        *fields,
        *(f"{k}.0" for k in fields),
        "versions.0.title",
        "versions",
    }
    assert not Message.objects.exists()


def test_the_same_language_twice_is_a_422(author):
    response = author.post(
        "/api/v1/messages", {**VALID, "versions": [{"language": "nl", "title": "t", "body": "b"}]}
    )
    assert "versions" in assert_json_error(response, 422)["errors"]


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
def test_unstorable_characters_are_a_422_not_a_database_error(author, text):
    raw = json.dumps({**VALID, "title": text})  # ensure_ascii keeps the escapes valid JSON
    data = assert_json_error(raw_post(author, "/api/v1/messages", raw), 422)
    assert "title" in data["errors"]


def test_whitespace_only_text_is_a_422(author):
    data = assert_json_error(author.post("/api/v1/messages", {**VALID, "title": "   "}), 422)
    assert "nl.title" in data["errors"]


def test_script_tags_are_stored_as_written_but_rendered_sanitised(
    api, communicator, editor, client
):
    body = (
        'Hallo <script>alert("x")</script> <img src=x onerror=alert(1)> [link](javascript:alert(2))'
    )
    title = "<script>alert('t')</script> Titel"
    created = api(communicator).post("/api/v1/messages", {**VALID, "title": title, "body": body})
    assert created.status_code == 201
    version = created.json()["versions"][0]
    assert version["body"] == body  # stored unchanged: an editor sees exactly what was sent
    assert "<script" not in version["body_html"]
    assert "onerror" not in version["body_html"] and "javascript:" not in version["body_html"]

    message = Message.objects.get(pk=created.json()["id"])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    page = client.get(message.permalink_path()).content.decode()
    assert 'alert("x")' not in page and "onerror" not in page and "javascript:alert" not in page
    assert "<script>alert('t')" not in page
    assert "&lt;script&gt;" in page  # the title is shown, escaped


def test_a_wrong_method_is_a_json_405_with_allow(author, create, communicator):
    created = create(communicator)
    response = author.request("PUT", url(created["id"]))
    data = assert_json_error(response, 405)
    assert "PATCH" in response["Allow"] and "GET" in response["Allow"]
    assert data["detail"]
    assert_json_error(author.request("DELETE", "/api/v1/messages"), 405)
    assert_json_error(author.get(url(created["id"], "approve")), 405)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/messages/999999",
        "/api/v1/messages/999999/submit",
        "/api/v1/messages/abc",
        "/api/v1/messages/-1",
        "/api/v1/nothing-here",
        "/api/v1/",
        "/api/v2/messages",
        "/api/v1/docs",
    ],
)
def test_unknown_ids_and_paths_are_a_json_404(author, path):
    response = author.post(path) if path.endswith("submit") else author.get(path)
    assert_json_error(response, 404)


def test_an_id_beyond_any_database_is_a_422_not_a_crash(author):
    assert_json_error(author.get("/api/v1/messages/99999999999999999999999"), 422)


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page": "x"},
        {"page_size": "1000"},
        {"page": "1" * 30},
        {"kind": "x"},
        {"language": "xx"},
    ],
)
def test_bad_list_parameters_are_a_422(author, query):
    data = assert_json_error(author.get("/api/v1/messages", query), 422)
    assert set(data["errors"]) == set(query)


@pytest.mark.parametrize("key", ["k" * 81, "with space", "ünïcode"])
def test_a_bad_idempotency_key_is_a_422(author, key):
    response = author.post("/api/v1/messages", VALID, headers={"Idempotency-Key": key})
    data = assert_json_error(response, 422)
    assert "Idempotency-Key" in data["errors"]


def test_another_users_draft_cannot_be_edited_or_submitted(api, create, communicator, make_user):
    created = create(communicator)
    stranger = api(make_user(Role.COMMUNICATOR))
    assert_json_error(stranger.patch(url(created["id"]), {"language": "nl", "title": "x"}), 403)
    assert_json_error(stranger.post(url(created["id"], "submit")), 403)
    assert_json_error(stranger.post(url(created["id"], "withdraw")), 403)
    assert Message.objects.get(pk=created["id"]).state == "draft"


def test_an_officer_cannot_write_for_another_area(api, make_user, other_area):
    officer = api(make_user(Role.OFFICER))
    assert_json_error(officer.post("/api/v1/messages", {**VALID, "area": other_area.slug}), 403)
    assert_json_error(officer.post("/api/v1/messages", VALID), 403)
    assert officer.post("/api/v1/messages", {**VALID, "area": "noord"}).status_code == 201


def test_workflow_actions_in_the_wrong_state_are_a_409(api, create, communicator, editor):
    created = create(communicator)
    ed = api(editor)
    for action, payload in [
        ("approve", None),
        ("reject", {"reason": "r"}),
        ("publish", None),
        ("unschedule", None),
        ("schedule", {"publish_at": "2099-01-01T00:00:00Z"}),
        ("retract", {"reason": "r"}),
        ("correct", {"note": "n", "language": "nl", "body": "b"}),
    ]:
        response = ed.post(url(created["id"], action), payload)
        data = assert_json_error(response, 409)
        assert "draft" in data["detail"], action


def test_a_token_sent_with_a_session_and_without_csrf_still_works(communicator):
    from tests.conftest import PASSWORD

    _token, raw = ApiToken.issue(communicator)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    client.login(username=communicator.username, password=PASSWORD)
    response = client.post("/api/v1/messages", VALID, content_type="application/json")
    assert response.status_code == 201
