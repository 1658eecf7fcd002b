"""A citizen sends a tip on a notice in Chromium, an investigator asks a question, the citizen
answers with the tip code and secret; and the same form works with JavaScript switched off."""

import re

import pytest
from playwright.sync_api import expect

from copps.channels.models import RateHit
from copps.inbox import actions as inbox
from copps.investigations.models import Tip
from tests import test_tips_web as web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(autouse=True)
def tip_settings(settings, tmp_path):
    web.tip_settings(settings, tmp_path)
    # Enough bits that the script really searches (a few thousand hashes), few enough for CI.
    settings.COPPS_TIP_POW_BITS = 12


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", "ivo")


@pytest.fixture
def notice(investigator, editor, make_channel):
    return web.published_notice(investigator, editor, make_channel)


def test_a_citizen_sends_a_tip_on_a_notice_and_answers_the_investigators_question(
    new_page, notice, investigator
):
    page = new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    page.goto(f"/en/notices/{notice.pk}/")
    page.get_by_role(
        "link", name="Send your information in writing, anonymously if you wish"
    ).click()
    page.wait_for_url(re.compile(rf"/notices/{notice.pk}/tip\?lang=en$"))
    page.get_by_label("What do you know?").fill("Ik zag haar zaterdag aan het station van Gent.")
    # The proof-of-work script fills the hidden nonce on its own.
    page.wait_for_function("document.querySelector('input[name=nonce]').value !== ''")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your information was sent"
    )
    code = page.locator("#tip-code").inner_text()
    secret = page.locator("#tip-secret").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    tip = Tip.objects.get(code=code)
    assert tip.notice_id == notice.pk
    # The work was valid and spent: one hit for the submission, one for the spent challenge.
    assert RateHit.objects.count() == 2
    assert page.evaluate("window.__cspViolations") == []
    assert {c["name"] for c in page.context.cookies()} == {"csrftoken"}

    inbox.reply(tip.conversation, by=investigator, text="Droeg ze een rode jas?")

    page.get_by_role("link", name="read our questions and answer").click()
    page.get_by_label("Tip code").fill(code.lower())
    page.get_by_label("Secret").fill(secret)
    page.get_by_role("button", name="Show the conversation").click()
    conversation = page.locator(".tip-conversation")
    expect(conversation).to_contain_text("Droeg ze een rode jas?")
    expect(conversation).to_contain_text("Ik zag haar zaterdag")

    page.get_by_label("Your answer").fill("Ja, en een groene rugzak.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_role("status").first).to_contain_text("your answer was sent")
    expect(page.locator(".tip-conversation li").last).to_contain_text("Ja, en een groene rugzak.")
    assert tip.conversation.entries.filter(
        direction="in", text="Ja, en een groene rugzak."
    ).exists()
    assert page.evaluate("window.__cspViolations") == []


def test_the_form_works_with_javascript_switched_off(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/tips/new?lang=en")
        page.get_by_label("What do you know?").fill("Een plain HTML-formulier, zonder script.")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#tip-code")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
        assert Tip.objects.get().conversation.entries.get().text.startswith("Een plain")
        assert RateHit.objects.count() == 1  # no work: counted under the stricter limit only
    finally:
        context.close()


def test_the_tip_pages_have_no_wcag_violations(new_page, notice):
    from .test_accessibility import violations

    page = new_page(locale="nl-BE")
    for path in ("/tips/new?lang=nl", f"/notices/{notice.pk}/tip?lang=fr", "/tips/follow-up"):
        page.goto(path)
        assert violations(page) == [], path
    # With errors shown, on the confirmation page and in the conversation.
    page.goto("/tips/new?lang=en")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Please describe what you know.")
    assert violations(page) == [], "form with errors"
    page.get_by_label("What do you know?").fill("Een witte bestelwagen.")
    page.get_by_role("button", name="Send").click()
    code = page.locator("#tip-code").inner_text()
    secret = page.locator("#tip-secret").inner_text()
    assert violations(page) == [], "confirmation"
    page.goto("/tips/follow-up?lang=en")
    page.get_by_label("Tip code").fill(code)
    page.get_by_label("Secret").fill(secret)
    page.get_by_role("button", name="Show the conversation").click()
    expect(page.locator(".tip-conversation")).to_contain_text("Een witte bestelwagen.")
    assert violations(page) == [], "conversation"
