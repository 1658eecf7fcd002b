from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from django.views.i18n import set_language
from django.views.static import serve

from copps.api.urls import urlpatterns as api_urls
from copps.channels import unsubscribe
from copps.public import feeds
from copps.public import views as public_views

urlpatterns = [
    path("healthz", public_views.healthz, name="healthz"),
    path("robots.txt", public_views.robots, name="robots"),
    path("feeds/news.xml", feeds.NewsRss(), name="feed-rss"),
    path("feeds/news.atom", feeds.NewsAtom(), name="feed-atom"),
    path("", include("copps.blotter.feed_urls")),
    path("m/<int:pk>", public_views.short_link, name="short"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("copps.accounts.urls")),
    path("console/pages/", include("copps.public.console_urls")),
    path("console/channels/", include("copps.channels.console_urls")),
    path("console/outbox/", include("copps.channels.outbox_urls")),
    path("console/fediverse/", include("copps.federation.console_urls")),
    path("console/notices/", include("copps.investigations.console_urls")),
    path("console/tips/", include("copps.investigations.tip_console_urls")),
    path("console/inbox/", include("copps.inbox.console_urls")),
    path("console/blotter/", include("copps.blotter.console_urls")),
    path("console/listening/", include("copps.listening.console_urls")),
    path("console/events/", include("copps.crowd.console_urls")),
    # Anonymous tips (/tips/new, /tips/follow-up, /notices/<id>/tip): outside the language
    # prefix, as the contract names them; the language comes from ?lang= or the browser.
    path("", include("copps.investigations.tip_urls")),
    path("hooks/sms/", include("copps.inbox.sms_urls")),
    path("hooks/listening/", include("copps.listening.hook_urls")),
    path("comments/", include("copps.inbox.comment_urls")),
    path("channels/sms/", include("copps.channels.sms_urls")),
    path("push/", include("copps.channels.push_urls")),
    path("unsubscribe/<str:token>", unsubscribe.unsubscribe, name="unsubscribe"),
    path("", include("copps.federation.urls")),
    path("console/", include("copps.console.urls")),
    *api_urls,
    path("", public_views.root, name="root"),
]
urlpatterns += i18n_patterns(
    path("", include("copps.channels.public_urls")),
    path("", include("copps.public.urls")),
    path("", include("copps.investigations.public_urls")),
    path("", include("copps.blotter.public_urls")),
    path("", include("copps.crowd.public_urls")),
    prefix_default_language=True,
)

# Uploaded images. Behind a reverse proxy in production the proxy serves /media/ itself
# (docs/deployment.md); serving here keeps the embedded default self-contained.
urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
