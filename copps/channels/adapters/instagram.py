"""Instagram professional account linked to the force's Facebook Page (Instagram API with
Facebook Login, content publishing).

Publishing takes three steps; only the second-last one is irreversible:

1. ``POST /{ig-user-id}/media`` (``image_url``, ``caption``, ``alt_text``) -> ``{"id": container}``.
   A container is not visible to anyone and expires after 24 hours, so an error here (even an
   unanswered call) has published nothing: it is retried like any refused call;
2. ``GET /{container}?fields=status_code`` until ``FINISHED`` (``ERROR``/``EXPIRED``: refused);
3. ``POST /{ig-user-id}/media_publish`` (``creation_id``) -> ``{"id": media id}``: the post is out.
   An unanswered call here becomes *unknown* and is read back (``find()``), never re-published;
4. ``GET /{media-id}?fields=permalink`` for the URL (a failure here does not undo the post).

Instagram posts need an image: a message without one fails permanently with a clear error.
The API cannot change a published caption (``can_edit`` False: the engine posts a correction,
which carries the message's image again). ``DELETE /{ig-media-id}`` removes a post when the token
has ``instagram_manage_contents`` (Facebook Login only). Published limit: 50 API-published posts
per account in a moving 24 hours, which is the rate used here. Errors: as Facebook (Graph).
"""

from __future__ import annotations

import time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..base import ChannelError, Field, Outcome
from .facebook import DEFAULT_VERSION, GraphAdapter, GraphError, graph_error
from .x import listing, normalise

STATUS_POLLS = 10
STATUS_WAIT = 1.0
FIND_WINDOW = 25


class InstagramAdapter(GraphAdapter):
    kind = "instagram"
    rendition = "instagram"
    idempotent = False
    can_edit = False
    can_delete = True
    can_find = True
    rate_per_minute = 50 / (24 * 60)
    sandbox_base = "https://instagram.sandbox.invalid"
    auth_setting = "access_token"
    fields = (
        Field(
            "ig_user_id",
            gettext_lazy("Instagram account id"),
            help=gettext_lazy("The numeric IG user id of the professional account."),
        ),
        Field(
            "api_version",
            gettext_lazy("Graph API version"),
            required=False,
            default=DEFAULT_VERSION,
            help=gettext_lazy("For example v25.0; empty: the version copps was tested with."),
        ),
        Field(
            "access_token",
            gettext_lazy("Access token"),
            secret=True,
            help=gettext_lazy(
                "A long-lived token with instagram_basic, instagram_content_publish, "
                "instagram_manage_contents and pages_read_engagement."
            ),
        ),
    )

    @property
    def ig_user(self) -> str:
        return str(self.config.get("ig_user_id", ""))

    def check(self) -> str:
        body = self.graph(
            "GET", f"/{self.ig_user}", what="account", params={"fields": "id,username"}
        )
        return f"@{body.get('username') or self.ig_user}"

    def _container(self, delivery) -> str:
        p = delivery.payload
        images = p.get("images") or []
        if not images:
            raise ChannelError(
                _("Instagram needs an image: attach one to the message to post it there."),
                permanent=True,
            )
        data = {"image_url": images[0]["url"], "caption": p.get("text", "")}
        if images[0].get("alt"):
            data["alt_text"] = images[0]["alt"]
        try:
            body = self.graph("POST", f"/{self.ig_user}/media", what="create container", data=data)
        except ChannelError as err:
            err.maybe_sent = False  # an unpublished container is invisible: nothing went out
            raise
        container = str(body.get("id") or "")
        if not container:
            raise ChannelError("create container: no id in the answer")
        for _poll in range(STATUS_POLLS):
            try:
                status = self.graph(
                    "GET",
                    f"/{container}",
                    what="container status",
                    params={"fields": "status_code"},
                ).get("status_code")
            except ChannelError as err:
                err.maybe_sent = False
                raise
            if status == "FINISHED":
                return container
            if status in ("ERROR", "EXPIRED"):
                raise ChannelError(
                    f"Instagram refused the image (container {status})", permanent=True
                )
            time.sleep(STATUS_WAIT)
        raise ChannelError("Instagram is still processing the image; trying again later")

    def post(self, delivery) -> Outcome:
        container = self._container(delivery)
        body = self.graph(
            "POST",
            f"/{self.ig_user}/media_publish",
            what="publish",
            creating=True,
            data={"creation_id": container},
        )
        media_id = str(body.get("id") or "")
        if not media_id:
            raise ChannelError("publish: no id in the answer", maybe_sent=True)
        return Outcome(media_id, self._permalink(media_id))

    def _permalink(self, media_id: str) -> str:
        try:
            body = self.graph(
                "GET", f"/{media_id}", what="permalink", params={"fields": "permalink"}
            )
        except ChannelError:
            return ""  # the post is out; only its address is missing
        link = str(body.get("permalink") or "")
        return link if link.startswith("https://") else ""

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
        if not isinstance(err, GraphError):
            raise err
        if (err.code, err.subcode) == (100, 33):
            return  # already gone: "object does not exist"
        if err.code == 10 or 200 <= (err.code or 0) <= 299:
            # A missing permission (instagram_manage_contents) only stops deleting, not posting:
            # this post has to be removed by hand.
            raise ChannelError(f"{err} (remove the post in the Instagram app)", permanent=True)
        raise err

    def find(self, delivery) -> Outcome | None:
        body = self.graph(
            "GET",
            f"/{self.ig_user}/media",
            what="read back",
            params={"fields": "id,caption,permalink,timestamp", "limit": FIND_WINDOW},
        )
        wanted = normalise(delivery.payload.get("text", ""))
        for media in listing(body, "data"):
            if normalise(str(media.get("caption", ""))) == wanted:
                link = str(media.get("permalink") or "")
                return Outcome(str(media["id"]), link if link.startswith("https://") else "")
        return None
