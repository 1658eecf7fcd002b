"""Error reports (the debug page, the e-mail to ADMINS) never carry who was asking."""

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

ADDRESS = "203.0.113.41"
AGENT_MARK = "Distinctive-UA-5be1"
HEADERS = {
    "REMOTE_ADDR": ADDRESS,
    "HTTP_USER_AGENT": f"Mozilla/5.0 ({AGENT_MARK})",
    "HTTP_X_FORWARDED_FOR": ADDRESS,
    "HTTP_X_REAL_IP": ADDRESS,
    # Headers other proxies and CDNs use for the client, and the browser's client hints.
    "HTTP_X_CLIENT_IP": ADDRESS,
    "HTTP_X_CLUSTER_CLIENT_IP": ADDRESS,
    "HTTP_X_ORIGINAL_FORWARDED_FOR": ADDRESS,
    "HTTP_FASTLY_CLIENT_IP": ADDRESS,
    "HTTP_X_FORWARDED": f"for={ADDRESS}",
    "HTTP_VIA": f"1.1 {ADDRESS}",
    "HTTP_SEC_CH_UA_FULL_VERSION_LIST": f'"{AGENT_MARK}";v="1"',
    "HTTP_SEC_CH_UA_MODEL": AGENT_MARK,
}


def report(request) -> str:
    try:
        raise ValueError("boom")
    except ValueError:
        info = sys.exc_info()
    reporter = ExceptionReporter(request, *info)
    return reporter.get_traceback_text() + reporter.get_traceback_html()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_error_report_names_no_client_address_and_no_user_agent(method):
    request = getattr(RequestFactory(), method)("/tips/new", **HEADERS)
    text = report(request)
    assert "/tips/new" in text and "boom" in text  # the report is there
    assert ADDRESS not in text
    assert AGENT_MARK not in text


def test_an_error_report_keeps_the_harmless_request_facts():
    request = RequestFactory().get("/tips/new", HTTP_ACCEPT_LANGUAGE="nl-BE", **HEADERS)
    text = report(request)
    assert "HTTP_ACCEPT_LANGUAGE" in text and "nl-BE" in text
