from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Page(models.Model):
    """An editable static page of the public site, in several languages."""

    class Slug(models.TextChoices):
        HOUSE_RULES = "house-rules", _("House rules")
        PRIVACY = "privacy", _("Privacy statement")
        DISCLAIMER = "disclaimer", _("Disclaimer")
        ABOUT = "about", _("About")

    slug = models.SlugField(_("slug"), max_length=40, choices=Slug.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"))
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slug", "language"], name="one_page_per_language")
        ]
        ordering = ["slug", "language"]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"

    @property
    def body_html(self) -> str:
        from copps.newsroom.markup import render_markdown

        return render_markdown(self.body)
