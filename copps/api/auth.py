"""Bearer-token authentication for the JSON API.

Contract: ``Authorization: Bearer <token>`` with a personal token (``ApiToken.issue``). A missing,
malformed, unknown, expired or revoked token, or one of an inactive user, authenticates nobody,
and the API answers 401 (see ``copps.api.api``). The session cookie is ignored on purpose: the
API never acts on a browser's ambient credentials, which is why CSRF does not apply to it.

With COPPS_REQUIRE_2FA on, a valid token of a user whose role needs two-factor (editors,
administrators) but who has no confirmed device is refused with 403: a token minted before the
role changed (a communicator promoted to editor) or before two-factor became mandatory must not
carry editor rights past the second factor the console demands.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer

from copps.accounts.models import ApiToken

# The PermissionDenied code the API turns into its 403 message (copps.api.api.PERMISSION_DETAILS).
TWO_FACTOR_REQUIRED = "2fa.required"


class BearerAuth(HttpBearer):
    """The one security scheme of the API (named ``BearerAuth`` in the OpenAPI document)."""

    openapi_bearerFormat = "copps_<token>"

    def authenticate(self, request: HttpRequest, token: str):
        user = ApiToken.authenticate(token.strip())
        if user is None:
            return None
        if settings.COPPS_REQUIRE_2FA and user.needs_2fa and not user.has_2fa:
            raise PermissionDenied(TWO_FACTOR_REQUIRED)
        # Code further down (actions, templates, logging) reads request.user: make it the
        # token's owner, never a user from a session cookie sent along by a browser.
        request.user = user
        return user
