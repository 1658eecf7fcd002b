"""X (formerly Twitter), API v2, posting as the force's account with an OAuth 2.0 user token.

- ``check()``: ``GET /2/users/me`` (the token's account);
- ``post()``: ``POST /2/tweets {"text"}`` -> ``201 {"data": {"id", "text"}}``;
- no edit endpoint in the API: ``can_edit`` is False, so a correction is posted as a new post
  linking to the corrected page;
- ``delete()``: ``DELETE /2/tweets/:id`` -> ``{"data": {"deleted": true}}``;
- ``find()``: ``GET /2/users/:id/tweets?max_results=20`` and a text comparison. X rewrites every
  link to ``https://t.co/...`` and HTML-escapes ``& < >``, so texts are compared with links
  replaced by a placeholder and entities unescaped.

Replies and mentions (the inbox): ``GET /2/users/:id/mentions?since_id=<cursor>`` with the
``author_id`` expansion, newest first, following ``next_token`` back to the cursor (a few pages
at most); the cursor is the newest id seen. A reply is ``POST /2/tweets`` with
``reply.in_reply_to_tweet_id`` (X adds the @mention itself). Scopes: tweet.read users.read
tweet.write.

X has no idempotency key: an unanswered ``POST /2/tweets`` becomes *unknown* and is settled by
reading the timeline back, never by posting again blindly.

Errors are RFC 7807 problem documents ``{"title", "detail", "type", "status"}``. 401 (and a 403 of
type ``client-forbidden``/``unsupported-authentication``: the app or token cannot post at all)
disable the channel; any other 403 is X refusing this content (duplicate text, policy): permanent,
the channel stays on. 429 carries ``x-rate-limit-reset`` (epoch seconds): we come back then.
"""

from __future__ import annotations

import html
import re
import time

from django.utils.translation import gettext_lazy as _

from ..base import Adapter, ChannelError, Field, Mention, Outcome, as_dict, parse_time, plain_text

API = "https://api.x.com"
# Published default limit for POST /2/tweets with a user token: 200 per 15 minutes per user, and
# 300 per 3 hours per user and app (shared with reposts). The tighter one, spread evenly: 300 in
# 180 minutes. Self-serve tiers can be lower (e.g. 100 per 24 h): set ``rate_per_minute``.
DEFAULT_RATE_PER_MINUTE = 300 / 180
URL_RE = re.compile(r"https?://\S+")
FIND_WINDOW = 20

# 403 problem types that mean "this app/token cannot post", not "this post was refused".
ACCESS_PROBLEMS = ("client-forbidden", "unsupported-authentication", "not-authorized-for-resource")


def normalise(text: str) -> str:
    """A post's text as comparable across X's rewriting: links masked, entities unescaped,
    whitespace collapsed."""
    text = html.unescape(text or "")
    text = URL_RE.sub("<link>", text)
    return " ".join(text.split())


def listing(body: dict, key: str, what: str = "read back") -> list[dict]:
    """The entries of a read-back answer. A garbled answer proves nothing about whether our post
    is there, so it raises (the delivery stays unknown) instead of reading as "not there"."""
    entries = body.get(key, [])
    if entries is None:
        entries = []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and e.get("id") for e in entries
    ):
        raise ChannelError(f"{what}: malformed response body")
    return entries


class XAdapter(Adapter):
    kind = "x"
    rendition = "x"
    idempotent = False
    can_edit = False
    can_delete = True
    can_find = True
    rate_per_minute = DEFAULT_RATE_PER_MINUTE
    sandbox_base = "https://x.sandbox.invalid"
    fields = (
        Field(
            "user_id",
            _("User id"),
            required=False,
            help=_("The account's numeric id; filled in from the token when empty."),
        ),
        Field(
            "access_token",
            _("OAuth 2.0 user access token"),
            secret=True,
            help=_("Scopes tweet.read, tweet.write and users.read."),
        ),
        Field(
            "rate_per_minute",
            _("Posts per minute"),
            required=False,
            help=_("Your API tier's limit for creating posts; default 300 per 3 hours."),
        ),
    )

    def __init__(self, channel):
        super().__init__(channel)
        self._me: dict | None = None

    # HTTP --------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.api_base(API) + path

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.setting('access_token')}"}

    def _request(self, method: str, path: str, *, what: str, ok=(200, 201), **kwargs) -> dict:
        response = self.call(method, self._url(path), what=what, headers=self._headers(), **kwargs)
        if response.status_code not in ok:
            raise self.error(response, what)
        try:
            body = response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True) from None
        if not isinstance(body, dict):
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True)
        return body

    @staticmethod
    def error(response, what: str) -> ChannelError:
        """Classify an X problem document."""
        status = response.status_code
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        detail = str(problem.get("detail") or problem.get("title") or "")[:200]
        kind = str(problem.get("type") or "")
        message = f"{what}: HTTP {status}" + (f": {detail}" if detail else "")
        if status == 401 or (status == 403 and any(p in kind for p in ACCESS_PROBLEMS)):
            return ChannelError(message, permanent=True, disable_channel=True)
        if status == 403:
            return ChannelError(message, permanent=True)
        if status == 429:
            reset = response.headers.get("x-rate-limit-reset", "")
            try:
                wait = max(1.0, float(reset) - time.time())
            except ValueError:
                wait = None
            return ChannelError(message, retry_after=wait)
        return ChannelError.from_http(response, what)

    def me(self) -> dict:
        """The token's account ``{"id", "username", "name"}`` (one call per adapter)."""
        if self._me is None:
            body = self._request("GET", "/2/users/me", what="users/me")
            data = body.get("data") or {}
            if not data.get("id") or not data.get("username"):
                raise ChannelError("users/me: malformed response body")
            self._me = data
        return self._me

    def post_url(self, post_id: str) -> str:
        return f"https://x.com/{self.me()['username']}/status/{post_id}"

    # The contract ------------------------------------------------------------------------

    def check(self) -> str:
        me = self.me()
        wanted = self.config.get("user_id")
        if wanted and str(wanted) != str(me["id"]):
            raise ChannelError(
                f"the token belongs to @{me['username']} ({me['id']}), not to user {wanted}",
                permanent=True,
            )
        return f"@{me['username']}"

    def post(self, delivery) -> Outcome:
        self.me()  # before the irreversible call: a failure here has posted nothing
        body = self._request(
            "POST", "/2/tweets", what="create post", json={"text": delivery.payload["text"]}
        )
        post_id = str((body.get("data") or {}).get("id") or "")
        if not post_id:
            raise ChannelError("create post: no id in the answer", maybe_sent=True)
        return Outcome(post_id, self.post_url(post_id))

    def delete(self, delivery, target) -> None:
        response = self.call(
            "DELETE",
            self._url(f"/2/tweets/{target.external_id}"),
            what="delete post",
            headers=self._headers(),
        )
        if response.status_code == 404:
            return  # already gone
        if response.status_code != 200:
            raise self.error(response, "delete post")
        try:
            deleted = (response.json().get("data") or {}).get("deleted")
        except (ValueError, AttributeError):
            raise ChannelError("delete post: malformed response body", maybe_sent=True) from None
        if deleted is not True:
            raise ChannelError("delete post: X did not confirm the deletion")

    def find(self, delivery) -> Outcome | None:
        user_id = self.config.get("user_id") or self.me()["id"]
        body = self._request(
            "GET",
            f"/2/users/{user_id}/tweets",
            what="read back",
            params={"max_results": FIND_WINDOW},
        )
        wanted = normalise(delivery.payload.get("text", ""))
        for tweet in listing(body, "data"):
            if normalise(str(tweet.get("text", ""))) == wanted:
                return Outcome(str(tweet["id"]), self.post_url(str(tweet["id"])))
        return None

    # Replies and mentions (the inbox) ------------------------------------------------------

    can_pull = True
    MENTION_PAGES = 5

    def fetch_mentions(self, cursor: str) -> tuple[list[Mention], str]:
        user_id = self.config.get("user_id") or self.me()["id"]
        params: dict = {
            "max_results": 100,
            "tweet.fields": "created_at,author_id,conversation_id,lang,referenced_tweets",
            "expansions": "author_id",
            "user.fields": "username",
        }
        if cursor:
            params["since_id"] = cursor
        found: dict[str, Mention] = {}
        newest = cursor
        for _page in range(self.MENTION_PAGES):
            body = self._request(
                "GET", f"/2/users/{user_id}/mentions", what="mentions", params=params
            )
            users = {}
            includes = body.get("includes")
            if isinstance(includes, dict) and isinstance(includes.get("users"), list):
                users = {
                    str(u.get("id")): str(u.get("username") or "")
                    for u in includes["users"]
                    if isinstance(u, dict)
                }
            for tweet in listing(body, "data", "mentions"):
                mention = self._mention(tweet, users)
                if mention is None:
                    continue
                found[mention.external_id] = mention
                if (len(mention.external_id), mention.external_id) > (len(newest), newest):
                    newest = mention.external_id
            meta = as_dict(body.get("meta"))
            token = meta.get("next_token") if cursor else None  # first pull: the latest page
            if not token:
                break
            params["pagination_token"] = str(token)
        mentions = sorted(found.values(), key=lambda m: (len(m.external_id), m.external_id))
        return mentions, newest

    def _mention(self, tweet: dict, users: dict[str, str]) -> Mention | None:
        tweet_id = str(tweet.get("id") or "")
        if not tweet_id.isdigit():
            return None
        username = users.get(str(tweet.get("author_id") or ""), "")
        replied = ""
        refs = tweet.get("referenced_tweets")
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, dict) and ref.get("type") == "replied_to":
                replied = str(ref.get("id") or "")
        return Mention(
            external_id=tweet_id,
            thread_id=str(tweet.get("conversation_id") or "") or replied or tweet_id,
            author=f"@{username}" if username else str(tweet.get("author_id") or ""),
            text=plain_text(html.unescape(str(tweet.get("text") or ""))),
            url=f"https://x.com/{username or 'i'}/status/{tweet_id}",
            created_at=parse_time(tweet.get("created_at")),
            language=str(tweet.get("lang") or "")[:10],
            in_reply_to=replied,
        )

    def send_reply(self, in_reply_to: str, text: str, *, thread: dict) -> str:
        if not in_reply_to:
            raise ChannelError("reply: nothing to reply to", permanent=True)
        body = self._request(
            "POST",
            "/2/tweets",
            what="reply",
            json={"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}},
        )
        post_id = str((body.get("data") or {}).get("id") or "")
        if not post_id:
            raise ChannelError("reply: no id in the answer", maybe_sent=True)
        return post_id

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        user_id = str(config.get("user_id") or "")
        if user_id and not user_id.isdigit():
            errors["user_id"] = str(_("Enter the numeric user id."))
        rate = config.get("rate_per_minute")
        if rate not in (None, ""):
            try:
                if float(rate) <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                errors["rate_per_minute"] = str(_("Enter a positive number."))
        return errors
