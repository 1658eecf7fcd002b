from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect, resolve_url

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
            and request.path.startswith(GUARDED_PREFIXES)
            and not request.session.get("2fa_verified")
        ):
            target = resolve_url("accounts:2fa-verify" if user.has_2fa else "accounts:2fa-setup")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)
