"""The conditions a notice's message must meet to go out (registered as a newsroom gate).

- it belongs to a notice (a "notice" message is only made through ``create_notice``);
- the notice is not resolved or lapsed;
- the notice has an authorisation valid now, and the message's channels are all allowed by it;
- the message has no end time of its own (a notice ends by being resolved or by its
  authorisation lapsing: a newsroom expiry would leave its text on the old page).

On publication the notice becomes active, in the same transaction as the publication.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Notice, NoticeState


def notice_gate(message, action: str) -> None:
    notice = Notice.objects.filter(message_id=message.pk).select_related("authorisation").first()
    if notice is None:
        if message.kind == "notice":
            raise ValidationError(
                {"kind": [_("A notice is created in the notices console, with its authorisation.")]}
            )
        return
    check_notice(notice, message)
    if action == "publish":
        Notice.objects.filter(pk=notice.pk, state=NoticeState.DRAFT).update(
            state=NoticeState.ACTIVE
        )
        notice.state = NoticeState.ACTIVE


def check_notice(notice: Notice, message, now=None) -> None:
    """Raise ValidationError unless ``notice`` may go out now with ``message``'s settings."""
    if notice.is_closed:
        raise ValidationError({"state": [_("This notice is closed and cannot go out again.")]})
    authorisation = notice.authorisation
    if authorisation is None:
        raise ValidationError(
            {"authorisation": [_("Record the magistrate's authorisation before submitting.")]}
        )
    if not authorisation.is_valid(now or timezone.now()):
        raise ValidationError(
            {
                "authorisation": [
                    _("The magistrate's authorisation is no longer valid: record a new one.")
                ]
            }
        )
    refused = [c for c in message.channels or [] if c not in authorisation.channels_allowed]
    if refused:
        raise ValidationError(
            {
                "channels": [
                    _("The authorisation does not allow these channels: %(channels)s.")
                    % {"channels": ", ".join(refused)}
                ]
            }
        )
    if message.expires_at:
        raise ValidationError(
            {
                "expires_at": [
                    _(
                        "A notice has no end time: it ends when it is resolved or when its "
                        "authorisation lapses."
                    )
                ]
            }
        )
