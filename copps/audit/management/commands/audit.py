from django.core.management.base import BaseCommand, CommandError

from copps.audit.log import verify


class Command(BaseCommand):
    help = "Audit log tools. `copps audit verify` checks the hash chain."

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args, **options):
        result = verify()
        if not result.ok:
            raise CommandError(
                f"audit log BROKEN at record {result.bad_seq}: {result.problem} "
                f"({result.checked} records verified before it)"
            )
        self.stdout.write(f"audit log OK: {result.checked} records verified")
