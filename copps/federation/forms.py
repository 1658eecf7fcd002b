"""Forms of the fediverse console. They parse and validate input; ``actions.py`` writes.

Profile images are proved to be images and re-encoded without metadata
(``copps.newsroom.images.clean_image``), then scaled to what fediverse servers show. Domains are
checked to be host names (with an optional port) before a block is stored: a typo or an
obfuscated entry of a Mastodon export (``exa***.org``) must not become a block of nothing.
"""

from __future__ import annotations

import csv
import io
import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from PIL import Image

from copps.accounts.models import Area, User
from copps.accounts.roles import Role
from copps.channels.console_forms import ConsoleForm
from copps.channels.models import Channel

from . import blocks
from .models import Actor, ActorKind, BlockSeverity

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
# Path segments of the console's account pages (``accounts/new/``) a user name must not take.
RESERVED_USERNAMES = frozenset({"new"})
# Fediverse servers keep profile images small (Mastodon: 2 MB); larger uploads are refused.
PROFILE_IMAGE_MAX_BYTES = 2 * 1024 * 1024
# Longest side after scaling: Mastodon shows avatars at 400 px and headers at 1500 x 500.
PROFILE_IMAGE_SIDES = {"avatar": 400, "header": 1500}
IMAGE_TYPES = "image/jpeg,image/png,image/webp,image/gif"
# Mastodon shows four profile fields; more would be cut off there.
MAX_LINKS = 4
BLOCKLIST_MAX_BYTES = 1024 * 1024
BLOCKLIST_MAX_LINES = 10_000

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_RE = re.compile(rf"^(?=[^:]{{1,253}}(?::|$))(?:{_LABEL}\.)+{_LABEL}(?::\d{{1,5}})?$")


def clean_domain(value: str) -> str | None:
    """``value`` as the host name a block stores (lower case, IDNA, no scheme or ``*.``), or
    None when it is not one. A URL is reduced to its host."""
    domain = blocks.normalise(value)
    host, sep, port = domain.partition(":")
    try:
        host = host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return None
    domain = f"{host}{sep}{port}"
    return domain if HOST_RE.match(domain) else None


class ProfileImageField(forms.FileField):
    """An optional avatar or header: an uploaded image becomes a ``ContentFile`` ready for the
    model, "remove" becomes ``""``, and no change gives the stored file back."""

    def __init__(self, *, side: int, **kwargs):
        self.side = side
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": IMAGE_TYPES}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        value = super().clean(data, initial)
        if value is False:
            return ""
        if not isinstance(value, UploadedFile):
            return value
        if value.size is not None and value.size > PROFILE_IMAGE_MAX_BYTES:
            raise ValidationError(
                _("The image is larger than %(mb)s MB.")
                % {"mb": PROFILE_IMAGE_MAX_BYTES // (1024 * 1024)}
            )
        from copps.newsroom.images import clean_image

        try:
            raw, ext = clean_image(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("image", exc.messages)) from None
        return ContentFile(_scaled(raw, ext, self.side), name=f"profile.{ext}")


def _scaled(raw: bytes, ext: str, side: int) -> bytes:
    """The image no larger than ``side`` pixels on its longest side, in the same format."""
    with Image.open(io.BytesIO(raw)) as image:
        if max(image.size) <= side:
            return raw
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if ext == "jpg":
            image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
        elif ext == "webp":
            image.save(out, "WEBP", quality=88)
        else:
            image.save(out, "PNG", optimize=True)
        return out.getvalue()


def parse_links(text: str) -> list[dict]:
    """Profile links, one a line as "Name https://address" (or "Name | https://address").
    Raises ValidationError naming the line that is wrong."""
    links: list[dict] = []
    check = URLValidator(schemes=["http", "https"])
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        name, _sep, url = line.rpartition(" ")
        name = name.strip().rstrip("|").strip()
        if not name:
            raise ValidationError(
                _("Line %(n)s: write a name, a space, then the address.") % {"n": number}
            )
        if len(name) > 100:
            raise ValidationError(
                _("Line %(n)s: keep the name under 100 characters.") % {"n": number}
            )
        if not url.startswith("/") or url.startswith("//"):
            try:
                check(url)
            except ValidationError:
                raise ValidationError(
                    _("Line %(n)s: the address must start with https:// (or / for a page here).")
                    % {"n": number}
                ) from None
        links.append({"name": name, "url": url})
    if len(links) > MAX_LINKS:
        raise ValidationError(
            _("At most %(n)s links: Mastodon shows no more than that.") % {"n": MAX_LINKS}
        )
    return links


def links_text(links: list) -> str:
    return "\n".join(
        f"{link.get('name', '')} {link.get('url', '')}" for link in links if isinstance(link, dict)
    )


class ActorForm(ConsoleForm):
    """Create or edit one of the force's fediverse accounts. The user name is fixed once made:
    it is part of every id other servers have stored."""

    username = forms.CharField(
        label=_("User name"),
        max_length=30,
        help_text=_(
            "Lower-case letters, digits and underscores. The address becomes @name@this-website; "
            "it cannot change later."
        ),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ActorKind.choices)
    name = forms.CharField(label=_("Display name"), max_length=100)
    summary = forms.CharField(
        label=_("Profile text"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who posts here and what for. An empty line starts a new paragraph."),
    )
    area = forms.ModelChoiceField(
        label=_("Area"),
        queryset=Area.objects.order_by("name"),
        required=False,
        help_text=_("For an area account: it posts the messages about this area."),
    )
    officer = forms.ModelChoiceField(
        label=_("Officer"),
        queryset=User.objects.filter(role=Role.OFFICER, is_active=True).order_by("username"),
        required=False,
        help_text=_("For an officer's account: it posts the messages this officer writes."),
    )
    avatar = ProfileImageField(
        label=_("Avatar"),
        side=PROFILE_IMAGE_SIDES["avatar"],
        help_text=_("JPEG, PNG, WebP or GIF, at most 2 MB; shown square. Metadata is removed."),
    )
    header = ProfileImageField(
        label=_("Header image"),
        side=PROFILE_IMAGE_SIDES["header"],
        help_text=_("JPEG, PNG, WebP or GIF, at most 2 MB; shown wide (3 : 1)."),
    )
    links = forms.CharField(
        label=_("Links"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One a line: a name, a space, the address, e.g. “Website https://police.example”. "
            'Up to four. Servers verify a link when that page links back with rel="me".'
        ),
    )
    manually_approves_followers = forms.BooleanField(
        label=_("Approve followers by hand"),
        required=False,
        help_text=_("Follow requests wait on the followers page until someone approves them."),
    )
    enabled = forms.BooleanField(
        label=_("Enabled"),
        required=False,
        initial=True,
        help_text=_("Switched off, the account posts nothing and other servers cannot find it."),
    )

    def __init__(self, *args, actor: Actor | None = None, **kwargs):
        self.actor = actor
        if actor is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kind": actor.kind,
                "name": actor.name,
                "summary": actor.summary,
                "area": actor.area_id,
                "officer": actor.officer_id,
                "avatar": actor.avatar,
                "header": actor.header,
                "links": links_text(actor.links or []),
                "manually_approves_followers": actor.manually_approves_followers,
                "enabled": actor.enabled,
            }
        super().__init__(*args, **kwargs)
        if actor is not None:
            del self.fields["username"]
            if actor.officer_id:
                # An officer who left stays selectable until someone picks another.
                officer = self.fields["officer"]
                assert isinstance(officer, forms.ModelChoiceField)
                officer.queryset = User.objects.filter(
                    Q(role=Role.OFFICER, is_active=True) | Q(pk=actor.officer_id)
                ).order_by("username")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if not USERNAME_RE.match(username):
            raise ValidationError(_("Use lower-case letters, digits and underscores only."))
        if username in RESERVED_USERNAMES:
            raise ValidationError(_("This name is reserved; choose another."))
        if Actor.objects.filter(username=username).exists():
            raise ValidationError(_("There is already an account with this name."))
        if Channel.objects.filter(slug=f"fediverse-{username}"[:60]).exists():
            raise ValidationError(_("A channel with this name exists already; choose another."))
        return username

    def clean_links(self) -> list[dict]:
        return parse_links(self.cleaned_data["links"])

    def clean(self):
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        # Each kind uses one link to the organisation; the other is cleared so it cannot
        # silently change what the account posts later.
        if kind == ActorKind.AREA:
            data["officer"] = None
            if not data.get("area") and "area" not in self.errors:
                self.add_error("area", _("An area account needs its area."))
        elif kind == ActorKind.OFFICER:
            data["area"] = None
            if not data.get("officer") and "officer" not in self.errors:
                self.add_error("officer", _("An officer's account needs its officer."))
        elif kind == ActorKind.FORCE:
            data["area"] = data["officer"] = None
        return data

    def profile(self) -> dict:
        """The profile fields as ``actions.create_actor`` takes them."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "summary": data["summary"],
            "area": data["area"],
            "officer": data["officer"],
            "avatar": data["avatar"] or "",
            "header": data["header"] or "",
            "links": data["links"],
            "manually_approves_followers": data["manually_approves_followers"],
        }

    def changes(self) -> dict:
        """Profile fields whose value differs from the stored account (edit only)."""
        assert self.actor is not None
        actor, changed = self.actor, {}
        for name, value in self.profile().items():
            if name in ("avatar", "header"):
                if isinstance(value, ContentFile) or (value == "" and getattr(actor, name)):
                    changed[name] = value
            elif name in ("area", "officer"):
                if getattr(actor, f"{name}_id") != (value.pk if value else None):
                    changed[name] = value
            elif getattr(actor, name) != value:
                changed[name] = value
        return changed


class FollowForm(ConsoleForm):
    handle = forms.CharField(
        label=_("Account to follow"),
        max_length=300,
        help_text=_("Its address, e.g. @news@politie.social, or the link to its profile."),
    )


class DecisionForm(ConsoleForm):
    """A moderation decision on what the person saw: ``state`` is the item's state then, so a
    decision on an item someone else decided meanwhile is refused (409)."""

    state = forms.CharField(max_length=10, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False, strip=True)

    def __init__(self, *args, reject: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.reject = reject

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if self.reject and not reason:
            raise ValidationError(_("Say why it is rejected: the reason is kept in the audit log."))
        return reason


class ResolveReportForm(ConsoleForm):
    resolution = forms.CharField(
        label=_("What was done"),
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Write down what was done about the report.")},
    )


class BlockForm(ConsoleForm):
    domain = forms.CharField(
        label=_("Server"),
        max_length=255,
        help_text=_("Its domain, e.g. spam.example. Subdomains are blocked too."),
    )
    severity = forms.ChoiceField(
        label=_("Block"), choices=BlockSeverity.choices, initial=BlockSeverity.SUSPEND
    )
    public_comment = forms.CharField(
        label=_("Public reason"),
        max_length=300,
        required=False,
        help_text=_("Why, in words you would publish (others import block lists with it)."),
    )

    def clean_domain(self) -> str:
        domain = clean_domain(self.cleaned_data["domain"])
        if domain is None:
            raise ValidationError(_("Enter a domain name such as spam.example."))
        return domain


class BlocklistImportForm(ConsoleForm):
    """A block list pasted or uploaded: Mastodon's CSV export or one domain per line. Every
    line is checked first; with any wrong line nothing is imported."""

    text = forms.CharField(
        label=_("Paste the list"),
        required=False,
        max_length=BLOCKLIST_MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text=_("CSV or plain text, at most 1 MB."),
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data.get("file")
        if not upload:
            return ""
        if upload.size is not None and upload.size > BLOCKLIST_MAX_BYTES:
            raise ValidationError(_("The file is larger than 1 MB."))
        raw = upload.read(BLOCKLIST_MAX_BYTES + 1)
        if len(raw) > BLOCKLIST_MAX_BYTES:
            raise ValidationError(_("The file is larger than 1 MB."))
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text.")) from None

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        text = data.get("file") or data.get("text") or ""
        if not text.strip():
            raise ValidationError(_("Paste a list or choose a file."))
        lines = text.replace("\x00", "").splitlines()
        if len(lines) > BLOCKLIST_MAX_LINES:
            raise ValidationError(
                _("The list is longer than %(n)s lines.") % {"n": BLOCKLIST_MAX_LINES}
            )
        problems, out = [], io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for number, fields in enumerate(csv.reader(lines), start=1):
            first = fields[0].strip() if fields else ""
            if not first or first.startswith(("#", "//")):
                continue
            domain = clean_domain(first)
            if domain is None:
                problems.append(
                    ValidationError(
                        _("Line %(n)s: “%(value)s” is not a domain name.")
                        % {"n": number, "value": first[:80]}
                    )
                )
            else:
                # The host name as blocks store it (IDNA), the rest of the line as it was.
                writer.writerow([domain, *fields[1:]])
        if problems:
            raise ValidationError(
                [*problems[:10], ValidationError(_("Nothing was imported: correct these lines."))]
            )
        if not out.getvalue():
            raise ValidationError(_("The list names no server."))
        data["blocklist"] = out.getvalue()
        return data
