"""The anonymity contract of issue 5: after a tip is submitted, neither the client's IP address
(including any in X-Forwarded-For / X-Real-IP) nor its User-Agent appears anywhere under var/ or
in the database.

A tipster with distinctive addresses and a distinctive User-Agent goes through every path of the
public tip pages (form, attachment, honeypot, rate limit, follow-up with a wrong and the right
secret, answer, STOP); then every row of every table (raw SQL over the introspected table list,
so tables without a model count too), every file under the var and private directories, the
cache and every log record are searched for those strings. Runs on SQLite and, under
DATABASE_URL, on PostgreSQL.
"""

import io
import logging
import pickle
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from PIL import Image

from copps.inbox import actions as inbox
from copps.investigations.models import Tip
from tests.test_tips_web import follow, keys, send

pytestmark = pytest.mark.django_db(transaction=True)

REMOTE = "198.51.100.77"
FORWARDED = "203.0.113.99"
REAL_IP = "203.0.113.98"
AGENT = "Mozilla/5.0 (TipsterPhone; Distinctive-UA-7f3a9c) Gecko/20100101"
NEEDLES = [REMOTE, FORWARDED, REAL_IP, AGENT, "Distinctive-UA-7f3a9c", "TipsterPhone"]
HEADERS = {
    "REMOTE_ADDR": REMOTE,
    "HTTP_X_FORWARDED_FOR": f"{FORWARDED}, {REMOTE}",
    "HTTP_X_REAL_IP": REAL_IP,
    "HTTP_USER_AGENT": AGENT,
}


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "var" / "private")
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    settings.COPPS_TIP_POW_BITS = 4
    settings.COPPS_TIP_PER_SOURCE_PER_HOUR = 5
    settings.COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR = 3
    settings.COPPS_TIP_FOLLOWUP_FAILURES_PER_HOUR = 5
    return tmp_path / "var"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(out, "JPEG")
    return out.getvalue()


def database_text() -> str:
    """Every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("latin-1")
                    parts.append(f"{table}:{value}")
    return "\n".join(parts)


def files_text(*roots: Path, since: float = 0.0) -> str:
    parts = []
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_mtime >= since:
                parts.append(str(path))
                parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def cache_text() -> str:
    from django.core.cache.backends import locmem

    return "\n".join(
        pickle.dumps(dict(store)).decode("latin-1") for store in locmem._caches.values()
    )


@pytest.mark.parametrize("proxies", [[], [REMOTE]], ids=["direct", "behind-trusted-proxy"])
def test_no_address_and_no_user_agent_is_stored_anywhere(settings, var_dir, caplog, proxies):
    settings.COPPS_TRUSTED_PROXIES = proxies
    started = time.time() - 1
    caplog.set_level(logging.DEBUG)
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client(enforce_csrf_checks=True, **HEADERS)
    response = send(
        client,
        message="De wagen stond aan de kaai.",
        files=[SimpleUploadedFile("kaai.jpg", jpeg(), content_type="image/jpeg")],
    )
    assert response.status_code == 200
    code, secret = keys(response)
    # The other paths a tipster (or a robot from the same address) can take.
    assert send(client, message="spam", website="x").status_code == 400
    for _ in range(3):
        send(client, work=False, message="zonder werk")
    assert send(client, work=False, message="te veel").status_code == 429
    assert follow(client, code, "WRONG-WRONG-WRONG").status_code == 400
    tip = Tip.objects.get(code=code)
    from copps.accounts.models import User

    investigator = User.objects.create(username="ivo", role="investigator")
    inbox.reply(tip.conversation, by=investigator, text="Welke kleur?")
    assert "Welke kleur?" in follow(client, code, secret).content.decode()
    follow(client, code, secret, action="answer", message="Blauw.")
    follow(client, code, secret, action="stop")
    assert tip.conversation.entries.filter(text="Blauw.").exists()

    stored = database_text()
    assert "De wagen stond aan de kaai." in stored  # the dump does see the data
    roots = [var_dir, Path(django_settings.VAR_DIR)]
    on_disk = files_text(*roots, since=started)
    assert "kaai.jpg" in stored and on_disk  # the attachment was written under var/
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for needle in NEEDLES:
        assert needle not in stored, f"{needle} in the database"
        assert needle not in on_disk, f"{needle} in a file under var/"
        assert needle not in cache_text(), f"{needle} in the cache"
        assert needle not in logged, f"{needle} in a log record"
    # No session was written either.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_session")
        assert cursor.fetchone()[0] == 0
