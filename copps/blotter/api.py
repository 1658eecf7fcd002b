"""The blotter's push API: ``POST /api/v1/incidents`` (a django-ninja router in the v1 API).

Contract: bearer token (``copps.api.auth``) of a user with ``blotter.import``; the body is a JSON
array of incident objects (the keys of ``copps.blotter.importer.FIELDS``) or
``{"incidents": [...]}``, at most ``MAX_BATCH`` of them. Every row is validated on its own by the
importer: the answer is 200 with ``created``, ``updated``, ``unchanged`` and ``errors`` (one per
refused row, by its 0-based ``index`` in the array); a bad row never stops the good ones.
Upserts on ``incident_id``: sending the same batch again changes nothing.

400 the body is not JSON (also: nested too deeply for the parser); 401 no valid token; 403 the
role may not import; 413 the body is larger than ``COPPS_BLOTTER_API_MAX_BYTES`` or holds more
than ``MAX_BATCH`` incidents; 422 the body is JSON but neither an array nor ``{"incidents": [...]}``.

The body is read here rather than declared as a ninja payload, on purpose: a typed payload would
refuse the whole batch for one bad row. The request schema is still documented in the OpenAPI
document (``IncidentBatchIn``/``IncidentIn``, added as extra components).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from copps.accounts.roles import BLOTTER_IMPORT, has_capability
from copps.api import schemas as s

from . import importer

MAX_BATCH = 5000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

router = Router(tags=["blotter"])


def max_bytes() -> int:
    return int(getattr(settings, "COPPS_BLOTTER_API_MAX_BYTES", DEFAULT_MAX_BYTES))


# Documentation of the request (not used to validate: the importer validates row by row).


class IncidentIn(Schema):
    """One incident as the dispatch/records system knows it. ``incident_id``, ``reported_at``
    (ISO 8601; without an offset: Belgian local time) and ``category_code`` (lowercase letters,
    digits, ``_``) are required; ``lat``/``lon`` optional (both or neither, inside Belgium).
    Text values may also be numbers. Unknown keys make the row an error."""

    model_config = ConfigDict(extra="forbid")

    incident_id: str = Field(max_length=100)
    reported_at: str = Field(description="ISO 8601 date and time.")
    category_code: str = Field(max_length=60, pattern=r"^[a-z0-9_]{1,60}$")
    category: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=5000)
    street: str | None = Field(None, max_length=200)
    house_number: str | None = Field(None, max_length=20)
    postcode: str | None = Field(None, max_length=10)
    municipality: str | None = Field(None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    status: str | None = Field(None, max_length=40, description="e.g. withdrawn, cancelled.")
    unit: str | None = Field(None, max_length=60)


class IncidentBatchIn(Schema):
    """A batch of incidents (a bare JSON array of ``IncidentIn`` is accepted too)."""

    model_config = ConfigDict(extra="forbid")

    incidents: list[IncidentIn] = Field(max_length=MAX_BATCH)


class RowErrorOut(Schema):
    index: int = Field(description="0-based position of the row in the batch.")
    error: str


class IncidentImportOut(Schema):
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


# Extra OpenAPI components (copps.api.api.CoppsAPI.extra_schemas).
DOCUMENTED_SCHEMAS = {"IncidentBatchIn": IncidentBatchIn, "IncidentIn": IncidentIn}

REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/IncidentBatchIn"},
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/IncidentIn"},
                            "maxItems": MAX_BATCH,
                        },
                    ]
                }
            }
        },
    }
}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _read_body(request) -> bytes:
    limit = max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise HttpError(413, _("The request body is larger than %(n)s bytes.") % {"n": limit})
    # Read the stream ourselves: the site-wide DATA_UPLOAD_MAX_MEMORY_SIZE is sized for
    # messages, a batch of 5,000 incidents is larger.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise HttpError(413, _("The request body is larger than %(n)s bytes.") % {"n": limit})
    return body


def _parse(body: bytes) -> list:
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise HttpError(400, "") from None  # the API's 400 says "the body is not valid JSON"
    if isinstance(data, dict):
        if set(data) != {"incidents"} or not isinstance(data["incidents"], list):
            raise DjangoValidationError(
                {"incidents": [_('Send a JSON array, or an object {"incidents": [...]}.')]}
            )
        data = data["incidents"]
    if not isinstance(data, list):
        raise DjangoValidationError(
            {"body": [_('Send a JSON array, or an object {"incidents": [...]}.')]}
        )
    if len(data) > MAX_BATCH:
        raise HttpError(
            413,
            _("At most %(n)s incidents per request; split the batch.") % {"n": MAX_BATCH},
        )
    return data


def _checked(index: int, row: Any) -> tuple[int, Any]:
    """The row, or a RowError the importer reports: never an exception out of a bad value."""
    try:
        # Lone surrogates ("\\ud800") pass the JSON parser but no database can store them.
        json.dumps(row, ensure_ascii=False).encode("utf-8")
        importer.clean_row(row)
    except importer.RowError as error:
        return index, error
    except (UnicodeEncodeError, ValueError, TypeError, OverflowError, RecursionError):
        return index, importer.RowError("a value cannot be read")
    return index, row


@router.post(
    "/incidents",
    response={
        200: IncidentImportOut,
        **{code: s.ErrorOut for code in (400, 401, 403, 413, 422)},
    },
    openapi_extra=REQUEST_BODY,
)
def import_incidents(request):
    """Upsert a batch of incidents from the dispatch system (role with ``blotter.import``).
    Each row is validated on its own; refused rows are listed in ``errors`` by index."""
    if not has_capability(request.auth, BLOTTER_IMPORT):
        raise PermissionDenied(BLOTTER_IMPORT)
    rows = _parse(_read_body(request))
    result = importer.import_rows(
        (_checked(index, row) for index, row in enumerate(rows)), actor=request.auth
    )
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": [{"index": index, "error": error} for index, error in result.errors],
    }
