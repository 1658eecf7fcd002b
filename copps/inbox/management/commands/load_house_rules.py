"""``manage.py load_house_rules``: add the default numbered house rules that are missing.

Rules that exist (by number) are never changed: the force's own wording wins.
"""

from django.core.management.base import BaseCommand

from copps.inbox.house_rules import ensure_default_rules


class Command(BaseCommand):
    help = "Add the default numbered house rules (nl/fr/de/en) that do not exist yet."

    def handle(self, *args, **options):
        added = ensure_default_rules()
        self.stdout.write(f"{added} house rule(s) added.")
