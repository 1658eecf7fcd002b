"""LinkedIn Page, through the Community Management API (versioned ``/rest`` endpoints).

Every call carries ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` and
``X-Restli-Protocol-Version: 2.0.0``.

- ``check()``: ``GET /rest/organizations/{id}`` (the Page's name);
- ``post()``: ``POST /rest/posts`` with the organisation as author, the text as ``commentary``
  (in LinkedIn's "little text" format, where ``| { } @ [ ] ( ) < > # \\ * _ ~`` must be escaped
  or the post is cut short), PUBLIC to the main feed, and the message's page as an article ->
  ``201`` with the post URN in ``x-restli-id``; URL ``https://www.linkedin.com/feed/update/<urn>``;
- ``update()``: ``POST /rest/posts/{urn}`` with ``X-RestLi-Method: PARTIAL_UPDATE`` and
  ``{"patch": {"$set": {"commentary"}}}`` -> 204;
- ``delete()``: ``DELETE /rest/posts/{urn}`` -> 204;
- ``find()``: ``GET /rest/posts?q=author&author={urn}`` (needs ``r_organization_social``).

No idempotency key: an unanswered create becomes *unknown* and is read back.

Errors are ``{"status", "serviceErrorCode", "code", "message"}``: 401/403 disable the channel
(token or permission), 426 (the configured ``api_version`` is no longer served) too; 429 is
retried after ``Retry-After`` or, as LinkedIn's daily limits reset then, at midnight UTC; other
4xx are permanent, 5xx unknown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.utils.translation import gettext_lazy as _

from ..base import Adapter, ChannelError, Field, Outcome
from .x import listing, normalise

API = "https://api.linkedin.com"
DEFAULT_VERSION = "202609"
RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
UNESCAPE = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
FIND_WINDOW = 20


def little_text(text: str) -> str:
    """Escape LinkedIn's reserved characters so the text shows exactly as written."""
    return RESERVED.sub(r"\\\1", text)


def plain_text(commentary: str) -> str:
    return UNESCAPE.sub(r"\1", commentary)


def _until_midnight_utc() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())


class LinkedInAdapter(Adapter):
    kind = "linkedin"
    rendition = "linkedin"
    idempotent = False
    can_edit = True
    can_delete = True
    can_find = True
    # LinkedIn allows 150 posts a day per member (the token's person).
    rate_per_minute = 150 / (24 * 60)
    sandbox_base = "https://linkedin.sandbox.invalid"
    fields = (
        Field(
            "organization_id",
            _("Organization id"),
            help=_("The number in urn:li:organization:<id> (the Page's admin URL shows it)."),
        ),
        Field(
            "api_version",
            _("API version"),
            required=False,
            default=DEFAULT_VERSION,
            help=_("The LinkedIn-Version header, YYYYMM; LinkedIn serves each for a year."),
        ),
        Field(
            "access_token",
            _("Access token"),
            secret=True,
            help=_(
                "A member token of a Page administrator with w_organization_social "
                "(and r_organization_social for read-back)."
            ),
        ),
    )

    @property
    def author(self) -> str:
        return f"urn:li:organization:{self.config.get('organization_id', '')}"

    def _headers(self, **extra) -> dict:
        return {
            "Authorization": f"Bearer {self.setting('access_token')}",
            "LinkedIn-Version": str(self.config.get("api_version") or DEFAULT_VERSION),
            "X-Restli-Protocol-Version": "2.0.0",
            **extra,
        }

    def _url(self, path: str) -> str:
        return self.api_base(API) + path

    def _call(self, method, path, *, what, ok, headers=None, **kwargs):
        response = self.call(
            method, self._url(path), what=what, headers=self._headers(**(headers or {})), **kwargs
        )
        if response.status_code not in ok:
            raise self.error(response, what)
        return response

    @staticmethod
    def error(response, what: str) -> ChannelError:
        status = response.status_code
        err = ChannelError.from_http(response, what)
        if status == 426:
            err.disable_channel = True
            err.permanent = True
        if status == 429 and err.retry_after is None:
            err.retry_after = _until_midnight_utc()
        return err

    def _json(self, response, what: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body") from None
        if not isinstance(body, dict):
            raise ChannelError(f"{what}: malformed response body")
        return body

    @staticmethod
    def post_url(urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    # The contract ------------------------------------------------------------------------

    def check(self) -> str:
        org = self.config.get("organization_id", "")
        body = self._json(
            self._call("GET", f"/rest/organizations/{org}", what="organization", ok=(200,)),
            "organization",
        )
        return str(body.get("localizedName") or body.get("vanityName") or self.author)

    def post(self, delivery) -> Outcome:
        p = delivery.payload
        body: dict = {
            "author": self.author,
            "commentary": little_text(p.get("text", "")),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if p.get("link"):
            article = {"source": p["link"], "title": (p.get("title") or "")[:400]}
            if p.get("summary"):
                article["description"] = p["summary"][:4000]
            body["content"] = {"article": article}
        response = self._call("POST", "/rest/posts", what="create post", ok=(201,), json=body)
        urn = response.headers.get("x-restli-id", "")
        if not urn.startswith("urn:li:"):
            raise ChannelError("create post: no post URN in the answer", maybe_sent=True)
        return Outcome(urn, self.post_url(urn))

    def update(self, delivery, target) -> Outcome:
        self._call(
            "POST",
            f"/rest/posts/{quote(target.external_id, safe='')}",
            what="edit post",
            ok=(200, 204),
            headers={"X-RestLi-Method": "PARTIAL_UPDATE"},
            json={"patch": {"$set": {"commentary": little_text(delivery.payload.get("text", ""))}}},
        )
        return Outcome(target.external_id, target.url)

    def delete(self, delivery, target) -> None:
        self._call(
            "DELETE",
            f"/rest/posts/{quote(target.external_id, safe='')}",
            what="delete post",
            ok=(200, 204, 404, 410),  # already gone counts as deleted
        )

    def find(self, delivery) -> Outcome | None:
        response = self._call(
            "GET",
            "/rest/posts",
            what="read back",
            ok=(200,),
            params={"q": "author", "author": self.author, "count": FIND_WINDOW},
        )
        wanted = normalise(delivery.payload.get("text", ""))
        for post in listing(self._json(response, "read back"), "elements"):
            if normalise(plain_text(str(post.get("commentary", "")))) == wanted:
                urn = str(post.get("id") or "")
                if urn.startswith("urn:li:"):
                    return Outcome(urn, self.post_url(urn))
        return None

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        org = str(config.get("organization_id") or "")
        if org and not org.isdigit():
            errors["organization_id"] = str(_("Enter the numeric organization id."))
        version = str(config.get("api_version") or "")
        if version and not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", version):
            errors["api_version"] = str(_("Enter a version as YYYYMM, for example 202609."))
        return errors
