"""The Content-Security-Policy in Chromium: it is enforced, and the console (htmx) and the public
site work under it without a single violation."""

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every violation the browser reports, collected in the page (survives nothing but one page).
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_the_console_live_check_and_preview_work_under_the_policy(new_page, editor):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    sign_in(page, editor.username)

    page.goto("/console/messages/new")
    page.fill("#id_nl-title", "Fietsdiefstal")
    page.fill("#id_nl-body", "Bel 0470 12 34 56 met tips.")
    # htmx posts the form and swaps the findings in: scripts and the CSRF header still work.
    expect(page.locator("#live-check")).to_contain_text("Phone number", timeout=10_000)
    assert violations(page) == []

    page.goto("/console/pages/privacy/en/")
    page.fill("#id_body", "## A heading only the preview has\n\n*emphasis*")
    preview = page.locator("#preview-body")
    expect(preview.locator("h2")).to_have_text(["A heading only the preview has"], timeout=10_000)
    expect(preview.locator("em")).to_have_text("emphasis")
    assert violations(page) == []

    for path in ("/console/", "/accounts/tokens/", "/accounts/2fa/setup/"):
        page.goto(path)
        assert violations(page) == [], path


def test_the_public_site_has_no_violations_and_inline_script_is_refused(new_page, live_server):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    page.goto("/en/")
    assert violations(page) == []
    # The policy is enforced, not merely sent: an injected inline script does not run.
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__ran = true";
            document.body.appendChild(s);
        }"""
    )
    assert page.evaluate("window.__ran === true") is False
    assert any(v.startswith("script-src") for v in violations(page))
