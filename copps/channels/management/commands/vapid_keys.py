"""``copps vapid_keys``: print a new VAPID key pair for a web push channel."""

import json

from django.core.management.base import BaseCommand

from copps.channels.push import generate_vapid_keys


class Command(BaseCommand):
    help = (
        "Generate a VAPID key pair for a web push channel: the public key goes in the channel's "
        "settings, the private key in its secrets. Use one pair for every web push channel."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        public, private = generate_vapid_keys()
        if options["json"]:
            self.stdout.write(
                json.dumps({"vapid_public_key": public, "vapid_private_key": private})
            )
        else:
            self.stdout.write(f"vapid_public_key={public}\nvapid_private_key={private}")
