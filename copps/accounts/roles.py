"""Roles and what each may do: the one table every access decision reads.

A capability is a verb on a kind of object. Object-level rules (own area, own message, four
eyes) live in the access helper of that object type, e.g. ``copps.newsroom.access``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMUNICATOR = "communicator", _("Communicator")
    EDITOR = "editor", _("Editor")
    OFFICER = "officer", _("Neighbourhood officer")
    COACH = "coach", _("Communication coach")
    INVESTIGATOR = "investigator", _("Investigator")
    ANALYST = "analyst", _("Analyst")
    COMMANDER = "commander", _("Event commander")
    ADMIN = "admin", _("Administrator")


# Capabilities (verbs on object types).
VIEW_CONSOLE = "console.view"
MESSAGE_VIEW = "message.view"  # see messages in the console (all states)
MESSAGE_CREATE = "message.create"
MESSAGE_EDIT_ANY = "message.edit_any"  # edit drafts of others
MESSAGE_REVIEW = "message.review"  # approve / reject messages and corrections (never one's own)
MESSAGE_OVERRIDE = "message.override"  # override a blocking guideline finding
MESSAGE_PUBLISH = "message.publish"  # schedule, publish, propose corrections, retract
AUDIT_VIEW = "audit.view"
GUIDELINES_MANAGE = "guidelines.manage"  # word lists
PAGES_EDIT = "pages.edit"  # house rules, privacy statement, disclaimer
USERS_MANAGE = "users.manage"
TOKENS_OWN = "tokens.own"
CHANNELS_MANAGE = "channels.manage"  # configure channel accounts, test, enable, resume, alerts
DELIVERIES_RESOLVE = "deliveries.resolve"  # decide unknown outcomes: sent / send again / cancel
# Create wanted/missing person notices, record magistrates' authorisations, write the notice's
# public text, resolve it; see the internal case reference (communication staff never do).
NOTICES_MANAGE = "notices.manage"

# The citizens' inbox, per desk: the communication desk (comments, channel replies and mentions,
# fediverse replies, e-mails) and the investigation desk (anonymous tips, SMS). Nobody holds both
# by default: communication and investigation stay separate (tips never reach communicators).
INBOX_COMMUNICATION = "inbox.communication"
INBOX_MODERATE = "inbox.moderate"  # hide / remove / publish comments and replies (house rules)
INBOX_INVESTIGATION = "inbox.investigation"  # tips and SMS: read, answer, export

# The police blotter: the publication policy, the review queue, uploads and raw incidents
# (editors, administrators); pushing incidents through the API and uploading files (analysts,
# administrators).
BLOTTER_MANAGE = "blotter.manage"
BLOTTER_IMPORT = "blotter.import"

# Listening (copps.listening): communication purposes (reputation, public mood, rumours, events)
# and their results; investigation purposes (a case, a legal basis) and their results. Nobody
# holds both by default.
LISTENING_COMMUNICATION = "listening.communication"
LISTENING_INVESTIGATION = "listening.investigation"

# Public order and crisis (copps.crowd): follow events' live crowd picture; set up events, zones,
# routes and sensors and push sensor counts; send pre-approved templates through the fast track
# (a named commander); write message templates; approve them (a second person, never the
# writer); switch the public site to crisis mode.
EVENTS_VIEW = "events.view"
EVENTS_MANAGE = "events.manage"
EVENTS_FAST_TRACK = "events.fast_track"
TEMPLATES_WRITE = "templates.write"
TEMPLATES_APPROVE = "templates.approve"
CRISIS_MANAGE = "crisis.manage"

_ALL_STAFF = {VIEW_CONSOLE, MESSAGE_VIEW, TOKENS_OWN}

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COMMUNICATOR: frozenset(
        _ALL_STAFF
        | {
            MESSAGE_CREATE,
            INBOX_COMMUNICATION,
            INBOX_MODERATE,
            LISTENING_COMMUNICATION,
            EVENTS_VIEW,
            TEMPLATES_WRITE,
        }
    ),
    Role.EDITOR: frozenset(
        _ALL_STAFF
        | {
            MESSAGE_CREATE,
            MESSAGE_EDIT_ANY,
            MESSAGE_REVIEW,
            MESSAGE_OVERRIDE,
            MESSAGE_PUBLISH,
            AUDIT_VIEW,
            PAGES_EDIT,
            DELIVERIES_RESOLVE,
            INBOX_COMMUNICATION,
            INBOX_MODERATE,
            BLOTTER_MANAGE,
            LISTENING_COMMUNICATION,
            EVENTS_VIEW,
            TEMPLATES_WRITE,
            TEMPLATES_APPROVE,
        }
    ),
    # Officers draft for their own area only (enforced in the message access helper).
    Role.OFFICER: frozenset(_ALL_STAFF | {MESSAGE_CREATE, INBOX_COMMUNICATION}),
    Role.COACH: frozenset(_ALL_STAFF | {AUDIT_VIEW, GUIDELINES_MANAGE}),
    Role.INVESTIGATOR: frozenset(
        _ALL_STAFF | {NOTICES_MANAGE, INBOX_INVESTIGATION, LISTENING_INVESTIGATION}
    ),
    Role.ANALYST: frozenset(
        _ALL_STAFF | {BLOTTER_IMPORT, LISTENING_COMMUNICATION, EVENTS_VIEW}
    ),
    Role.COMMANDER: frozenset(
        _ALL_STAFF
        | {MESSAGE_CREATE, EVENTS_VIEW, EVENTS_MANAGE, EVENTS_FAST_TRACK, TEMPLATES_WRITE}
    ),
    Role.ADMIN: frozenset(
        _ALL_STAFF
        | {
            MESSAGE_CREATE,
            MESSAGE_EDIT_ANY,
            MESSAGE_REVIEW,
            MESSAGE_OVERRIDE,
            MESSAGE_PUBLISH,
            AUDIT_VIEW,
            GUIDELINES_MANAGE,
            PAGES_EDIT,
            USERS_MANAGE,
            CHANNELS_MANAGE,
            DELIVERIES_RESOLVE,
            INBOX_COMMUNICATION,
            INBOX_MODERATE,
            BLOTTER_MANAGE,
            BLOTTER_IMPORT,
            LISTENING_COMMUNICATION,
            EVENTS_VIEW,
            EVENTS_MANAGE,
            EVENTS_FAST_TRACK,
            TEMPLATES_WRITE,
            TEMPLATES_APPROVE,
            CRISIS_MANAGE,
        }
    ),
}

# Roles that must use two-factor authentication when COPPS_REQUIRE_2FA is on.
ROLES_REQUIRING_2FA = frozenset({Role.EDITOR, Role.ADMIN})


def has_capability(user, capability: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())
