"""``/feeds/blotter.xml``: the latest public blotter entries as RSS 2.0.

The same filters as the page (``municipality``, ``category``, ``from``, ``to``) and ``?lang=``
for the category labels (default nl). Reads published ``Entry`` rows only; an entry that was taken
down simply is no longer in the feed. ``Cache-Control: public, max-age=60`` and an ETag.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Rss201rev2Feed, SyndicationFeed
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .public_views import MAX_AGE, content_language, entries_etag, filters_from, published

FEED_ITEMS = 50


class BlotterRss(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    path = "/feeds/blotter.xml"
    description = gettext_lazy("Police blotter: incidents, generalised and without personal data")

    def __call__(self, request, *args, **kwargs):
        lang = content_language(request.GET.get("lang") or "nl")
        etag = '"' + entries_etag(request) + '"'
        response: HttpResponse
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponseNotModified()
        else:
            with translation.override(lang):
                response = super().__call__(request, *args, **kwargs)
        response["ETag"] = etag
        patch_cache_control(response, public=True, max_age=MAX_AGE)
        return response

    def get_object(self, request, *args, **kwargs):
        return {
            "lang": content_language(request.GET.get("lang") or "nl"),
            "filters": filters_from(request),
        }

    def title(self, obj):
        return f"{settings.FORCE_NAME} — {_('Police blotter')}"

    def link(self, obj):
        with translation.override(obj["lang"]):
            url = reverse("blotter:list")
        query = urlencode(obj["filters"].query())
        return settings.SITE_URL + url + (f"?{query}" if query else "")

    def feed_url(self, obj):
        query = urlencode({**obj["filters"].query(), "lang": obj["lang"]})
        return f"{settings.SITE_URL}{self.path}?{query}"

    def language(self, obj):  # type: ignore[override]
        return obj["lang"]

    def items(self, obj):
        # The feed object is shared between requests: each item carries its request's language.
        entries = list(obj["filters"].apply(published())[:FEED_ITEMS])
        for entry in entries:
            entry.feed_lang = obj["lang"]
        return entries

    def item_title(self, item):
        place = ", ".join(p for p in (item.street, item.municipality) if p)
        return f"{item.label(item.feed_lang)} — {place}" if place else item.label(item.feed_lang)

    def item_description(self, item):
        when = timezone.localtime(item.occurred_at).strftime("%Y-%m-%d %H:%M")
        # The feed generator escapes the text; the summary is already redacted.
        return f"{when} — {item.summary}" if item.summary else when

    def item_link(self, item):
        with translation.override(item.feed_lang):
            url = reverse("blotter:list")
        query = f"?{urlencode({'municipality': item.nis})}" if item.nis else ""
        return f"{settings.SITE_URL}{url}{query}#entry-{item.pk}"

    def item_guid(self, item):
        return f"{settings.SITE_URL}/blotter/{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        # The rounded time, never published_at/updated_at: an entry is published when its delay
        # has passed, so that moment (to the worker's minute) minus the delay is the exact time
        # the incident was reported — the rounding would be undone (also via lastBuildDate).
        return item.occurred_at

    def item_categories(self, item):
        return [item.label(item.feed_lang)]
