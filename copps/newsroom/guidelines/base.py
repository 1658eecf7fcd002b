from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the type checker needs the model here
    from copps.newsroom.models import Message

INFO, WARNING, BLOCKING = "info", "warning", "blocking"
SEVERITY_ORDER = {BLOCKING: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class VersionText:
    language: str
    title: str
    teaser: str
    body: str


@dataclass
class Content:
    """What the checks look at: a message as stored, or as typed in the editor right now."""

    versions: list[VersionText]
    image_alts: list[str] = field(default_factory=list)
    is_personal: bool = False
    signature: str = ""
    channels: list[str] = field(default_factory=list)
    message: "Message | None" = None  # the saved message, for rendition checks

    @classmethod
    def from_message(cls, message) -> "Content":
        return cls(
            versions=[
                VersionText(v.language, v.title, v.teaser, v.body) for v in message.versions_list()
            ],
            image_alts=[img.alt_text for img in message.images.all()],
            is_personal=message.is_personal,
            signature=message.signature,
            channels=list(message.channels or []),
            message=message,
        )


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    language: str = ""
    field: str = ""
    excerpt: str = ""
    start: int = -1
    end: int = -1

    def as_dict(self) -> dict:
        return asdict(self)


def check(content: Content) -> list[Finding]:
    from . import length, personal_data, presentation, words

    findings: list[Finding] = []
    for module in (personal_data, words, presentation, length):
        findings.extend(module.check(content))
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.language, f.field, f.start))
    return findings


def has_blocking(findings: list[Finding]) -> bool:
    return any(f.severity == BLOCKING for f in findings)


def fields_of(version: VersionText):
    yield "title", version.title
    yield "teaser", version.teaser
    yield "body", version.body
