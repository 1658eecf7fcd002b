"""Sign-in: password step, throttling, the TOTP second step, 2FA enforcement, safe redirects."""

import hashlib
import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter

from copps.accounts import actions, totp
from copps.accounts.models import LoginFailure, TOTPDevice
from copps.accounts.roles import Role
from copps.accounts.views import PENDING_KEY, home_url
from copps.audit.models import AuditRecord
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"


def make_device(user) -> TOTPDevice:
    """A confirmed device whose codes have never been used (as after setting up yesterday)."""
    return TOTPDevice.objects.create(user=user, secret=totp.new_secret(), confirmed=True)


def post_login(client, username, password=PASSWORD, addr="10.1.1.1", **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=addr
    )


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


# Password step ---------------------------------------------------------------------------------


def test_the_login_page_has_labelled_fields_and_a_sign_in_button(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username"' in html and '<label for="id_password"' in html
    assert 'autocomplete="current-password"' in html
    assert "Sign in" in html


def test_it_signs_in_with_the_right_password_and_lands_on_the_console(client, communicator):
    response = post_login(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == home_url() == reverse("console:home")
    assert signed_in_user_id(client) == str(communicator.pk)
    assert AuditRecord.objects.filter(action="accounts.login", actor="alice").exists()


def test_it_refuses_a_wrong_password_with_a_form_error(client, communicator):
    response = post_login(client, "alice", "wrong password entirely")
    assert response.status_code == 200
    assert "The username or password is not right." in response.content.decode()
    assert signed_in_user_id(client) is None


def test_it_refuses_an_unknown_user_the_same_way(client, db):
    response = post_login(client, "nobody", "whatever it is")
    assert response.status_code == 200
    assert "The username or password is not right." in response.content.decode()


def test_it_refuses_an_inactive_user(client, communicator):
    communicator.is_active = False
    communicator.save()
    response = post_login(client, "alice")
    assert signed_in_user_id(client) is None
    assert "not right" in response.content.decode()


def test_it_answers_an_empty_form_with_field_errors_not_a_crash(client, db):
    response = client.post(LOGIN, {})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()


def test_it_answers_405_to_other_methods_on_the_login_page(client, db):
    assert client.put(LOGIN).status_code == 405


# Redirects after sign-in -----------------------------------------------------------------------


def test_it_follows_a_same_site_next(client, communicator):
    response = post_login(client, "alice", next="/console/messages/?state=draft")
    assert response["Location"] == "/console/messages/?state=draft"


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_it_refuses_an_open_redirect_in_next(client, communicator, evil):
    response = post_login(client, "alice", next=evil)
    assert response.status_code == 302
    assert response["Location"] == home_url()


@pytest.mark.parametrize("odd", ["console", "%ff%fe", "accounts:logout", "..", "?x=1"])
def test_a_next_that_is_not_a_path_is_ignored_not_a_crash(client, communicator, odd):
    # redirect() would take a bare word for a URL name and crash (500) reversing it.
    response = post_login(client, "alice", next=odd)
    assert response.status_code == 302
    assert response["Location"] == home_url()
    client.logout()
    client.force_login(communicator)
    response = client.get(LOGIN + "?next=" + odd)
    assert response.status_code == 302 and response["Location"] == home_url()


def test_a_next_that_is_not_a_path_is_ignored_after_the_code_step(client, editor):
    device = make_device(editor)
    post_login(client, "bob", next="console")
    response = client.post(CODE, {"code": totp.code_for(device.secret)})
    assert response.status_code == 302 and response["Location"] == home_url()


def test_the_next_from_the_query_string_survives_the_login_form(client, communicator):
    html = client.get(LOGIN + "?next=/console/messages/").content.decode()
    assert 'name="next" value="/console/messages/"' in html
    assert "evil.example" not in client.get(LOGIN + "?next=https://evil.example/").content.decode()


# Log-out ---------------------------------------------------------------------------------------


def test_logging_out_needs_post(client, communicator):
    client.force_login(communicator)
    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_user_id(client) == str(communicator.pk)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in_user_id(client) is None


# Throttling ------------------------------------------------------------------------------------

throttle = override_settings(COPPS_LOGIN_MAX_FAILURES=3, COPPS_LOGIN_WINDOW_SECONDS=600)


@throttle
def test_it_locks_an_account_after_too_many_failures_from_any_address(client, communicator):
    for i in range(3):
        post_login(client, "alice", "wrong guess", addr=f"10.0.0.{i}")
    response = post_login(client, "alice", addr="10.9.9.9")  # right password, fresh address
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert signed_in_user_id(client) is None


@throttle
def test_the_account_lock_ignores_the_case_of_the_username(client, communicator):
    for name in ("alice", "ALICE", "Alice"):
        post_login(client, name, "wrong guess", addr="10.0.0.1")
    assert post_login(client, "alice", addr="10.0.0.2").status_code == 429


@throttle
def test_it_locks_a_client_address_guessing_at_many_accounts(client, make_user):
    make_user(Role.COMMUNICATOR, "victim")
    for i in range(3):
        post_login(client, f"someone-{i}", "wrong guess", addr="192.0.2.7")
    assert post_login(client, "victim", addr="192.0.2.7").status_code == 429
    # Another client may still sign in to that account.
    assert post_login(client, "victim", addr="192.0.2.8").status_code == 302


@throttle
def test_a_locked_attempt_does_not_look_at_the_password(client, communicator):
    for _ in range(3):
        post_login(client, "alice", "wrong guess")
    with mock.patch("copps.accounts.views.authenticate") as authenticate:
        response = post_login(client, "alice")
    assert response.status_code == 429
    authenticate.assert_not_called()


@throttle
def test_x_forwarded_for_does_not_buy_fresh_attempts(client, make_user):
    make_user(Role.COMMUNICATOR, "victim")
    for i in range(3):
        client.post(
            LOGIN,
            {"username": f"someone-{i}", "password": "x"},
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    response = client.post(
        LOGIN,
        {"username": "victim", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.7",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429


@throttle
def test_the_lock_lifts_when_the_failures_leave_the_window(client, communicator):
    for _ in range(3):
        post_login(client, "alice", "wrong guess")
    assert post_login(client, "alice").status_code == 429
    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=601))
    assert post_login(client, "alice").status_code == 302


@throttle
def test_a_successful_sign_in_clears_the_account_failures_but_not_the_address(client, communicator):
    post_login(client, "alice", "wrong guess", addr="10.0.0.1")
    post_login(client, "alice", "wrong guess", addr="10.0.0.1")
    assert post_login(client, "alice", addr="10.0.0.1").status_code == 302
    keys = actions.LoginKeys.for_attempt("alice", "10.0.0.1")
    assert not LoginFailure.objects.filter(key=keys.user).exists()
    assert LoginFailure.objects.filter(key=keys.ip).count() == 2
    # Two more failures on the account do not lock it: the count started again.
    client.post("/accounts/logout/")
    post_login(client, "alice", "wrong guess", addr="10.0.0.2")
    post_login(client, "alice", "wrong guess", addr="10.0.0.3")
    assert post_login(client, "alice", addr="10.0.0.4").status_code == 302


def test_failures_are_stored_as_keyed_hashes_only(client, communicator):
    post_login(client, "alice", "wrong guess", addr="198.51.100.23")
    keys = list(LoginFailure.objects.values_list("key", flat=True))
    assert len(keys) == 2
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{64}", key)
    expected = actions.LoginKeys.for_attempt("alice", "198.51.100.23")
    assert set(keys) == {expected.user, expected.ip}
    # Keyed with SECRET_KEY: a plain SHA-256 of the username does not match.
    assert hashlib.sha256(b"user:alice").hexdigest() not in keys


@override_settings(COPPS_LOGIN_MAX_FAILURES=5)
def test_the_limit_comes_from_the_settings(client, communicator):
    for _ in range(4):
        post_login(client, "alice", "wrong guess")
    assert post_login(client, "alice").status_code == 302


# Two-factor sign-in ----------------------------------------------------------------------------


def test_a_user_with_a_device_must_enter_a_code_before_the_session_is_signed_in(client, editor):
    device = make_device(editor)
    response = post_login(client, "bob", next="/console/messages/")
    assert response.status_code == 302 and response["Location"] == CODE
    assert signed_in_user_id(client) is None  # not signed in yet
    page = client.get(CODE)
    assert (
        "bob" in page.content.decode() and 'autocomplete="one-time-code"' in page.content.decode()
    )
    response = client.post(CODE, {"code": totp.code_for(device.secret)}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 302
    assert response["Location"] == "/console/messages/"
    assert signed_in_user_id(client) == str(editor.pk)
    assert client.session["2fa_verified"] is True
    assert AuditRecord.objects.get(action="accounts.login").data == {"2fa": True}


def test_a_wrong_code_does_not_sign_in_and_counts_as_a_failure(client, editor):
    device = make_device(editor)
    post_login(client, "bob")
    wrong = f"{(int(totp.code_for(device.secret)) + 1) % 1_000_000:06d}"
    response = client.post(CODE, {"code": wrong}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert signed_in_user_id(client) is None
    keys = actions.LoginKeys.for_attempt("bob", "10.1.1.1")
    assert LoginFailure.objects.filter(key=keys.user).count() == 1


@throttle
def test_wrong_codes_lock_the_account_like_wrong_passwords(client, editor):
    device = make_device(editor)
    post_login(client, "bob")
    for _ in range(3):
        client.post(CODE, {"code": "000000"}, REMOTE_ADDR="10.1.1.1")
    response = client.post(CODE, {"code": totp.code_for(device.secret)}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_a_code_is_never_accepted_twice(client, editor):
    device = make_device(editor)
    code = totp.code_for(device.secret)
    post_login(client, "bob")
    assert client.post(CODE, {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    post_login(client, "bob")
    response = client.post(CODE, {"code": code})
    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_codes_one_step_off_are_accepted_but_not_two(editor):
    device = make_device(editor)
    now = time.time()
    assert totp.matching_step(
        device.secret, totp.code_for(device.secret, now, -1), after_step=0, now=now
    )
    assert totp.matching_step(
        device.secret, totp.code_for(device.secret, now, +1), after_step=0, now=now
    )
    assert (
        totp.matching_step(
            device.secret, totp.code_for(device.secret, now, +2), after_step=0, now=now
        )
        is None
    )
    assert (
        totp.matching_step(
            device.secret, totp.code_for(device.secret, now, -2), after_step=0, now=now
        )
        is None
    )


def test_the_code_step_expires_after_five_minutes(client, editor):
    device = make_device(editor)
    post_login(client, "bob")
    session = client.session
    session[PENDING_KEY]["at"] = time.time() - 301
    session.save()
    response = client.post(CODE, {"code": totp.code_for(device.secret)})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert signed_in_user_id(client) is None


def test_the_code_step_without_a_password_step_sends_back_to_sign_in(client, db):
    response = client.get(CODE)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")


def test_the_code_step_keeps_the_open_redirect_out(client, editor):
    device = make_device(editor)
    post_login(client, "bob", next="https://evil.example/")
    response = client.post(CODE, {"code": totp.code_for(device.secret)})
    assert response["Location"] == home_url()


# Setting two-factor up, verifying, switching it off --------------------------------------------


def test_setting_up_shows_an_inline_qr_code_and_the_secret(client, communicator):
    client.force_login(communicator)
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 200
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=communicator)
    assert not device.confirmed
    assert "<svg" in html and 'role="img"' in html
    assert "<img" not in html  # no external QR service
    assert totp.grouped(device.secret) in html
    # Reloading keeps the secret (the scanned code stays valid).
    client.get("/accounts/2fa/setup/")
    assert TOTPDevice.objects.get(user=communicator).secret == device.secret


def test_setting_up_is_confirmed_with_a_code_and_audited(client, communicator):
    client.force_login(communicator)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=communicator)
    response = client.post("/accounts/2fa/setup/", {"code": "123 45x"})
    assert response.status_code == 200 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    response = client.post("/accounts/2fa/setup/", {"code": totp.code_for(device.secret)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.session["2fa_verified"] is True
    assert AuditRecord.objects.filter(action="accounts.2fa_enable", actor="alice").exists()
    assert "Two-factor authentication is on" in client.get("/accounts/2fa/setup/").content.decode()


def test_setting_up_refuses_a_wrong_code(client, communicator):
    client.force_login(communicator)
    client.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=communicator)
    wrong = f"{(int(totp.code_for(device.secret)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/2fa/setup/", {"code": wrong})
    assert "That code is not right" in response.content.decode()
    assert not communicator.has_2fa


def test_a_set_up_secret_left_unconfirmed_is_replaced_after_half_an_hour(client, communicator):
    # Whoever once saw the set-up page (a phished password) must not know the secret the real
    # user confirms later.
    client.force_login(communicator)
    client.get("/accounts/2fa/setup/")
    first = TOTPDevice.objects.get(user=communicator).secret
    client.get("/accounts/2fa/setup/")
    assert TOTPDevice.objects.get(user=communicator).secret == first  # a reload keeps it
    TOTPDevice.objects.filter(user=communicator).update(
        created_at=timezone.now() - timedelta(seconds=actions.SETUP_SECRET_SECONDS + 1)
    )
    html = client.get("/accounts/2fa/setup/").content.decode()
    fresh = TOTPDevice.objects.get(user=communicator).secret
    assert fresh != first and totp.grouped(fresh) in html
    response = client.post("/accounts/2fa/setup/", {"code": totp.code_for(first)})
    assert response.status_code == 200 and not communicator.has_2fa
    response = client.post("/accounts/2fa/setup/", {"code": totp.code_for(fresh)})
    assert response.status_code == 302 and communicator.has_2fa


def test_the_two_factor_pages_need_a_signed_in_user(client, db):
    for url in ("/accounts/2fa/setup/", "/accounts/2fa/verify/", "/accounts/2fa/disable/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_switching_off_needs_a_current_code(client, communicator):
    device = make_device(communicator)
    client.force_login(communicator)
    response = client.post("/accounts/2fa/disable/", {"code": "000000"})
    assert response.status_code == 200 and communicator.has_2fa
    response = client.post("/accounts/2fa/disable/", {"code": totp.code_for(device.secret)})
    assert response.status_code == 302
    assert not communicator.has_2fa
    assert AuditRecord.objects.filter(action="accounts.2fa_disable").exists()


def test_verifying_a_session_sets_the_flag_and_refuses_a_replayed_code(client, editor):
    device = make_device(editor)
    client.force_login(editor)
    code = totp.code_for(device.secret)
    response = client.post("/accounts/2fa/verify/", {"code": code, "next": "/console/messages/"})
    assert response.status_code == 302 and response["Location"] == "/console/messages/"
    assert client.session["2fa_verified"] is True
    # The same code again, in another session: refused.
    other = client.__class__()
    other.force_login(editor)
    response = other.post("/accounts/2fa/verify/", {"code": code})
    assert response.status_code == 200
    assert not other.session.get("2fa_verified")


def test_verifying_with_a_next_that_is_not_a_path_lands_on_the_console(client, editor):
    device = make_device(editor)
    client.force_login(editor)
    response = client.post(
        "/accounts/2fa/verify/", {"code": totp.code_for(device.secret), "next": "console"}
    )
    assert response.status_code == 302 and response["Location"] == home_url()


@pytest.mark.parametrize(
    "path", [CODE, "/accounts/2fa/setup/", "/accounts/2fa/verify/", "/accounts/2fa/disable/"]
)
def test_codes_are_hidden_from_error_reports(client, editor, path):
    make_device(editor)
    if path == CODE:
        post_login(client, "bob")
    else:
        client.force_login(editor)
    response = client.post(path, {"code": "123456"})
    request = response.wsgi_request
    assert "code" in request.sensitive_post_parameters
    report = SafeExceptionReporterFilter().get_post_parameters(request)
    assert report["code"] != "123456"


def test_two_requests_racing_with_one_code_let_only_one_through(editor):
    device = make_device(editor)
    code = totp.code_for(device.secret)
    stale = TOTPDevice.objects.get(pk=device.pk)  # read before the first request claims the step
    assert actions.check_totp(editor, code)
    assert not actions._accept_code(stale, code)


# Two-factor required for editors and administrators --------------------------------------------


@override_settings(COPPS_REQUIRE_2FA=True)
def test_an_editor_without_a_device_is_sent_to_set_up_when_required(client, editor):
    post_login(client, "bob")
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/setup/?next=%2Fconsole%2F"


@override_settings(COPPS_REQUIRE_2FA=True)
def test_an_administrator_with_an_unverified_session_is_sent_to_verify(client, admin_user):
    make_device(admin_user)
    client.force_login(admin_user)
    for url in ("/console/", "/accounts/tokens/", "/accounts/users/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/2fa/verify/?next=")
    # Minting a token with a password-only session is refused too (it would bypass the code).
    assert client.post("/accounts/tokens/", {"name": "x"}).status_code == 302
    assert not admin_user.api_tokens.exists()


@override_settings(COPPS_REQUIRE_2FA=True)
def test_the_two_factor_guard_holds_when_copps_runs_under_a_path_prefix(client, admin_user):
    # Behind a proxy mounting copps at /copps/, request.path is "/copps/console/...".
    make_device(admin_user)
    client.force_login(admin_user)
    for url in ("/console/", "/accounts/tokens/", "/accounts/users/"):
        response = client.get(url, SCRIPT_NAME="/copps")
        assert response.status_code == 302, url
        assert "/accounts/2fa/verify/" in response["Location"]
    client.post("/accounts/tokens/", {"name": "x"}, SCRIPT_NAME="/copps")
    assert not admin_user.api_tokens.exists()


@override_settings(COPPS_REQUIRE_2FA=True)
def test_an_editor_who_signed_in_with_a_code_uses_the_console(client, editor):
    device = make_device(editor)
    post_login(client, "bob")
    client.post(CODE, {"code": totp.code_for(device.secret)})
    assert client.get("/console/").status_code == 200


@override_settings(COPPS_REQUIRE_2FA=True)
def test_a_communicator_needs_no_second_factor_even_when_required(client, communicator):
    post_login(client, "alice")
    assert client.get("/console/").status_code == 200
    assert client.get("/accounts/tokens/").status_code == 200


@override_settings(COPPS_REQUIRE_2FA=False)
def test_editors_need_no_second_factor_when_not_required(client, editor):
    post_login(client, "bob")
    assert client.get("/console/").status_code == 200


@override_settings(COPPS_REQUIRE_2FA=True)
def test_the_sign_in_and_two_factor_pages_stay_reachable_when_required(client, editor):
    client.force_login(editor)
    assert client.get("/accounts/2fa/setup/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


# Changing one's own password -------------------------------------------------------------------


def test_a_user_changes_their_password_with_the_current_one(client, communicator):
    from copps.audit.models import AuditRecord

    client.force_login(communicator)
    new = "a much longer pass phrase 2026"
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": new, "new_password_again": new},
    )
    assert response.status_code == 302
    communicator.refresh_from_db()
    assert communicator.check_password(new)
    assert client.get("/console/").status_code == 200  # still signed in
    record = AuditRecord.objects.filter(action="accounts.password_change").get()
    assert record.actor == communicator.username and new not in str(record.data)


@pytest.mark.parametrize(
    ("old", "new", "again", "field"),
    [
        (
            "wrong password",
            "a much longer pass phrase 2026",
            "a much longer pass phrase 2026",
            "old_password",
        ),
        (PASSWORD, "short", "short", "new_password"),
        (
            PASSWORD,
            "a much longer pass phrase 2026",
            "something else entirely 2026",
            "new_password_again",
        ),
    ],
)
def test_a_wrong_current_password_or_a_weak_new_one_is_refused(
    client, communicator, old, new, again, field
):
    client.force_login(communicator)
    response = client.post(
        "/accounts/password/",
        {"old_password": old, "new_password": new, "new_password_again": again},
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    communicator.refresh_from_db()
    assert communicator.check_password(PASSWORD)


def test_the_password_page_needs_a_sign_in(client, db):
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
