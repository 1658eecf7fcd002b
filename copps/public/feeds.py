"""RSS 2.0 and Atom feeds of published messages: one item per language version.

``?lang=nl`` narrows a feed to one language. Retracted messages leave the feed; corrected ones
stay, with their update time so readers refresh them.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext_lazy as _

from copps.newsroom.models import CONTENT_LANGUAGES, MessageVersion
from copps.newsroom.workflow import PUBLIC_STATES


class NewsRss(Feed):
    feed_type = Rss201rev2Feed
    description = _("News and press releases")

    def title(self):
        return f"{settings.FORCE_NAME} — {_('News')}"

    def link(self):
        return settings.SITE_URL + "/"

    def get_object(self, request, *args, **kwargs):
        lang = request.GET.get("lang", "")
        return lang if lang in CONTENT_LANGUAGES else ""

    def items(self, lang):
        qs = (
            MessageVersion.objects.filter(message__state__in=PUBLIC_STATES)
            .select_related("message")
            .order_by("-message__published_at", "-message_id")
        )
        if lang:
            qs = qs.filter(language=lang)
        return qs[:50]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        note = ""
        if item.message.correction_note:
            note = f"<p><strong>{_('Correction')}:</strong> {item.message.correction_note}</p>"
        return note + (f"<p>{item.teaser}</p>" if item.teaser else "") + item.body_html

    def item_link(self, item):
        return item.message.permalink(item.language)

    def item_guid(self, item):
        return item.message.permalink(item.language)

    def item_pubdate(self, item):
        return item.message.published_at

    def item_updateddate(self, item):
        return item.message.corrected_at or item.message.published_at

    def item_categories(self, item):
        return [item.message.get_kind_display()]

    def item_author_name(self, item):
        return settings.FORCE_NAME


class NewsAtom(NewsRss):
    feed_type = Atom1Feed
    subtitle = NewsRss.description
