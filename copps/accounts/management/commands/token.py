"""``copps token create USERNAME [--name NAME] [--days N]`` and ``copps token revoke USERNAME``.

Contract for scripts: the LAST line ``create`` prints is the token itself and nothing else
(``TOKEN=$(copps token create alice | tail -n 1)``). Messages for people go before it. Both
subcommands go through the accounts actions, so issuance and revocation are audited (actor
``cli``).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from copps.accounts import actions
from copps.accounts.models import User


class Command(BaseCommand):
    help = "Issue or revoke personal API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="Issue a token; the last output line is the token.")
        create.add_argument("username")
        create.add_argument("--name", default="cli", help="What the token is for.")
        create.add_argument(
            "--days", type=int, default=None, help="Days until it expires (default: never)."
        )
        revoke = sub.add_parser("revoke", help="Revoke all tokens of a user.")
        revoke.add_argument("username")

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def handle(self, *args, **options):
        user = self._user(options["username"])
        if options["subcommand"] == "create":
            try:
                token, raw = actions.issue_token(
                    user, by=actions.CLI_ACTOR, name=options["name"], days=options["days"]
                )
            except PermissionDenied:
                raise CommandError(
                    f"{user.username} may not hold API tokens (inactive?)."
                ) from None
            except ValidationError as e:
                raise CommandError(" ".join(e.messages)) from None
            expiry = token.expires_at.isoformat() if token.expires_at else "never"
            self.stdout.write(
                f"Token {token.name!r} for {user.username} (ends in {token.hint}, expires: {expiry})."
                " It is shown only now:"
            )
            self.stdout.write(raw)
        else:
            count = actions.revoke_all_tokens(user, by=actions.CLI_ACTOR)
            self.stdout.write(f"Revoked {count} token(s) of {user.username}.")
