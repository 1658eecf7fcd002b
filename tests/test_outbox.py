"""The demo's SMTP sink (``copps smtp_sink``) and the console's outbox viewer.

Messages reach the sink over real SMTP (aiosmtpd on loopback, and the management command as a
process); the viewer lists and shows them to editors and administrators only, renders the HTML
part sealed (sanitised, in a sandboxed frame under its own policy) and refuses every name that
is not one of its own files.
"""

from __future__ import annotations

import os
import secrets
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse

from copps.accounts.roles import Role
from copps.channels import deliveries, smtp_sink
from copps.channels.models import Subscription
from copps.newsroom import actions

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def outbox(tmp_path, settings):
    folder = tmp_path / "outbox"
    settings.COPPS_OUTBOX_DIR = str(folder)
    return folder


@pytest.fixture
def sink(outbox, settings):
    """The sink's handler and store behind a real aiosmtpd server."""
    port = free_port()
    store = smtp_sink.Store(outbox, keep=50)
    controller = Controller(smtp_sink.SinkHandler(store), hostname="127.0.0.1", port=port)
    controller.start()
    settings.COPPS_SMTP_SINK_HOST = "127.0.0.1"
    settings.COPPS_SMTP_SINK_PORT = port
    yield port
    controller.stop()


def send_raw(port: int, raw: bytes, to: str = "someone@example.org") -> None:
    with smtplib.SMTP("127.0.0.1", port) as conn:
        conn.sendmail("demo@police.example", [to], raw)


@pytest.fixture
def newsletter(sink, make_channel, make_message, communicator, editor):
    """A newsletter the demo's sandbox e-mail channel sent to the sink; returns its name."""
    make_channel(
        "email",
        slug="nieuwsbrief",
        sandbox=True,
        config={"from_address": "nieuwsbrief@police.example", "from_name": "Politie"},
        secrets={},
    )
    Subscription.objects.create(
        medium="email",
        address="ann@example.org",
        state="active",
        language="nl",
        secret=secrets.token_hex(16),
    )
    message = make_message(
        communicator,
        title="Wegenwerken in de Kerkstraat",
        body="De Kerkstraat is **afgesloten** tot vrijdag.",
        channels=["web", "email"],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    deliveries.deliver_due()
    deliveries.deliver_recipients(limit_seconds=5)
    (name,) = smtp_sink.names()
    return name


def as_role(client, make_user, role):
    client.force_login(make_user(role, f"outbox-{role}"))
    return client


# The sink ------------------------------------------------------------------------------------


def test_the_sink_stores_each_message_as_one_eml_file(sink, outbox):
    send_raw(sink, b"Subject: one\r\nTo: a@example.org\r\n\r\nfirst\r\n")
    send_raw(sink, b"Subject: two\r\nTo: b@example.org\r\n\r\nsecond\r\n")
    names = smtp_sink.names()
    assert len(names) == 2 and names == sorted(names, reverse=True)
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"{n}.eml" for n in names)
    newest = smtp_sink.read(names[0])
    assert newest is not None and newest.subject == "two" and newest.to == "b@example.org"


def test_the_sink_keeps_only_the_newest_messages(outbox):
    store = smtp_sink.Store(outbox, keep=3)
    saved = [store.save(f"Subject: {i}\r\n\r\nx\r\n".encode()) for i in range(8)]
    assert store.prune() == 5
    assert smtp_sink.names() == list(reversed(saved[-3:]))


def test_the_sink_prunes_by_itself_past_the_cap(outbox, monkeypatch):
    monkeypatch.setattr(smtp_sink, "PRUNE_SLACK", 2)
    store = smtp_sink.Store(outbox, keep=3)
    for i in range(10):
        store.save(f"Subject: {i}\r\n\r\nx\r\n".encode())
    assert len(smtp_sink.names()) <= 3 + 2


def test_the_sink_never_leaves_half_written_files(outbox):
    (outbox).mkdir(parents=True)
    (outbox / ".tmp-00000000000000000001-aaaaaaaaaaaa").write_bytes(b"half")
    store = smtp_sink.Store(outbox)
    store.save(b"Subject: whole\r\n\r\nx\r\n")
    assert [p.name for p in outbox.iterdir() if p.name.startswith(".tmp")] == []


def test_the_sink_command_listens_stores_and_stops_cleanly(tmp_path):
    port = free_port()
    folder = tmp_path / "sink"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
        [sys.executable, "-m", "copps.manage", "smtp_sink", "--port", str(port)]
        + ["--dir", str(folder), "--keep", "10"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                send_raw(port, b"Subject: via the command\r\nTo: x@example.org\r\n\r\nhi\r\n")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        (stored,) = list(folder.glob("*.eml"))
        assert b"Subject: via the command" in stored.read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert b"x@example.org" not in out + err  # addresses stay out of its log


# The viewer: access --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR])
def test_editors_and_administrators_see_the_outbox(client, make_user, role, newsletter):
    as_role(client, make_user, role)
    assert client.get(reverse("outbox:list")).status_code == 200
    assert client.get(reverse("outbox:detail", args=[newsletter])).status_code == 200
    assert client.get(reverse("outbox:html", args=[newsletter])).status_code == 200


@pytest.mark.parametrize("role", [r for r in Role.values if r not in (Role.ADMIN, Role.EDITOR)])
def test_other_staff_get_403(client, make_user, role, newsletter):
    as_role(client, make_user, role)
    for url in (
        reverse("outbox:list"),
        reverse("outbox:detail", args=[newsletter]),
        reverse("outbox:html", args=[newsletter]),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert b"Kerkstraat" not in response.content


def test_anonymous_visitors_are_sent_to_the_login_page(client, newsletter):
    for url in (reverse("outbox:list"), reverse("outbox:detail", args=[newsletter])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/" in response["Location"]


def test_it_answers_405_to_other_methods(client, editor, newsletter):
    client.force_login(editor)
    assert client.post(reverse("outbox:list")).status_code == 405
    assert client.post(reverse("outbox:detail", args=[newsletter])).status_code == 405
    assert client.delete(reverse("outbox:html", args=[newsletter])).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/console/outbox/../",
        "/console/outbox/..%2F..%2Fcopps.sqlite3/",
        "/console/outbox/%2e%2e/",
        "/console/outbox/..%5C..%5Cetc%5Cpasswd/",
        "/console/outbox/etc%2Fpasswd/html",
        "/console/outbox/00000000000000000001-aaaaaaaaaaaa.eml/",
        "/console/outbox/00000000000000000001-AAAAAAAAAAAA/",
        "/console/outbox/00000000000000000001-aaaaaaaaaaaa%00/",
        "/console/outbox/99999999999999999999-ffffffffffff/",
    ],
)
def test_names_that_are_not_stored_messages_are_not_found(client, editor, outbox, path):
    outbox.mkdir(parents=True)
    (outbox / "00000000000000000001-aaaaaaaaaaaa.eml.eml").write_bytes(b"Subject: x\r\n\r\n")
    client.force_login(editor)
    assert client.get(path).status_code == 404


def test_a_link_planted_in_the_folder_cannot_point_outside_it(client, editor, outbox, tmp_path):
    outbox.mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"Subject: SECRET\r\n\r\ntop secret\r\n")
    (outbox / "00000000000000000002-bbbbbbbbbbbb.eml").symlink_to(secret)
    client.force_login(editor)
    response = client.get("/console/outbox/00000000000000000002-bbbbbbbbbbbb/")
    assert response.status_code == 404
    assert b"SECRET" not in client.get(reverse("outbox:list")).content


# The viewer: what it shows -------------------------------------------------------------------


def test_the_list_shows_date_recipient_subject_and_size(client, editor, newsletter):
    client.force_login(editor)
    page = client.get(reverse("outbox:list")).content.decode()
    assert "Wegenwerken in de Kerkstraat" in page
    assert "ann@example.org" in page
    assert reverse("outbox:detail", args=[newsletter]) in page
    assert "<time datetime=" in page


def test_the_list_is_paginated(client, editor, outbox):
    store = smtp_sink.Store(outbox)
    for i in range(60):
        store.save(f"Subject: number {i:02d}\r\nTo: r@example.org\r\n\r\nx\r\n".encode())
    client.force_login(editor)
    first = client.get(reverse("outbox:list")).content.decode()
    assert "number 59" in first and "number 09" not in first
    second = client.get(reverse("outbox:list") + "?page=2").content.decode()
    assert "number 09" in second and "number 59" not in second
    assert client.get(reverse("outbox:list") + "?page=abc").status_code == 200


def test_the_detail_shows_the_headers_and_both_parts(client, editor, newsletter):
    client.force_login(editor)
    response = client.get(reverse("outbox:detail", args=[newsletter]))
    page = response.content.decode()
    for header in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Id"):
        assert f"<dt>{header}</dt>" in page
    assert "List-Unsubscribe=One-Click" in page
    assert "/unsubscribe/" in page
    assert "De Kerkstraat is afgesloten tot vrijdag." in page  # the text part
    assert '<iframe class="outbox-frame" sandbox=""' in page
    assert reverse("outbox:html", args=[newsletter]) in page
    # The console page itself keeps the site's strict policy.
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_html_part_is_served_sealed(client, editor, newsletter):
    client.force_login(editor)
    response = client.get(reverse("outbox:html", args=[newsletter]))
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "frame-ancestors 'self'" in policy and "script-src" not in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    body = response.content.decode()
    assert "<strong>afgesloten</strong>" in body


def test_hostile_html_in_a_stored_message_is_removed(client, editor, sink):
    raw = (
        b"Subject: hostile\r\nTo: x@example.org\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p onclick="steal()">hello</p><script>alert(1)</script>'
        b'<img src="https://tracker.example/p.gif" onerror="x()">'
        b'<a href="javascript:alert(2)">link</a><iframe src="https://evil.example"></iframe>'
        b'<form action="https://evil.example"><input name=p></form>\r\n'
    )
    send_raw(sink, raw)
    (name,) = smtp_sink.names()
    client.force_login(editor)
    body = client.get(reverse("outbox:html", args=[name])).content.decode().lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "<img", "<iframe", "<form"):
        assert bad not in body
    assert "hello" in body
    detail = client.get(reverse("outbox:detail", args=[name])).content.decode()
    assert "<script>alert(1)" not in detail


def test_a_malformed_message_is_shown_without_an_error(client, editor, sink):
    raw = (
        b"Subject: =?bogus-charset?Q?broken?=\r\nTo: <<not an address\r\n"
        b'Content-Type: multipart/alternative; boundary="nope\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n\xff\xfe garbage ===\r\n"
    )
    send_raw(sink, raw)
    (name,) = smtp_sink.names()
    client.force_login(editor)
    assert client.get(reverse("outbox:list")).status_code == 200
    assert client.get(reverse("outbox:detail", args=[name])).status_code == 200
    assert client.get(reverse("outbox:html", args=[name])).status_code in (200, 404)


def test_an_empty_outbox_says_so(client, editor, outbox):
    client.force_login(editor)
    page = client.get(reverse("outbox:list")).content.decode()
    assert "No e-mail yet." in page
