"""Install the default house rules, privacy statement and disclaimer (nl, fr, en).

Never overwrites a page that already exists; reversing leaves the pages alone (they may have
been edited since).
"""

from django.db import migrations


def create_default_pages(apps, schema_editor):
    from copps.public.default_pages import DEFAULT_PAGES

    Page = apps.get_model("public", "Page")
    for (slug, language), (title, body) in DEFAULT_PAGES.items():
        Page.objects.get_or_create(
            slug=slug,
            language=language,
            defaults={"title": title, "body": body, "updated_by": "copps"},
        )


class Migration(migrations.Migration):
    dependencies = [("public", "0001_initial")]

    operations = [migrations.RunPython(create_default_pages, migrations.RunPython.noop)]
