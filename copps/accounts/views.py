"""Sign-in, two-factor, personal API tokens and user administration.

Plain functions with decorators. Writes go through ``copps.accounts.actions``; access decisions
through ``copps.accounts.roles``. Status codes: 403 when the role may not use a page, 404 for an
object that is not the user's (another person's token), 405 for a wrong method, 429 while sign-in
is throttled.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from copps.lib.clientip import client_address

from . import actions, roles, totp
from .actions import LoginKeys
from .forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    TokenForm,
    UserChangeForm,
    UserCreateForm,
)
from .http import AuthenticatedHttpRequest
from .models import ApiToken, User

# The half-finished sign-in (password right, code still to come), kept in the session.
PENDING_KEY = "copps_pending_login"
PENDING_SECONDS = 5 * 60
VERIFIED_KEY = "2fa_verified"


# Helpers ---------------------------------------------------------------------------------------


def _client_addr(request: HttpRequest) -> str:
    """The client address under the explicit proxy trust model (copps.lib.clientip)."""
    return client_address(request)


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` when it is a path on this site ("/console/..."); '' otherwise.

    Only absolute paths are taken: no other host (no open redirect), and no bare word that
    Django's ``redirect()`` would try to reverse as a URL name (a crash, not a redirect).
    """
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return ""


def _go(next_url: str) -> HttpResponseRedirect:
    """Redirect to a ``_safe_next`` result, else to the console home.

    A plain HttpResponseRedirect: the target is a path, never a URL name to reverse.
    """
    return HttpResponseRedirect(next_url or home_url())


def home_url() -> str:
    """Where a signed-in user lands: settings.LOGIN_REDIRECT_URL (the console home).

    Falls back to the console's path while the console app does not name its home page.
    """
    try:
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return "/console/"


def _next_from(request: HttpRequest) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _apply_errors(form, error: ValidationError) -> None:
    """Put an action's ValidationError on the form: on the field it names, else on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _throttled(request, template: str, context: dict, wait: int) -> HttpResponse:
    minutes = max(1, (wait + 59) // 60)
    context["throttled"] = ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _require(request: HttpRequest, capability: str) -> None:
    if not roles.has_capability(request.user, capability):
        raise PermissionDenied(capability)


# Sign-in ---------------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step one: username and password.

    A throttled account or client gets 429 before the password is looked at (the answer's timing
    says nothing about the password). Users with a confirmed TOTP device continue to step two
    (``login_code``); the session is only signed in after that.
    """
    next_url = _next_from(request)
    if request.method == "GET" and request.user.is_authenticated:
        return _go(next_url)
    form = LoginForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        keys = LoginKeys.for_attempt(username, _client_addr(request))
        wait = actions.login_retry_after(keys)
        if wait:
            return _throttled(request, "accounts/login.html", context, wait)
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            actions.record_login_failure(keys)
            form.add_error(None, _("The username or password is not right."))
        elif user.has_2fa:
            request.session.pop(VERIFIED_KEY, None)
            request.session[PENDING_KEY] = {
                "uid": user.pk,
                "at": time.time(),
                "next": next_url,
                "backend": user.backend,
            }
            return redirect("accounts:login-code")
        else:
            login(request, user)
            actions.record_login(user, keys, with_2fa=False)
            return _go(next_url)
    return render(request, "accounts/login.html", context)


def _pending_user(request: HttpRequest) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, {}
    uid = pending.get("uid")
    user = User.objects.filter(pk=uid, is_active=True).first() if uid is not None else None
    return user, pending


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """Step two: the six-digit code. Valid for five minutes after the password step.

    A wrong code counts as a failed sign-in for the account and the client (throttling); a good
    one signs the session in with ``2fa_verified`` set.
    """
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, _("Your sign-in took too long. Please start again."))
        return redirect("accounts:login")
    keys = LoginKeys.for_attempt(user.username, _client_addr(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "pending_username": user.username}
    if request.method == "POST":
        wait = actions.login_retry_after(keys)
        if wait:
            return _throttled(request, "accounts/login_code.html", context, wait)
        if form.is_valid():
            if actions.check_totp(user, form.cleaned_data["code"]):
                del request.session[PENDING_KEY]
                login(request, user, backend=pending["backend"])
                request.session[VERIFIED_KEY] = True
                actions.record_login(user, keys, with_2fa=True)
                return _go(pending.get("next") or "")
            actions.record_login_failure(keys)
            form.add_error("code", _("That code is not right, or it was used already."))
    return render(request, "accounts/login_code.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link on another site cannot sign anyone out)."""
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("accounts:login")


@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Change one's own password; the session stays signed in (other sessions end)."""
    form = PasswordChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.change_password(
                request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password is changed."))
            return redirect(home_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password_change.html", {"form": form}, status=status)


# Two-factor ------------------------------------------------------------------------------------


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def twofa_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Switch on two-factor: a new secret as QR code (inline SVG, made here) and as text,
    confirmed with a code from the app. With two-factor already on, shows that and the way off."""
    user = request.user
    next_url = _next_from(request)
    if user.has_2fa:
        return render(request, "accounts/2fa_status.html", {"next": next_url})
    device = actions.start_totp_setup(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if actions.confirm_totp(user, form.cleaned_data["code"]):
            request.session[VERIFIED_KEY] = True
            messages.success(request, _("Two-factor authentication is on."))
            return _go(next_url)
        form.add_error(
            "code",
            _("That code is not right. Check that your phone's clock is correct and try again."),
        )
    uri = totp.provisioning_uri(device.secret, user.username)
    context = {
        "form": form,
        "next": next_url,
        "qr": totp.qr_svg(uri, _("QR code for your authenticator app")),
        "secret": totp.grouped(device.secret),
        "required": settings.COPPS_REQUIRE_2FA and user.needs_2fa,
    }
    return render(request, "accounts/2fa_setup.html", context)


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def twofa_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A signed-in user with a device confirms a code for this session (the console sends
    editors and administrators here when COPPS_REQUIRE_2FA is on). Wrong codes are throttled
    like failed sign-ins."""
    user = request.user
    next_url = _next_from(request)
    if not user.has_2fa:
        return redirect("accounts:2fa-setup")
    if request.session.get(VERIFIED_KEY):
        return _go(next_url)
    keys = LoginKeys.for_attempt(user.username, _client_addr(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url}
    if request.method == "POST":
        wait = actions.login_retry_after(keys)
        if wait:
            return _throttled(request, "accounts/2fa_verify.html", context, wait)
        if form.is_valid():
            if actions.check_totp(user, form.cleaned_data["code"]):
                request.session.cycle_key()  # a privilege change: new session id
                request.session[VERIFIED_KEY] = True
                actions.record_2fa_verified(user, keys)
                return _go(next_url)
            actions.record_login_failure(keys)
            form.add_error("code", _("That code is not right, or it was used already."))
    return render(request, "accounts/2fa_verify.html", context)


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def twofa_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Switch two-factor off; needs a current code (a stolen session alone cannot do it)."""
    user = request.user
    if not user.has_2fa:
        return redirect("accounts:2fa-setup")
    keys = LoginKeys.for_attempt(user.username, _client_addr(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "required": settings.COPPS_REQUIRE_2FA and user.needs_2fa}
    if request.method == "POST":
        wait = actions.login_retry_after(keys)
        if wait:
            return _throttled(request, "accounts/2fa_disable.html", context, wait)
        if form.is_valid():
            if actions.disable_totp(user, form.cleaned_data["code"]):
                request.session.pop(VERIFIED_KEY, None)
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("accounts:2fa-setup")
            actions.record_login_failure(keys)
            form.add_error("code", _("That code is not right, or it was used already."))
    return render(request, "accounts/2fa_disable.html", context)


# Personal API tokens ---------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List the user's own tokens and issue new ones. A new token is shown in this one response
    only (never stored, never put in a cookie or message); the page is not cached."""
    _require(request, roles.TOKENS_OWN)
    form = TokenForm(request.POST if request.method == "POST" else None)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, raw = actions.issue_token(
                    request.user,
                    by=request.user,
                    name=form.cleaned_data["name"],
                    days=form.cleaned_data["days"],
                )
            except ValidationError as e:
                _apply_errors(form, e)
            else:
                new_token = {"row": token, "raw": raw}
                form = TokenForm()
                status = 201
        if new_token is None:
            status = 400
    now = timezone.now()
    rows = [
        {"token": t, "status": _token_status(t, now)}
        for t in ApiToken.objects.filter(user=request.user)[:200]
    ]
    context = {"form": form, "new_token": new_token, "rows": rows}
    return render(request, "accounts/tokens.html", context, status=status)


def _token_status(token: ApiToken, now) -> str:
    if token.revoked_at:
        return "revoked"
    if token.expires_at and token.expires_at <= now:
        return "expired"
    return "active"


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of your own tokens; someone else's is 404 (no hint that it exists)."""
    _require(request, roles.TOKENS_OWN)
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    actions.revoke_token(token, by=request.user)
    messages.success(request, _("Token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


# User administration ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def users(request: HttpRequest) -> HttpResponse:
    """All accounts, for administrators (USERS_MANAGE); 403 for everyone else."""
    _require(request, roles.USERS_MANAGE)
    qs = User.objects.select_related("area").order_by("-is_active", "username")
    return render(request, "accounts/users.html", {"users": qs})


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    _require(request, roles.USERS_MANAGE)
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                user = actions.create_user(by=request.user, **form.cleaned_data)
            except ValidationError as e:
                _apply_errors(form, e)
            else:
                messages.success(
                    request, _("Account “%(name)s” is created.") % {"name": user.username}
                )
                return redirect("accounts:user", pk=user.pk)
        return render(request, "accounts/user_new.html", {"form": form}, status=400)
    return render(request, "accounts/user_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: change role and area; links to deactivate and reset two-factor."""
    _require(request, roles.USERS_MANAGE)
    subject = get_object_or_404(User.objects.select_related("area"), pk=pk)
    initial = {"role": subject.role, "area": subject.area}
    form = UserChangeForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.change_user(
                    subject,
                    by=request.user,
                    role=form.cleaned_data["role"],
                    area=form.cleaned_data["area"],
                )
            except ValidationError as e:
                _apply_errors(form, e)
            else:
                messages.success(request, _("The changes are saved."))
                return redirect("accounts:user", pk=subject.pk)
        status = 400
    context = {
        "subject": subject,
        "form": form,
        "has_2fa": subject.has_2fa,
        "live_tokens": ApiToken.objects.filter(user=subject, revoked_at__isnull=True).count(),
    }
    return render(request, "accounts/user_detail.html", context, status=status)


@login_required
@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) an account."""
    _require(request, roles.USERS_MANAGE)
    subject = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        actions.set_user_active(subject, by=request.user, active=active)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(
            request,
            _("The account is active again.") if active else _("The account is deactivated."),
        )
    return redirect("accounts:user", pk=subject.pk)


@login_required
@require_POST
def user_reset_2fa(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a user's two-factor device (lost phone); they set up a new one at next sign-in."""
    _require(request, roles.USERS_MANAGE)
    subject = get_object_or_404(User, pk=pk)
    actions.reset_totp(subject, by=request.user)
    messages.success(request, _("Two-factor authentication is reset for this account."))
    return redirect("accounts:user", pk=subject.pk)
