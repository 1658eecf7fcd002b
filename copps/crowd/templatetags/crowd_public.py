"""``{% crisis_banner %}``: the public site's line pointing at the crisis front page while crisis
mode is on (nothing otherwise). Reads the cached crisis state: no query on most page views."""

from django import template
from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse
from django.utils.translation import get_language

from copps.crowd.public import crisis_state, crisis_text

register = template.Library()


@register.inclusion_tag("crowd/_crisis_banner.html")
def crisis_banner() -> dict:
    try:
        state = crisis_state()
    except DatabaseError:  # a page about something else still renders (the 404 page, say)
        return {"crisis": None}
    if state is None:
        return {"crisis": None}
    language = get_language() or settings.LANGUAGE_CODE
    text = crisis_text(state, language)
    return {"crisis": text, "home": reverse("public:home"), "foreign": text["language"] != language}
