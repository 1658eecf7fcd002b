from django.conf import settings
from django.shortcuts import redirect

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/")


class TwoFactorMiddleware:
    """Editors and administrators must confirm two-factor before using the console.

    With COPPS_REQUIRE_2FA on (production), a signed-in editor or administrator without a
    confirmed TOTP device is sent to the set-up page; one with a device who has not yet entered a
    code this session is sent to the verification page.
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
            and request.path.startswith("/console/")
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not request.session.get("2fa_verified")
        ):
            return redirect("accounts:2fa-setup" if not user.has_2fa else "accounts:2fa-verify")
        return self.get_response(request)
