"""``copps fediverse actors`` and ``copps fediverse follow USERNAME HANDLE``.

``actors`` lists the force's fediverse accounts, one a line: ``@name@host kind enabled
followers=N pending=N following=N``. ``follow`` makes one of them follow a remote account
(``@name@server`` or an actor URL): the Follow is queued and the worker sends it; the account
shows as followed once the other server accepts. Following goes through the federation actions,
so it is audited (actor ``cli``).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from copps.accounts.actions import CLI_ACTOR
from copps.federation import actions, ids, remote
from copps.federation.models import Actor, FollowState


class Command(BaseCommand):
    help = "The force's fediverse accounts: list them, or follow a remote account."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("actors", help="List the fediverse accounts and their followers.")
        follow = sub.add_parser("follow", help="Make one of our accounts follow a remote one.")
        follow.add_argument("username", help="Our account's user name (news for @news).")
        follow.add_argument("handle", help="The remote account: @name@server or its URL.")

    def handle(self, *args, **options):
        if options["subcommand"] == "actors":
            self._actors()
        else:
            self._follow(options["username"], options["handle"])

    def _actors(self) -> None:
        accepted, pending = (
            Q(followers__state=FollowState.ACCEPTED),
            Q(followers__state=FollowState.PENDING),
        )
        rows = Actor.objects.annotate(
            accepted=Count("followers", filter=accepted, distinct=True),
            pending=Count("followers", filter=pending, distinct=True),
            follows=Count(
                "following",
                filter=Q(following__state=FollowState.ACCEPTED),
                distinct=True,
            ),
        ).order_by("username")
        for actor in rows:
            self.stdout.write(
                f"@{actor.username}@{ids.domain()} {actor.kind} "
                f"{'enabled' if actor.enabled else 'disabled'} followers={actor.accepted} "
                f"pending={actor.pending} following={actor.follows}"
            )

    def _follow(self, username: str, handle: str) -> None:
        actor = Actor.objects.filter(username=username.lstrip("@")).first()
        if actor is None:
            raise CommandError(f"No fediverse account named {username!r}.")
        try:
            following = actions.follow(actor, handle, by=CLI_ACTOR)
        except remote.RemoteError as exc:
            raise CommandError(f"Cannot follow {handle}: {exc}") from None
        state = "followed" if following.state == FollowState.ACCEPTED else "requested"
        self.stdout.write(f"@{actor.username} {state} {following.remote.handle}")
