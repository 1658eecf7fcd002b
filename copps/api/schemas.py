"""Request and response shapes of the JSON API; the OpenAPI document is generated from these.

Input rules that hold for every text field: a string (never a number or list), no NUL
characters and no lone surrogates (PostgreSQL and UTF-8 cannot store them), and the same length
limits as the models, so an over-long value is a 422 naming the field, never a database error.
Request bodies refuse unknown fields (a typo such as ``"langauge"`` is an error, not ignored).
Datetimes without an offset are read in the site's time zone (settings.TIME_ZONE).
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.conf import settings
from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictStr

from copps.newsroom.models import CONTENT_LANGUAGES, CorrectionState, Kind
from copps.newsroom.renditions import CHANNELS
from copps.newsroom.workflow import TRANSITIONS, State

# Literal[...] built from the project's own tables, so the schema enums follow settings.
# A type checker cannot evaluate a Literal built at run time, so it sees the plain ``str`` that
# every one of these values is; pydantic (at run time) sees and enforces the Literal.
if TYPE_CHECKING:
    Language = str
    KindCode = str
    StateCode = str
    ChannelCode = str
    ActionCode = str
    CorrectionStateCode = str
else:
    Language = Literal[tuple(CONTENT_LANGUAGES)]
    KindCode = Literal[tuple(Kind.values)]
    StateCode = Literal[tuple(State.values)]
    ChannelCode = Literal[tuple(CHANNELS)]
    ActionCode = Literal[tuple(TRANSITIONS)]
    CorrectionStateCode = Literal[tuple(CorrectionState.values)]
Severity = Literal["blocking", "warning", "info"]

MAX_REASON = 2000


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("The text is not valid Unicode (lone surrogate).") from None
    return value


def _text(max_length: int, min_length: int = 0):
    return Annotated[
        StrictStr, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)
    ]


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The date is out of range.") from None
    return value


# Same as above: the constraints are built by a function, so a type checker sees ``str``.
if TYPE_CHECKING:
    Title = str
    Teaser = str
    Body = str
    Signature = str
    Reason = str
else:
    Title = _text(200)
    Teaser = _text(400)
    Body = _text(settings.COPPS_MAX_BODY_CHARS)
    Signature = _text(160)
    Reason = _text(MAX_REASON)
Slug = Annotated[StrictStr, Field(min_length=1, max_length=120, pattern=r"^[-a-zA-Z0-9_]+$")]
When = Annotated[datetime, AfterValidator(_aware)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


# Requests -----------------------------------------------------------------------------------


class VersionIn(Input):
    """One language version, complete."""

    language: Language
    title: Title
    body: Body
    teaser: Teaser | None = None


class MessageCreateIn(Input):
    """A new draft. Give ``title``, ``body`` and ``language`` (plus ``teaser``) for one language,
    and/or ``versions`` for several at once; each language at most once."""

    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    teaser: Teaser | None = None
    versions: list[VersionIn] | None = Field(None, max_length=len(CONTENT_LANGUAGES))
    kind: KindCode | None = Field(None, description="Default: news.")
    channels: list[ChannelCode] | None = Field(
        None,
        max_length=len(CHANNELS),
        description="Formats (rendition keys). Default: web, rss and the format of every channel "
        "account that serves the message's languages and audiences.",
    )
    audiences: list[Slug] | None = Field(None, max_length=50, description="Audience slugs.")
    area: Slug | None = Field(None, description="Area slug (officers: their own area).")
    is_personal: StrictBool | None = None
    signature: Signature | None = None
    publish_at: When | None = None
    expires_at: When | None = None


class MessagePatchIn(Input):
    """Changes to a draft; absent fields stay as they are.

    Text: ``versions`` replaces whole language versions (added when new); ``language`` with any
    of ``title``/``teaser``/``body`` changes just those fields of that language.
    ``replace_versions: true`` deletes the languages not named in ``versions``.
    ``null`` clears ``area``, ``publish_at``, ``expires_at``, ``teaser``, ``signature``,
    ``audiences`` and ``channels`` (back to the default) and leaves other fields unchanged.
    ``version`` (optional) is the message version you edited: a different current version is a
    409, so two people editing at once do not overwrite each other silently.
    """

    version: int | None = Field(None, ge=1, le=2**31)
    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    teaser: Teaser | None = None
    versions: list[VersionIn] | None = Field(None, max_length=len(CONTENT_LANGUAGES))
    replace_versions: StrictBool = False
    kind: KindCode | None = None
    channels: list[ChannelCode] | None = Field(None, max_length=len(CHANNELS))
    audiences: list[Slug] | None = Field(None, max_length=50)
    area: Slug | None = None
    is_personal: StrictBool | None = None
    signature: Signature | None = None
    publish_at: When | None = None
    expires_at: When | None = None


class SubmitIn(Input):
    override_reason: Reason | None = Field(
        None, description="Editors only: submit despite blocking findings, saying why."
    )


class ApproveIn(Input):
    publish_at: When | None = Field(
        None, description="Publish later; absent or past means publish now."
    )


class ReasonIn(Input):
    reason: Reason


class ScheduleIn(Input):
    publish_at: When


class CorrectIn(Input):
    """A proposed correction to a published message: ``note`` is shown to readers once another
    editor approves it. Text as when editing (``language`` + fields, or whole ``versions``)."""

    note: Reason
    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    teaser: Teaser | None = None
    versions: list[VersionIn] | None = Field(None, max_length=len(CONTENT_LANGUAGES))
    override_reason: Reason | None = Field(
        None, description="Editors only: propose despite blocking findings, saying why."
    )


class CheckIn(Input):
    """Unsaved content to check against the guidelines (same text fields as creating)."""

    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    teaser: Teaser | None = None
    versions: list[VersionIn] | None = Field(None, max_length=len(CONTENT_LANGUAGES))
    channels: list[ChannelCode] | None = Field(None, max_length=len(CHANNELS))
    is_personal: StrictBool | None = None
    signature: Signature | None = None


# Responses ----------------------------------------------------------------------------------


class FindingOut(Schema):
    code: str
    severity: Severity
    message: str
    language: str
    field: str
    excerpt: str
    start: int = Field(description="Offset in the field; -1 when the finding has no position.")
    end: int


class VersionOut(Schema):
    language: Language
    title: str
    teaser: str
    body: str = Field(description="Markdown as written (stored unchanged).")
    body_html: str = Field(description="The body as the public site renders it (sanitised).")


class PersonOut(Schema):
    id: int
    username: str
    name: str


class DeliveryOut(Schema):
    id: int
    channel: str = Field(description="The channel's slug.")
    channel_name: str
    kind: str = Field(description="The channel's kind (mastodon, bluesky, email, sms_kannel ...).")
    language: str
    operation: Literal["post", "update", "delete"]
    state: Literal["pending", "sending", "sent", "failed", "unknown", "cancelled"]
    permanent: bool = Field(description="A failure that will not be retried.")
    external_id: str
    url: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    recipients: dict[str, int] | None = Field(
        None, description="Subscriber channels: total, sent, failed, unknown copies."
    )


class MessageOut(Schema):
    id: int
    state: StateCode
    kind: KindCode
    version: int = Field(description="Bumped by every change; send it back with PATCH.")
    author: PersonOut
    approved_by: PersonOut | None
    area: str | None
    audiences: list[str]
    channels: list[str]
    is_personal: bool
    signature: str
    publish_at: datetime | None
    expires_at: datetime | None
    published_at: datetime | None
    corrected_at: datetime | None
    correction_note: str
    retracted_at: datetime | None
    retraction_note: str
    rejection_reason: str
    override_reason: str
    created_at: datetime
    updated_at: datetime
    languages: list[str]
    versions: list[VersionOut]
    permalink: str = Field(description="The public page (answers once published).")
    short_link: str
    url: str = Field(description="This message in the API.")
    allowed_actions: list[ActionCode] = Field(description="What you may do with it now.")


class CorrectionTextOut(Schema):
    title: str
    teaser: str
    body: str = Field(description="Markdown as proposed.")


class CorrectionOut(Schema):
    id: int
    message_id: int
    state: CorrectionStateCode = Field(
        description="pending until another editor approves or rejects it; superseded when a "
        "newer proposal replaced it."
    )
    note: str = Field(description="Shown to readers once approved.")
    versions: dict[str, CorrectionTextOut] = Field(
        description="Only the languages this correction changes, by language code."
    )
    proposed_by: PersonOut
    proposed_at: datetime
    decided_by: PersonOut | None
    decided_at: datetime | None
    decision_reason: str
    override_reason: str
    url: str = Field(description="This correction in the API.")
    allowed_actions: list[Literal["approve", "reject"]] = Field(
        description="What you may do with it now."
    )


class CorrectionDecisionOut(CorrectionOut):
    message: MessageOut = Field(description="The message after the decision.")


class SubmitOut(MessageOut):
    findings: list[FindingOut]


class MessageListOut(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    next: str | None
    previous: str | None
    results: list[MessageOut]


class RenditionOut(Schema):
    channel: ChannelCode
    label: str
    language: Language
    text: str
    length: int
    limit: int | None
    unit: str = Field(description="What length counts: chars, graphemes, sms (septets), ...")
    truncated: bool
    link: str
    encoding: str = Field(description="SMS only: GSM-7 or UCS-2.")
    segments: int = Field(description="SMS only: number of SMS parts.")


class FindingsOut(Schema):
    blocking: bool
    findings: list[FindingOut]


class AuditOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    reason: str
    data: dict[str, Any]


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str
    area: str | None
    capabilities: list[str]


class ErrorOut(Schema):
    """Every error: ``detail`` for people; ``errors`` per field (validation);
    ``findings`` (blocking guideline findings, 422 on submit)."""

    detail: str
    errors: dict[str, list[str]] | None = None
    findings: list[FindingOut] | None = None
    # Sensor counts: why the count was refused (malformed, out_of_order, flood, …).
    reason: str | None = None
