"""The one outbound HTTP entry point: what it refuses, what it reads, how errors come out."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from copps.lib import http


@pytest.fixture
def server():
    """A real HTTP server on loopback that records the Host header it was asked for."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers["Host"])
            body = b"x" * int(self.path.strip("/") or 2)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], seen
    httpd.shutdown()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "http://10.0.0.5/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/",
        "https://",
        "http://example.org:99999/",
    ],
)
def test_it_refuses_schemes_and_private_addresses_from_outside_input(url):
    with pytest.raises((http.Refused, http.NotSent)):
        http.request("GET", url)


def test_configured_endpoints_may_be_private(server):
    port, _seen = server
    response = http.request("GET", f"http://127.0.0.1:{port}/5", allow_private=True)
    assert response.status_code == 200 and response.content == b"xxxxx"


def test_it_connects_to_the_address_it_checked_not_a_second_dns_answer(server, monkeypatch):
    """DNS rebinding: a name that resolved to a public address must not be re-resolved to a
    private one at connect time. The checked address is pinned; Host keeps the name."""
    port, seen = server
    lookups = []

    def resolve(host, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(http, "_is_public", lambda address: True)  # pretend 127.0.0.1 is public
    response = http.request("GET", f"http://rebind.example:{port}/3")
    assert response.status_code == 200 and response.content == b"xxx"
    names = [h for h in lookups if not h.replace(".", "").isdigit()]
    assert names == ["rebind.example"]  # resolved once, by the check; then only the literal IP
    assert seen == [f"rebind.example:{port}"]


def test_an_oversized_answer_is_not_read_into_memory(server):
    port, _seen = server
    with pytest.raises(http.NoAnswer, match="larger than"):
        http.request("GET", f"http://127.0.0.1:{port}/5000", allow_private=True, max_bytes=1000)


def test_errors_say_whether_the_request_may_have_arrived():
    def down(request):
        raise httpx.ConnectError("refused", request=request)

    def silent(request):
        raise httpx.ReadTimeout("no answer", request=request)

    with http.fake(down), pytest.raises(http.NotSent):
        http.request("POST", "https://api.example.org/x")
    with http.fake(silent), pytest.raises(http.NoAnswer):
        http.request("POST", "https://api.example.org/x")


def test_redirects_are_followed_only_when_asked_and_each_hop_is_checked():
    def redirect(request):
        if request.url.host == "a.example.org":
            return httpx.Response(302, headers={"Location": "http://10.1.2.3/"})
        return httpx.Response(200)

    with http.fake(redirect):
        assert http.request("GET", "https://a.example.org/").status_code == 302
        with pytest.raises(http.Refused):
            http.request("GET", "https://a.example.org/", follow_redirects=True)


def test_credentials_do_not_follow_a_redirect_to_another_host():
    seen = []

    def redirect(request):
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "a.example.org":
            return httpx.Response(302, headers={"Location": "https://b.example.org/x"})
        return httpx.Response(200)

    with http.fake(redirect):
        http.request(
            "GET",
            "https://a.example.org/",
            headers={"Authorization": "Bearer t"},
            follow_redirects=True,
        )
    assert seen == [("a.example.org", "Bearer t"), ("b.example.org", None)]


def test_a_garbled_redirect_is_refused_not_a_crash():
    def redirect(request):
        return httpx.Response(302, headers={"Location": "http://[::1"})

    with http.fake(redirect), pytest.raises(http.HttpError):
        http.request("GET", "https://a.example.org/", follow_redirects=True)
