"""RSS 2.0 and Atom feeds of published messages: one item per language version.

``?lang=nl`` narrows a feed to one language (an unknown value is ignored). Retracted, expired
and unpublished messages are never in a feed; corrected ones stay, with their correction time as
the update time and the correction note on top, so readers refresh them. Feeds are public and
the same for everyone: ``Cache-Control: public, max-age=60``.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from copps.newsroom.models import CONTENT_LANGUAGES, MessageVersion

from .views import public_messages

FEED_ITEMS = 50


def feed_language(request) -> str:
    """The ``?lang=`` filter if it names a content language, else "" (all languages)."""
    lang = request.GET.get("lang", "")
    return lang if lang in CONTENT_LANGUAGES else ""


class NewsRss(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    path = "/feeds/news.xml"
    description = gettext_lazy("News and press releases")

    def __call__(self, request, *args, **kwargs):
        # Category names and titles follow the feed's language when it has one.
        lang = feed_language(request)
        with translation.override(lang or translation.get_language()):
            response = super().__call__(request, *args, **kwargs)
        patch_cache_control(response, public=True, max_age=60)
        return response

    def get_object(self, request, *args, **kwargs):
        return feed_language(request)

    def title(self, lang):
        return f"{settings.FORCE_NAME} — {_('News')}"

    def link(self, lang):
        return f"{settings.SITE_URL}/{lang or settings.LANGUAGE_CODE}/news/"

    def feed_url(self, lang):
        return settings.SITE_URL + self.path + (f"?lang={lang}" if lang else "")

    # Feed reads every attribute through _get_dynamic_attr, so a method is allowed here; the
    # stubs declare only the plain attribute.
    def language(self, lang):  # type: ignore[override]
        return lang or settings.LANGUAGE_CODE

    def items(self, lang):
        visible = public_messages(lang or None, now=timezone.now()).order_by()
        qs = (
            MessageVersion.objects.filter(message__in=visible)
            .select_related("message")
            .order_by("-message__published_at", "-message_id", "language")
        )
        if lang:
            qs = qs.filter(language=lang)
        return qs[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        message = item.message
        parts: list[str] = []
        if message.correction_note:
            parts.append(
                format_html(
                    "<p><strong>{}</strong> {}</p>",
                    _("Correction:"),
                    message.correction_note,
                )
            )
        if item.teaser:
            parts.append(f"<p>{escape(item.teaser)}</p>")
        # body_html is already sanitised by nh3 (copps.newsroom.markup).
        parts.append(item.body_html)
        return "".join(parts)

    def item_link(self, item):
        return item.message.permalink(item.language)

    def item_guid(self, item):
        return item.message.permalink(item.language)

    item_guid_is_permalink = True

    def item_pubdate(self, item):
        return item.message.published_at

    def item_updateddate(self, item):
        return item.message.corrected_at or item.message.published_at

    def item_categories(self, item):
        return [str(item.message.get_kind_display())]

    def item_author_name(self, item):
        return settings.FORCE_NAME


class NewsAtom(NewsRss):
    feed_type = Atom1Feed
    subtitle = NewsRss.description
    path = "/feeds/news.atom"
