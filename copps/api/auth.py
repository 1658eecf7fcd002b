"""Bearer-token authentication for the JSON API.

Contract: ``Authorization: Bearer <token>`` with a personal token (``ApiToken.issue``). A missing,
malformed, unknown, expired or revoked token, or one of an inactive user, authenticates nobody,
and the API answers 401 (see ``copps.api.api``). The session cookie is ignored on purpose: the
API never acts on a browser's ambient credentials, which is why CSRF does not apply to it.
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from copps.accounts.models import ApiToken


class BearerAuth(HttpBearer):
    """The one security scheme of the API (named ``BearerAuth`` in the OpenAPI document)."""

    openapi_bearerFormat = "copps_<token>"

    def authenticate(self, request: HttpRequest, token: str):
        user = ApiToken.authenticate(token.strip())
        if user is None:
            return None
        # Code further down (actions, templates, logging) reads request.user: make it the
        # token's owner, never a user from a session cookie sent along by a browser.
        request.user = user
        return user
