"""Facebook Page, through the Graph API with a Page access token.

- ``check()``: ``GET /{page-id}?fields=id,name``;
- ``post()``: ``POST /{page-id}/feed`` (``message``, ``link``) -> ``{"id": "<page>_<post>"}``, or
  with an image ``POST /{page-id}/photos`` (``url``, ``caption``) -> ``{"id", "post_id"}``;
- ``update()``: ``POST /{post-id}`` (``message``) -> ``{"success": true}``;
- ``delete()``: ``DELETE /{post-id}`` -> ``{"success": true}``;
- ``find()``: ``GET /{page-id}/posts?fields=id,message,created_time`` and a text comparison.

Comments (the inbox): ``GET /{page-id}/feed?fields=id,comments.filter(stream)...`` reads the
comments under the Page's recent posts (replies to comments carry ``parent``); those newer than
the cursor (the newest ``created_time`` seen; equal times are read again and deduplicated) are
pulled. A reply is ``POST /{comment-id}/comments`` (``message``) -> ``{"id"}``. Scopes:
pages_read_engagement, pages_read_user_content (who wrote a comment), pages_manage_engagement.

No idempotency key exists: an unanswered create becomes *unknown* and is settled by reading the
Page's recent posts back.

Graph errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` and
are classified by ``code`` (``graph_error``), not by HTTP status: 190 (token invalid or expired)
and 10/200-299 (a permission is missing) disable the channel; 4, 17, 32, 613 and 80001-80014
(rate limits) are retried after the time Meta announces in ``X-Business-Use-Case-Usage`` (or
after a backoff); 1 and 2 (temporary) are retried; 100 (invalid parameter), 368 (blocked by
policy), 506 (duplicate post) and anything else are permanent. Instagram uses the same errors.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _

from ..base import Adapter, ChannelError, Field, Mention, Outcome, as_dict, parse_time, plain_text
from .x import listing, normalise

GRAPH = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"
TOKEN_CODES = {190, 102, 10}
RATE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
TEMPORARY_CODES = {1, 2}
FIND_WINDOW = 25


def _regain_seconds(response) -> float | None:
    """Meta announces when a throttled app/page may call again, in minutes, in a usage header."""
    for header in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        values = []
        entries = usage.values() if isinstance(usage, dict) else []
        for entry in entries:
            for item in entry if isinstance(entry, list) else [entry]:
                if isinstance(item, dict) and "estimated_time_to_regain_access" in item:
                    values.append(item["estimated_time_to_regain_access"])
        if isinstance(usage, dict) and "estimated_time_to_regain_access" in usage:
            values.append(usage["estimated_time_to_regain_access"])
        minutes = [float(v) for v in values if isinstance(v, int | float)]
        if minutes:
            return max(60.0, max(minutes) * 60)
    return None


class GraphError(ChannelError):
    """A Graph API error, with Meta's error ``code`` and ``subcode``."""

    code: int | None = None
    subcode: int | None = None


def graph_error(response, what: str, *, creating: bool = False) -> ChannelError:
    """Classify a Graph API error answer. ``creating``: the call creates a post (a temporary
    error there may still have posted, so the outcome is unknown and read back)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return ChannelError.from_http(response, what)
    code, subcode = error["code"], error.get("error_subcode")
    text = str(error.get("message") or "")[:200]
    message = f"{what}: Graph error {code}" + (f"/{subcode}" if subcode else "") + f": {text}"
    if code in TOKEN_CODES or 200 <= code <= 299:
        err = GraphError(message, permanent=True, disable_channel=True)
    elif code in RATE_CODES or (code == 9 and subcode == 2207042):
        wait = _regain_seconds(response)
        if code == 9:  # Instagram's 24-hour publishing limit
            wait = wait or 3600.0
        err = GraphError(message, retry_after=wait)
    elif code in TEMPORARY_CODES or response.status_code >= 500:
        err = GraphError(message, maybe_sent=creating)
    else:
        err = GraphError(message, permanent=True)
    err.code, err.subcode = code, subcode if isinstance(subcode, int) else None
    return err


class GraphAdapter(Adapter):
    """What Facebook Page and Instagram share: the Graph API root, the token, the errors."""

    auth_setting = "page_access_token"

    def _url(self, path: str) -> str:
        version = str(self.config.get("api_version") or DEFAULT_VERSION).strip("/")
        return f"{self.api_base(GRAPH)}/{version}{path}"

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.setting(self.auth_setting)}"}

    def graph(self, method: str, path: str, *, what: str, creating: bool = False, **kwargs):
        """One Graph call; returns the JSON object or raises a classified ChannelError."""
        response = self.call(method, self._url(path), what=what, headers=self._headers(), **kwargs)
        if response.status_code != 200:
            raise graph_error(response, what, creating=creating)
        try:
            body = response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True) from None
        if not isinstance(body, dict):
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True)
        return body

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        for name in ("page_id", "ig_user_id"):
            value = str(config.get(name) or "")
            if value and not value.isdigit():
                errors[name] = str(_("Enter the numeric id."))
        version = str(config.get("api_version") or "")
        if version and not (version.startswith("v") and version[1:].replace(".", "").isdigit()):
            errors["api_version"] = str(_("Enter a Graph API version such as v25.0."))
        return errors


class FacebookAdapter(GraphAdapter):
    kind = "facebook"
    rendition = "facebook"
    idempotent = False
    can_edit = True
    can_delete = True
    can_find = True
    # Meta publishes no fixed post quota for Pages (limits scale with the Page's audience and
    # are announced in usage headers); one post every two seconds stays far below them.
    rate_per_minute = 30
    sandbox_base = "https://facebook.sandbox.invalid"
    auth_setting = "page_access_token"
    fields = (
        Field("page_id", _("Page id"), help=_("The numeric id of the force's Facebook Page.")),
        Field(
            "api_version",
            _("Graph API version"),
            required=False,
            default=DEFAULT_VERSION,
            help=_("For example v25.0; empty: the version copps was tested with."),
        ),
        Field(
            "page_access_token",
            _("Page access token"),
            secret=True,
            help=_("A long-lived Page token with pages_manage_posts and pages_read_engagement."),
        ),
    )

    @property
    def page_id(self) -> str:
        return str(self.config.get("page_id", ""))

    def check(self) -> str:
        body = self.graph("GET", f"/{self.page_id}", what="page", params={"fields": "id,name"})
        if str(body.get("id")) != self.page_id:
            raise ChannelError("page: the token answers for another Page", permanent=True)
        return str(body.get("name") or self.page_id)

    def post(self, delivery) -> Outcome:
        p = delivery.payload
        images = p.get("images") or []
        if images:
            body = self.graph(
                "POST",
                f"/{self.page_id}/photos",
                what="create photo post",
                creating=True,
                data={"url": images[0]["url"], "caption": p["text"]},
            )
            post_id = str(body.get("post_id") or body.get("id") or "")
        else:
            data = {"message": p["text"]}
            if p.get("link"):
                data["link"] = p["link"]
            body = self.graph(
                "POST", f"/{self.page_id}/feed", what="create post", creating=True, data=data
            )
            post_id = str(body.get("id") or "")
        if not post_id:
            raise ChannelError("create post: no id in the answer", maybe_sent=True)
        return Outcome(post_id, f"https://www.facebook.com/{post_id}")

    def update(self, delivery, target) -> Outcome:
        body = self.graph(
            "POST",
            f"/{target.external_id}",
            what="edit post",
            data={"message": delivery.payload["text"]},
        )
        if body.get("success") is not True:
            raise ChannelError("edit post: Facebook did not confirm the edit")
        return Outcome(target.external_id, target.url)

    def delete(self, delivery, target) -> None:
        response = self.call(
            "DELETE",
            self._url(f"/{target.external_id}"),
            what="delete post",
            headers=self._headers(),
        )
        if response.status_code == 200:
            return
        err = graph_error(response, "delete post")
        if isinstance(err, GraphError) and (err.code, err.subcode) == (100, 33):
            return  # already gone: "object does not exist"
        raise err

    # Comments (the inbox) ---------------------------------------------------------------

    can_pull = True

    def fetch_mentions(self, cursor: str) -> tuple[list[Mention], str]:
        body = self.graph(
            "GET",
            f"/{self.page_id}/feed",
            what="comments",
            params={"fields": f"id,{COMMENT_FIELDS}", "limit": 25},
        )
        newest = cursor
        found: list[Mention] = []
        for post in listing(body, "data", "comments"):
            block = post.get("comments")
            if block is None:
                continue
            if not isinstance(block, dict):
                raise ChannelError("comments: malformed response body")
            for comment in listing(block, "data", "comments"):
                when = _fb_time(comment.get("created_time"))
                if not when or (cursor and when < cursor):
                    continue
                author = as_dict(comment.get("from"))
                if str(author.get("id") or "") == self.page_id:
                    continue  # our own replies
                newest = max(newest, when)
                text = plain_text(str(comment.get("message") or ""))
                parent = as_dict(comment.get("parent"))
                url = comment.get("permalink_url")
                found.append(
                    Mention(
                        external_id=str(comment["id"]),
                        thread_id=str(post["id"]),
                        author=str(author.get("name") or "")[:200],
                        text=text,
                        url=url if isinstance(url, str) and url.startswith("https://") else "",
                        created_at=parse_time(when),
                        in_reply_to=str(parent.get("id") or post["id"]),
                        in_reply_to_our_post=str(post["id"]),
                    )
                )
        found.sort(key=lambda m: str(m.created_at or ""))
        return found, newest

    def send_reply(self, in_reply_to: str, text: str, *, thread: dict) -> str:
        if not in_reply_to:
            raise ChannelError("reply: nothing to reply to", permanent=True)
        body = self.graph(
            "POST", f"/{in_reply_to}/comments", what="reply", creating=True, data={"message": text}
        )
        comment_id = str(body.get("id") or "")
        if not comment_id:
            raise ChannelError("reply: no id in the answer", maybe_sent=True)
        return comment_id

    def find(self, delivery) -> Outcome | None:
        body = self.graph(
            "GET",
            f"/{self.page_id}/posts",
            what="read back",
            params={"fields": "id,message,created_time", "limit": FIND_WINDOW},
        )
        wanted = normalise(delivery.payload.get("text", ""))
        for post in listing(body, "data"):
            if normalise(str(post.get("message", ""))) == wanted:
                return Outcome(str(post["id"]), f"https://www.facebook.com/{post['id']}")
        return None


def _fb_time(value) -> str:
    """A Graph ``created_time`` ("2026-01-01T10:00:00+0000") as a sortable ISO string."""
    from datetime import datetime

    try:
        parsed = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return ""
    from datetime import UTC

    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


COMMENT_FIELDS = (
    "comments.filter(stream).order(reverse_chronological).limit(100)"
    "{id,message,from,created_time,permalink_url,parent{id}}"
)
