"""``copps token``: the last line of ``create`` is the token (a contract scripts rely on)."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from copps.accounts.models import ApiToken
from copps.audit.models import AuditRecord


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue().rstrip("\n").splitlines()


def test_the_last_line_of_create_is_a_token_that_authenticates(communicator):
    lines = run("create", "alice")
    raw = lines[-1]
    assert raw.startswith(ApiToken.PREFIX) and " " not in raw
    assert ApiToken.authenticate(raw) == communicator
    assert len(lines) >= 2  # a human explanation comes before it
    record = AuditRecord.objects.get(action="accounts.token_issue")
    assert record.actor == "cli" and record.data["user"] == "alice"


def test_the_token_works_as_bearer_against_the_api(communicator):
    raw = run("create", "alice")[-1]
    client = Client()
    assert client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert (
        client.get("/api/v1/messages", HTTP_AUTHORIZATION="Bearer copps_wrong").status_code == 401
    )


def test_create_takes_a_name_and_days(communicator):
    raw = run("create", "alice", "--name", "backup job", "--days", "7")[-1]
    token = ApiToken.objects.get(digest=ApiToken.hash(raw))
    assert token.name == "backup job"
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_create_without_days_never_expires(communicator):
    raw = run("create", "alice")[-1]
    assert ApiToken.objects.get(digest=ApiToken.hash(raw)).expires_at is None


def test_revoke_revokes_every_token_of_the_user(communicator, editor):
    first = run("create", "alice")[-1]
    second = run("create", "alice")[-1]
    editors = run("create", "bob")[-1]
    lines = run("revoke", "alice")
    assert "2" in lines[-1]
    assert ApiToken.authenticate(first) is None and ApiToken.authenticate(second) is None
    assert ApiToken.authenticate(editors) == editor
    assert AuditRecord.objects.get(action="accounts.token_revoke_all").data == {"revoked": 2}


def test_an_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("create", "ghost")


def test_an_inactive_user_gets_no_token(communicator):
    communicator.is_active = False
    communicator.save()
    with pytest.raises(CommandError):
        run("create", "alice")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_impossible_days_are_refused(communicator, days):
    with pytest.raises(CommandError):
        run("create", "alice", "--days", days)
