"""The proxy trust model: forwarding headers count only when a trusted proxy sent them."""

import pytest
from django.test import RequestFactory

from copps.lib.clientip import client_address

rf = RequestFactory()


def request(remote, xff=None):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return rf.get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.COPPS_TRUSTED_PROXIES = []
    assert client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored(settings):
    settings.COPPS_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_foreign_hop_is_the_client(settings):
    settings.COPPS_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    # The client forged the left-most entry; our proxies appended the rest.
    forged = "1.2.3.4, 198.51.100.7, 10.1.2.3"
    assert client_address(request("127.0.0.1", forged)) == "198.51.100.7"


@pytest.mark.parametrize("xff", ["", "not-an-address", "198.51.100.7, garbage"])
def test_a_missing_or_malformed_header_falls_back_to_the_peer(settings, xff):
    settings.COPPS_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_address(request("127.0.0.1", xff)) == "127.0.0.1"


def test_ipv6_proxies_and_clients_work(settings):
    settings.COPPS_TRUSTED_PROXIES = ["::1"]
    assert client_address(request("::1", "2001:db8::5")) == "2001:db8::5"
