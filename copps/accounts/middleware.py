from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect, resolve_url
from django.utils.cache import add_never_cache_headers

# Pages that need a verified second factor (when required for the user's role). The sign-in,
# log-out and two-factor pages themselves stay reachable, or nobody could ever verify.
GUARDED_PREFIXES = ("/console/", "/accounts/tokens/", "/accounts/users/")
# The API is not listed: it ignores the session cookie and authenticates by token only
# (copps.api.auth), and tokens can only be minted behind this guard.


class TwoFactorMiddleware:
    """Editors and administrators must confirm two-factor before using the console.

    With COPPS_REQUIRE_2FA on (production), a signed-in editor or administrator without a
    confirmed TOTP device is sent to the set-up page; one with a device who has not yet entered a
    code this session is sent to the verification page (both come back to the page asked for).
    The token and user pages are guarded too: a password-only session must not be able to mint
    an API token that then bypasses the second factor.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.COPPS_REQUIRE_2FA
            and user is not None
            and user.is_authenticated
            and user.needs_2fa
            # path_info, not path: under a SCRIPT_NAME prefix (copps at /copps/) request.path
            # is "/copps/console/..." and would slip past the guard.
            and request.path_info.startswith(GUARDED_PREFIXES)
            and not request.session.get("2fa_verified")
        ):
            target = resolve_url("accounts:2fa-verify" if user.has_2fa else "accounts:2fa-setup")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)


# Everything under these paths depends on who asks (console pages, sign-in and token pages, API
# answers with drafts and personal details).
PRIVATE_PREFIXES = ("/console/", "/accounts/", "/api/")


class PrivateNoStoreMiddleware:
    """Personal pages and API answers are never stored by browsers or shared caches.

    A response under PRIVATE_PREFIXES that says nothing about caching gets
    ``Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private`` (as
    ``never_cache``); one that set its own Cache-Control keeps it. Public pages are untouched:
    they choose ``public, max-age=60`` themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(PRIVATE_PREFIXES) and not response.has_header(
            "Cache-Control"
        ):
            add_never_cache_headers(response)
        return response
