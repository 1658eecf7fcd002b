"""The JSON API, version 1: the newsroom workflow for other programs.

Every endpoint needs ``Authorization: Bearer <token>`` (``copps.api.auth``). Views are plain
functions that parse input (``copps.api.schemas``), ask ``copps.newsroom.access`` and call the
named actions in ``copps.newsroom.actions``; they never write models themselves.

Errors are always JSON ``{"detail": ..., "errors"?: {field: [...]}, "findings"?: [...]}``:

=====  ==================================================================================
400    the body is not JSON
401    no valid bearer token
403    the user may not do this (e.g. approving their own message or correction: four eyes)
404    no such message or correction, or not visible to this user
405    wrong HTTP method
409    the message is not in a state that allows this, someone else changed it first, or the
       correction is no longer pending
413    the body is larger than settings.DATA_UPLOAD_MAX_MEMORY_SIZE
422    invalid fields (``errors`` per field) or blocking guideline findings (``findings``)
=====  ==================================================================================
"""

import json
import logging
from functools import wraps
from math import ceil

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from ninja import Header, NinjaAPI, Path, Query, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from copps.accounts.models import Area
from copps.accounts.roles import ROLE_CAPABILITIES
from copps.audit import log as audit_log
from copps.newsroom import access, actions, guidelines, renditions
from copps.newsroom.actions import CorrectionClosed, GuidelineBlocked, SelfApproval, VersionInput
from copps.newsroom.models import Audience, Correction, CorrectionState, Message
from copps.newsroom.workflow import EDITABLE_STATES, Conflict, InvalidTransition

from . import schemas as s
from .auth import BearerAuth

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1  # the largest primary key any database we support can hold


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class StrictJSONParser(Parser):
    """RFC 8259 JSON only: Python's parser would also take NaN and Infinity."""

    def parse_body(self, request):
        return json.loads(request.body, parse_constant=_reject_constant)


class CoppsAPI(NinjaAPI):
    # Schemas documented but not declared as a payload (e.g. the blotter's batch, validated row
    # by row by its view): added to the document's components under these names.
    extra_schemas: dict[str, type] = {}

    def get_openapi_operation_id(self, operation) -> str:
        # Short, stable ids ("create_message") for generated clients.
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in self.extra_schemas.items():
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
            components.update(body.pop("$defs", {}))
            components[name] = body
        return schema


api = CoppsAPI(
    title="copps API",
    version="1",
    description=(
        "The copps newsroom over HTTP. Authenticate every request with "
        "`Authorization: Bearer <token>` (a personal token from the console). "
        "Errors are JSON: `detail`, plus `errors` per field or guideline `findings` on 422. "
        "Guide: docs/api.md."
    ),
    urls_namespace="api",
    parser=StrictJSONParser(),
    auth=BearerAuth(),
    # No Swagger UI: it would load third-party assets from a CDN. The schema is served as JSON.
    docs_url=None,
    openapi_url="/openapi.json",
)


# Errors -------------------------------------------------------------------------------------


def error(request, status: int, detail, **extra) -> HttpResponse:
    body = {"detail": str(detail), **{k: v for k, v in extra.items() if v is not None}}
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="copps"'
    return response


def _field_key(loc) -> str:
    """``("body", "payload", "versions", 0, "title")`` -> ``"versions.0.title"``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]
    elif parts and parts[0] in ("query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _on_validation(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        message = err.get("msg", "Invalid value.")
        if err.get("type") == "missing" and list(err.get("loc", ())) == ["body", "payload"]:
            message = _("A JSON object is required.")
        errors.setdefault(_field_key(err.get("loc", ())), []).append(message)
    return error(request, 422, _("Some fields are not valid."), errors=errors)


def _on_django_validation(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return error(request, 422, _("Some fields are not valid."), errors=errors)


def _on_http_error(request, exc: HttpError):
    if isinstance(exc, AuthenticationError):
        return error(
            request, 401, _("A valid API token is required: Authorization: Bearer <token>.")
        )
    if exc.status_code == 400:
        # The only 400 ninja raises: the body could not be parsed as JSON.
        detail = _("The request body is not valid JSON.")
        return error(request, 400, detail, errors={"body": [detail]})
    return error(request, exc.status_code, str(exc))


# Lazy: translated when an answer is made, in the language of that request.
PERMISSION_DETAILS = {
    "message.create": gettext_lazy(
        "Your role may not create messages (officers: only for their own area)."
    ),
    "message.edit": gettext_lazy("You may not edit this message."),
    "message.area": gettext_lazy("Officers may only write for their own area."),
    "message.submit": gettext_lazy("You may not submit this message."),
    "message.override": gettext_lazy("Only editors may override blocking guideline findings."),
    "message.review": gettext_lazy("Only editors may approve or reject messages."),
    "message.correct": gettext_lazy("You may not propose a correction of this message."),
    "correction.review": gettext_lazy("Only editors may approve or reject corrections."),
    "audit.view": gettext_lazy("Your role may not read the audit log."),
    "blotter.import": gettext_lazy("Your role may not import incidents into the blotter."),
    # An existing catalogue string until the next makemessages run: the 403 says what to do.
    "2fa.required": gettext_lazy("Set up two-factor authentication"),
}


def _on_permission_denied(request, exc: PermissionDenied):
    detail: str | Promise
    if isinstance(exc, SelfApproval):
        detail = str(exc)
    else:
        code = str(exc)
        detail = PERMISSION_DETAILS.get(code) or _("You are not allowed to do this (%(what)s).") % {
            "what": code or _("permission denied")
        }
    return error(request, 403, detail)


def _on_invalid_transition(request, exc: InvalidTransition):
    # The state is given as its API code (the `state` field of messages), not a translated label.
    detail = _("The action “%(action)s” is not possible on a message in state “%(state)s”.") % {
        "action": exc.action,
        "state": exc.state,
    }
    return error(request, 409, detail)


def _on_conflict(request, exc: Conflict):
    return error(
        request, 409, _("Someone else changed this message at the same time; reload and retry.")
    )


def _on_correction_closed(request, exc: CorrectionClosed):
    return error(
        request,
        409,
        _("This correction is %(state)s: only a pending correction can be approved or rejected.")
        % {"state": exc.state},
    )


def _on_blocked(request, exc: GuidelineBlocked):
    return error(
        request,
        422,
        _("The text breaks the guidelines; fix it, or have an editor override with a reason."),
        findings=[f.as_dict() for f in exc.findings],
    )


def _on_too_big(request, exc):
    return error(
        request,
        413,
        _("The request body is larger than %(n)s bytes.")
        % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


def _on_not_found(request, exc):
    return error(request, 404, _("Not found."))


def _on_unexpected(request, exc):
    # A bug, not bad input: log it with the traceback, answer JSON rather than an HTML page.
    logger.exception("API error on %s %s", request.method, request.path)
    return error(request, 500, _("Internal error; it has been logged."))


for exc_class, handler in [
    (Exception, _on_unexpected),
    (NinjaValidationError, _on_validation),
    (DjangoValidationError, _on_django_validation),
    (HttpError, _on_http_error),
    (PermissionDenied, _on_permission_denied),
    (InvalidTransition, _on_invalid_transition),
    (Conflict, _on_conflict),
    (CorrectionClosed, _on_correction_closed),
    (GuidelineBlocked, _on_blocked),
    (RequestDataTooBig, _on_too_big),
    (Http404, _on_not_found),
]:
    api.add_exception_handler(exc_class, handler)


def json_errors(view):
    """Wrap a URL callback so its 404/405 answers (raised outside ninja's handlers) are JSON."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return error(request, 404, _("Not found."))
        is_json = response.get("Content-Type", "").startswith("application/json")
        if response.status_code == 405 and not is_json:
            allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",")))
            json_response = error(
                request, 405, _("Method not allowed; use %(allowed)s.") % {"allowed": allowed}
            )
            json_response["Allow"] = allowed
            return json_response
        if response.status_code == 404 and not is_json:
            return error(request, 404, _("Not found."))
        return response

    return wrapper


@csrf_exempt  # it changes nothing; without this a POST would get the HTML CSRF page instead
def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Any other path under /api/: a JSON 404 instead of the site's HTML page."""
    return JsonResponse({"detail": str(_("Not found."))}, status=404)


def responses(ok: dict, *codes: int) -> dict:
    """The documented responses of an operation: its success and the errors it can answer."""
    return {**ok, **{code: s.ErrorOut for code in sorted({401, *codes})}}


BODY = (400, 413, 422)  # what any endpoint that reads a JSON body may answer


# Serialisation ------------------------------------------------------------------------------


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}


def _with_related(qs):
    return qs.select_related("author", "approved_by", "area").prefetch_related(
        "versions", "audiences"
    )


def message_out(message: Message, user) -> dict:
    versions = message.versions_list()
    return {
        "id": message.pk,
        "state": message.state,
        "kind": message.kind,
        "version": message.version,
        "author": _person(message.author),
        "approved_by": _person(message.approved_by),
        "area": message.area.slug if message.area is not None else None,
        "audiences": [a.slug for a in message.audiences.all()],
        "channels": list(message.channels or []),
        "is_personal": message.is_personal,
        "signature": message.signature,
        "publish_at": message.publish_at,
        "expires_at": message.expires_at,
        "published_at": message.published_at,
        "corrected_at": message.corrected_at,
        "correction_note": message.correction_note,
        "retracted_at": message.retracted_at,
        "retraction_note": message.retraction_note,
        "rejection_reason": message.rejection_reason,
        "override_reason": message.override_reason,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "languages": [v.language for v in versions],
        "versions": [
            {
                "language": v.language,
                "title": v.title,
                "teaser": v.teaser,
                "body": v.body,
                "body_html": v.body_html,
            }
            for v in versions
        ],
        "permalink": message.permalink() if versions else "",
        "short_link": message.short_link(),
        "url": settings.SITE_URL + reverse("api:get_message", kwargs={"message_id": message.pk}),
        "allowed_actions": access.allowed_actions(user, message),
    }


def correction_out(correction: Correction, user) -> dict:
    allowed = []
    if correction.state == CorrectionState.PENDING and access.can_decide_correction(
        user, correction
    ):
        if correction.message.is_public:
            allowed.append("approve")
        allowed.append("reject")
    return {
        "id": correction.pk,
        "message_id": correction.message_id,
        "state": correction.state,
        "note": correction.note,
        "versions": {
            lang: {
                "title": text.get("title", ""),
                "teaser": text.get("teaser", ""),
                "body": text.get("body", ""),
            }
            for lang, text in correction.versions.items()
        },
        "proposed_by": _person(correction.proposed_by),
        "proposed_at": correction.proposed_at,
        "decided_by": _person(correction.decided_by),
        "decided_at": correction.decided_at,
        "decision_reason": correction.decision_reason,
        "override_reason": correction.override_reason,
        "url": settings.SITE_URL
        + reverse("api:get_correction", kwargs={"correction_id": correction.pk}),
        "allowed_actions": allowed,
    }


def _load_correction(request, correction_id: int) -> Correction:
    """The correction if the token's user may see its message (404 otherwise)."""
    return access.get_correction_for(
        request.auth,
        correction_id,
        Correction.objects.select_related("message", "proposed_by", "decided_by"),
    )


def _decision_out(request, correction: Correction) -> dict:
    fresh = _load_correction(request, correction.pk)
    return {
        **correction_out(fresh, request.auth),
        "message": message_out(_load(request, fresh.message_id), request.auth),
    }


def _load(request, message_id: int) -> Message:
    """The message if the token's user may see it (404 otherwise: no hint that it exists)."""
    return access.get_message_for(request.auth, message_id, queryset=_with_related(Message.objects))


def _fresh(request, message: Message) -> dict:
    """The message as stored now (after an action), serialised for the caller."""
    return message_out(_load(request, message.pk), request.auth)


def _findings_out(findings) -> list[dict]:
    return [f.as_dict() for f in findings]


# Input helpers ------------------------------------------------------------------------------


def _versions(payload, current: Message | None = None) -> list[VersionInput] | None:
    """The language versions a payload asks for, or None when it names no text at all.

    ``language`` + ``title``/``teaser``/``body`` edits one language: fields left out keep the
    text of ``current`` in that language (a new language needs title and body). ``versions``
    are complete. Raises ValidationError (422, per field) for incomplete or repeated languages.
    """
    errors: dict[str, list[str]] = {}
    result: list[VersionInput] = []
    given = {f for f in ("title", "body", "teaser") if getattr(payload, f) is not None}
    if payload.language is not None or given:
        if payload.language is None:
            errors["language"] = [_("Say which language this text is in.")]
        else:
            existing = None
            if current is not None:
                existing = next(
                    (v for v in current.versions_list() if v.language == payload.language), None
                )
            title = payload.title if payload.title is not None else getattr(existing, "title", None)
            body = payload.body if payload.body is not None else getattr(existing, "body", None)
            teaser = (
                payload.teaser if payload.teaser is not None else getattr(existing, "teaser", "")
            )
            if "teaser" in payload.model_fields_set and payload.teaser is None:
                teaser = ""  # an explicit null clears the teaser
            if title is None:
                errors["title"] = [_("A title is required.")]
            if body is None:
                errors["body"] = [_("The text is required.")]
            if title is not None and body is not None:
                result.append(VersionInput(payload.language, title, body, teaser or ""))
    for v in payload.versions or []:
        result.append(VersionInput(v.language, v.title, v.body, v.teaser or ""))
    languages = [v.language for v in result]
    if len(languages) != len(set(languages)):
        errors["versions"] = [_("Each language may appear only once.")]
    if errors:
        raise DjangoValidationError(errors)
    if not result and payload.language is None and payload.versions is None:
        return None
    return result


def _area(slug: str | None):
    if slug is None:
        return None
    area = Area.objects.filter(slug=slug).first()
    if area is None:
        raise DjangoValidationError({"area": [_("Unknown area %(slug)r.") % {"slug": slug}]})
    return area


def _audiences(slugs: list[str] | None) -> list[Audience]:
    slugs = list(dict.fromkeys(slugs or []))
    found = {a.slug: a for a in Audience.objects.filter(slug__in=slugs)}
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise DjangoValidationError(
            {"audiences": [_("Unknown audience: %(slugs)s.") % {"slugs": ", ".join(unknown)}]}
        )
    return [found[slug] for slug in slugs]


MessageId = Path(..., ge=1, le=MAX_ID, description="The message id.")
CorrectionId = Path(..., ge=1, le=MAX_ID, description="The correction id.")


# Endpoints ----------------------------------------------------------------------------------


@api.get("/me", response=responses({200: s.MeOut}), tags=["account"])
def me(request):
    """Who the token belongs to, and what their role may do."""
    user = request.auth
    return {
        "id": user.pk,
        "username": user.username,
        "name": str(user),
        "role": user.role,
        "area": user.area.slug if user.area_id else None,
        "capabilities": sorted(ROLE_CAPABILITIES.get(user.role, ())),
    }


@api.get("/messages", response=responses({200: s.MessageListOut}, 422), tags=["messages"])
def list_messages(
    request,
    state: s.StateCode | None = None,
    kind: s.KindCode | None = None,
    language: s.Language | None = None,
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(20, ge=1, le=100),
):
    """Messages you may see, most recently changed first, ``page_size`` per page."""
    qs = access.visible_messages(request.auth, Message.objects.all())
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(versions__language=language).distinct()
    count = qs.count()
    pages = max(1, ceil(count / page_size))
    start = (page - 1) * page_size
    items = list(_with_related(qs).order_by("-updated_at", "-pk")[start : start + page_size])
    base = settings.SITE_URL + reverse("api:list_messages")
    filters: dict[str, str] = {
        k: v for k, v in {"state": state, "kind": kind, "language": language}.items() if v
    }

    def link(number: int) -> str:
        query: dict[str, str | int] = {**filters, "page": number, "page_size": page_size}
        return base + "?" + urlencode(query)

    return {
        "count": count,
        "page": page,
        "pages": pages,
        "page_size": page_size,
        "next": link(page + 1) if page < pages else None,
        "previous": link(page - 1) if 1 < page <= pages else None,
        "results": [message_out(m, request.auth) for m in items],
    }


@api.post(
    "/messages",
    response=responses({200: s.MessageOut, 201: s.MessageOut}, 403, *BODY),
    tags=["messages"],
)
def create_message(
    request,
    payload: s.MessageCreateIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=80,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a create safely: the same key returns the same message (200).",
    ),
):
    """Create a draft: 201 with the new message; 200 with the earlier one for a known
    ``Idempotency-Key`` (the body of the repeat is then ignored)."""
    user = request.auth
    if idempotency_key:
        # Answer a repeat before validating its body: it must get the original message back.
        earlier = Message.objects.filter(author=user, client_key=idempotency_key).first()
        if earlier is not None:
            return Status(200, _fresh(request, earlier))
    versions = _versions(payload)
    if versions is None:
        raise DjangoValidationError(
            {
                "title": [_("A title is required.")],
                "body": [_("The text is required.")],
                "language": [_("Say which language this text is in.")],
            }
        )
    message, created = actions.create_message(
        by=user,
        versions=versions,
        kind=payload.kind or "news",
        area=_area(payload.area),
        audiences=_audiences(payload.audiences),
        channels=payload.channels,
        is_personal=bool(payload.is_personal),
        signature=payload.signature or "",
        publish_at=payload.publish_at,
        expires_at=payload.expires_at,
        client_key=idempotency_key,
    )
    return Status(201 if created else 200, _fresh(request, message))


@api.get(
    "/messages/{int:message_id}",
    response=responses({200: s.MessageOut}, 404, 422),
    tags=["messages"],
    url_name="get_message",
)
def get_message(request, message_id: int = MessageId):
    """One message with all its language versions."""
    return message_out(_load(request, message_id), request.auth)


@api.patch(
    "/messages/{int:message_id}",
    response=responses({200: s.MessageOut}, 403, 404, 409, *BODY),
    tags=["messages"],
)
def update_message(request, payload: s.MessagePatchIn, message_id: int = MessageId):
    """Edit a draft (403 if it is not yours to edit, 409 if it is no longer a draft)."""
    user = request.auth
    message = _load(request, message_id)
    if not access.may_write(user, message):
        raise PermissionDenied("message.edit")
    if message.state not in EDITABLE_STATES:
        raise InvalidTransition("edit", message.state)
    if payload.version is not None and payload.version != message.version:
        raise Conflict(f"message {message.pk} is at version {message.version}")
    sent = payload.model_fields_set
    fields: dict = {}
    if payload.kind is not None:
        fields["kind"] = payload.kind
    if payload.is_personal is not None:
        fields["is_personal"] = payload.is_personal
    if "channels" in sent:
        fields["channels"] = payload.channels
    if "audiences" in sent:
        fields["audiences"] = _audiences(payload.audiences)
    if "area" in sent:
        fields["area"] = _area(payload.area)
    if "signature" in sent:
        fields["signature"] = (payload.signature or "").strip()
    for name in ("publish_at", "expires_at"):
        if name in sent:
            fields[name] = getattr(payload, name)
    versions = _versions(payload, current=message)
    if not fields and versions is None:
        return message_out(message, user)
    actions.update_message(
        message,
        by=user,
        versions=versions,
        replace_versions=payload.replace_versions and versions is not None,
        **fields,
    )
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/submit",
    response=responses({200: s.SubmitOut}, 403, 404, 409, *BODY),
    tags=["workflow"],
)
def submit_message(request, message_id: int = MessageId, payload: s.SubmitIn | None = None):
    """Send a draft for review. Blocking guideline findings answer 422 with ``findings``,
    unless an editor gives ``override_reason``. Submitting again changes nothing (200)."""
    message = _load(request, message_id)
    findings = actions.submit_message(
        message, by=request.auth, override_reason=(payload.override_reason or "") if payload else ""
    )
    return {**_fresh(request, message), "findings": _findings_out(findings)}


@api.post(
    "/messages/{int:message_id}/withdraw",
    response=responses({200: s.MessageOut}, 403, 404, 409, 422),
    tags=["workflow"],
)
def withdraw_message(request, message_id: int = MessageId):
    """Take a submitted message back to draft."""
    message = _load(request, message_id)
    actions.withdraw_message(message, by=request.auth)
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/reject",
    response=responses({200: s.MessageOut}, 403, 404, 409, *BODY),
    tags=["workflow"],
)
def reject_message(request, payload: s.ReasonIn, message_id: int = MessageId):
    """Send a submitted message back to its author with a reason (editors, not the author)."""
    message = _load(request, message_id)
    actions.reject_message(message, by=request.auth, reason=payload.reason)
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/approve",
    response=responses({200: s.MessageOut}, 403, 404, 409, *BODY),
    tags=["workflow"],
)
def approve_message(request, message_id: int = MessageId, payload: s.ApproveIn | None = None):
    """Approve a submitted message (editors; never one's own: 403, four eyes). Without a future
    ``publish_at`` it is published at once; with one it is scheduled. Of two editors approving
    at once one wins and the other gets 409; the same editor repeating gets 200."""
    message = _load(request, message_id)
    actions.approve_message(
        message, by=request.auth, publish_at=payload.publish_at if payload else None
    )
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/schedule",
    response=responses({200: s.MessageOut}, 403, 404, 409, *BODY),
    tags=["workflow"],
)
def schedule_message(request, payload: s.ScheduleIn, message_id: int = MessageId):
    """Schedule an approved message (or move a scheduled one) to a future ``publish_at``."""
    message = _load(request, message_id)
    actions.schedule_message(message, by=request.auth, publish_at=payload.publish_at)
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/unschedule",
    response=responses({200: s.MessageOut}, 403, 404, 409, 422),
    tags=["workflow"],
)
def unschedule_message(request, message_id: int = MessageId):
    """Cancel the schedule; the message stays approved."""
    message = _load(request, message_id)
    actions.unschedule_message(message, by=request.auth)
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/publish",
    response=responses({200: s.MessageOut}, 403, 404, 409, 422),
    tags=["workflow"],
)
def publish_message(request, message_id: int = MessageId):
    """Publish an approved or scheduled message now (200 as well if it already is public)."""
    message = _load(request, message_id)
    actions.publish_message(message, by=request.auth)
    return _fresh(request, message)


@api.post(
    "/messages/{int:message_id}/correct",
    response=responses({202: s.CorrectionOut}, 403, 404, 409, *BODY),
    tags=["corrections"],
)
def correct_message(request, payload: s.CorrectIn, message_id: int = MessageId):
    """Propose a correction of a published message: new text and a ``note`` readers will see.
    202 with the pending correction: nothing public changes until another editor approves it
    (``POST /corrections/{id}/approve``). A newer proposal replaces a pending one."""
    message = _load(request, message_id)
    correction = actions.propose_correction(
        message,
        by=request.auth,
        note=payload.note,
        versions=_versions(payload, message) or [],
        override_reason=payload.override_reason or "",
    )
    return Status(202, correction_out(_load_correction(request, correction.pk), request.auth))


@api.get(
    "/messages/{int:message_id}/corrections",
    response=responses({200: list[s.CorrectionOut]}, 404, 422),
    tags=["corrections"],
)
def list_corrections(request, message_id: int = MessageId):
    """Every correction proposed for the message, newest first (pending, approved, rejected,
    superseded)."""
    message = _load(request, message_id)
    corrections = message.corrections.select_related("message", "proposed_by", "decided_by")
    return [correction_out(c, request.auth) for c in corrections]


def delivery_out(d) -> dict:
    return {
        "id": d.pk,
        "channel": d.channel.slug,
        "channel_name": d.channel.name,
        "kind": d.channel.kind,
        "language": d.language,
        "operation": d.operation,
        "state": d.state,
        "permanent": d.permanent,
        "external_id": d.external_id,
        "url": d.url,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at,
        "sent_at": d.sent_at,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "recipients": {
            "total": d.recipients_total,
            "sent": d.recipients_sent,
            "failed": d.recipients_failed,
            "unknown": d.recipients_unknown,
        }
        if d.channel.adapter.subscribers
        else None,
    }


@api.get(
    "/messages/{int:message_id}/deliveries",
    response=responses({200: list[s.DeliveryOut]}, 404, 422),
    tags=["messages"],
)
def list_deliveries(request, message_id: int = MessageId):
    """Where the message went: one entry per channel post, edit or deletion, with its state
    (pending, sending, sent, failed, unknown — the outcome could not be confirmed and a person
    must decide — or cancelled), the post's id and URL, attempts and the last error."""
    message = _load(request, message_id)
    return [delivery_out(d) for d in message.deliveries.select_related("channel").order_by("pk")]


@api.get(
    "/corrections/{int:correction_id}",
    response=responses({200: s.CorrectionOut}, 404, 422),
    tags=["corrections"],
    url_name="get_correction",
)
def get_correction(request, correction_id: int = CorrectionId):
    """One correction."""
    return correction_out(_load_correction(request, correction_id), request.auth)


@api.post(
    "/corrections/{int:correction_id}/approve",
    response=responses({200: s.CorrectionDecisionOut}, 403, 404, 409, 422),
    tags=["corrections"],
)
def approve_correction(request, correction_id: int = CorrectionId):
    """Publish a pending correction (editors; never the proposer: 403, four eyes). Of two
    editors approving at once one wins and the other gets 409; the same editor repeating gets
    200. 409 also when the correction is no longer pending or the message no longer public."""
    correction = _load_correction(request, correction_id)
    actions.approve_correction(correction, by=request.auth)
    return _decision_out(request, correction)


@api.post(
    "/corrections/{int:correction_id}/reject",
    response=responses({200: s.CorrectionDecisionOut}, 403, 404, 409, *BODY),
    tags=["corrections"],
)
def reject_correction(request, payload: s.ReasonIn, correction_id: int = CorrectionId):
    """Turn a pending correction down with a ``reason`` for the proposer (editors; never the
    proposer). Nothing public changes."""
    correction = _load_correction(request, correction_id)
    actions.reject_correction(correction, by=request.auth, reason=payload.reason)
    return _decision_out(request, correction)


@api.post(
    "/messages/{int:message_id}/retract",
    response=responses({200: s.MessageOut}, 403, 404, 409, *BODY),
    tags=["workflow"],
)
def retract_message(request, payload: s.ReasonIn, message_id: int = MessageId):
    """Take a published message down; its page keeps a short notice with the reason."""
    message = _load(request, message_id)
    actions.retract_message(message, by=request.auth, reason=payload.reason)
    return _fresh(request, message)


@api.get(
    "/messages/{int:message_id}/renditions",
    response=responses({200: list[s.RenditionOut]}, 404, 422),
    tags=["messages"],
)
def message_renditions(
    request,
    message_id: int = MessageId,
    channel: s.ChannelCode | None = None,
    language: s.Language | None = None,
):
    """The text each channel would carry, per language (``channel``: any channel, also one
    the message does not use yet)."""
    message = _load(request, message_id)
    if not message.versions_list():
        return []
    if channel:
        items = [renditions.render(message, channel, v.language) for v in message.versions_list()]
    else:
        items = renditions.render_all(message)
    if language:
        items = [r for r in items if r.language == language]
    return [
        {
            "channel": r.channel,
            "label": str(r.label),
            "language": r.language,
            "text": r.text,
            "length": r.length,
            "limit": r.limit,
            "unit": r.unit,
            "truncated": r.truncated,
            "link": r.link,
            "encoding": r.encoding,
            "segments": r.segments,
        }
        for r in items
    ]


@api.get(
    "/messages/{int:message_id}/findings",
    response=responses({200: s.FindingsOut}, 404, 422),
    tags=["messages"],
)
def message_findings(request, message_id: int = MessageId):
    """Guideline findings for the message as stored."""
    message = _load(request, message_id)
    findings = actions.findings_for(message)
    return {"blocking": guidelines.has_blocking(findings), "findings": _findings_out(findings)}


@api.get(
    "/messages/{int:message_id}/audit",
    response=responses({200: list[s.AuditOut]}, 403, 404, 422),
    tags=["messages"],
)
def message_audit(request, message_id: int = MessageId):
    """The message's audit trail, oldest first (roles with audit access)."""
    message = _load(request, message_id)
    if not access.has_capability(request.auth, access.roles.AUDIT_VIEW):
        raise PermissionDenied("audit.view")
    return [
        {
            "seq": r.seq,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "reason": r.reason,
            "data": r.data,
        }
        for r in audit_log.for_object(message).order_by("seq")
    ]


@api.post("/check", response=responses({200: s.FindingsOut}, *BODY), tags=["messages"])
def check_content(request, payload: s.CheckIn):
    """Guideline findings for text not saved yet (as the editor shows them while typing)."""
    versions = _versions(payload)
    if not versions:
        raise DjangoValidationError({"body": [_("Send at least one language version to check.")]})
    content = guidelines.Content(
        versions=[guidelines.VersionText(v.language, v.title, v.teaser, v.body) for v in versions],
        is_personal=bool(payload.is_personal),
        signature=payload.signature or "",
        channels=list(payload.channels or []),
    )
    findings = guidelines.check(content)
    return {"blocking": guidelines.has_blocking(findings), "findings": _findings_out(findings)}


# The police blotter's push API (POST /incidents), a router of its own app.
from copps.blotter.api import DOCUMENTED_SCHEMAS as _BLOTTER_SCHEMAS  # noqa: E402
from copps.blotter.api import router as _blotter_router  # noqa: E402

api.add_router("", _blotter_router)
CoppsAPI.extra_schemas.update(_BLOTTER_SCHEMAS)

# Public order: sensor counts, events and their live zones (copps.crowd).
from copps.crowd.api import DOCUMENTED_SCHEMAS as _CROWD_SCHEMAS  # noqa: E402
from copps.crowd.api import router as _crowd_router  # noqa: E402

api.add_router("", _crowd_router)
CoppsAPI.extra_schemas.update(_CROWD_SCHEMAS)
