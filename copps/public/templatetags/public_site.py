"""Template helpers of the public site."""

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info

register = template.Library()


@register.simple_tag(takes_context=True)
def language_links(context) -> list[dict]:
    """One link per interface language to this page in that language.

    Plain links rather than the set_language POST form: they work without JavaScript and keep
    public pages free of the CSRF cookie, so they stay cacheable. A view may pass
    ``language_urls`` ({code: path}) to point straight at, say, a message's other versions;
    otherwise the current URL is translated, and a page that cannot be (a 404) links to the
    other language's home page.
    """
    request = context.get("request")
    overrides = context.get("language_urls") or {}
    current = get_language()
    path = request.get_full_path() if request is not None else "/"
    links = []
    for code, _name in settings.LANGUAGES:
        url = overrides.get(code)
        if url is None:
            url = translate_url(path, code)
            if url == path and code != current:
                url = f"/{code}/"
        links.append(
            {
                "code": code,
                "name": get_language_info(code)["name_local"],
                "url": url,
                "current": code == current,
            }
        )
    return links
