"""A citizen comments under a news article in a real browser with JavaScript switched off; the
thread (a police reply, a removed comment's placeholder) and the form pass axe-core's WCAG 2.2
AA checks. Leaves a screenshot of the article with its comments in $COPPS_SCREENSHOTS (if set)."""

import os

import pytest

from copps.inbox import actions
from copps.inbox.house_rules import ensure_default_rules
from copps.inbox.models import Entry, HouseRule, Visibility

from .test_accessibility import violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_citizen_comments_without_javascript_and_the_thread_is_accessible(
    browser, live_server, published_message, communicator
):
    ensure_default_rules()
    article = "/en/" + published_message.permalink_path("nl").split("/", 2)[2]
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=False
    )
    page = context.new_page()
    page.goto(article)
    page.get_by_label("Your name or a pseudonym").fill("Fietser uit Gent")
    page.get_by_label("Your comment").fill(
        "Goed dat jullie dit melden!\nOok bij ons <b>gestolen</b>."
    )
    page.get_by_label("I accept the house rules").check()
    page.get_by_role("button", name="Check my comment").click()
    assert page.get_by_role("heading", name="Check your comment").is_visible()
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url("**/comments/**")
    assert "Your comment is published" in page.content()
    entry = Entry.objects.get()
    assert entry.visibility == Visibility.VISIBLE and "<b>gestolen</b>" in entry.text

    # The article may sit in the browser's cache for a minute: the status page's link to the
    # comment carries a query that makes it a fresh address.
    page.get_by_role("link", name="See your comment on the page").click()
    assert "Fietser uit Gent" in page.locator("#comments").inner_text()
    actions.reply(entry.conversation, by=communicator, text="Bedankt voor uw reactie.")
    page.goto(article + "?fresh=1")
    page.get_by_label("Your comment").fill("Iedereen weet dat het Jan van nummer 12 is.")
    page.get_by_label("I accept the house rules").check()
    page.get_by_role("button", name="Check my comment").click()
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url("**/comments/**")
    status_url = page.url
    second = Entry.objects.filter(direction="in").order_by("pk").last()
    actions.moderate(second, by=communicator, action="remove", rule=HouseRule.objects.get(number=4))

    page.goto(article + "?fresh=2")
    thread = page.locator("#comments")
    assert "Police — communication team" in thread.inner_text()
    assert "house rule 4" in thread.inner_text() and "Jan van nummer 12" not in page.content()
    shots = os.environ.get("COPPS_SCREENSHOTS")
    if shots:
        page.screenshot(path=os.path.join(shots, "comments-article.png"), full_page=True)
        page.goto(status_url)
        page.screenshot(path=os.path.join(shots, "comments-status.png"), full_page=True)
    context.close()

    checked = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    checked.goto(article)
    assert violations(checked) == [], "article with comments"
    checked.goto(status_url)
    assert violations(checked) == [], "status of a removed comment"
    checked.goto("/en/pages/house-rules/")
    assert violations(checked) == [], "house rules"
    if shots:
        checked.goto("/fr/pages/house-rules/")
        checked.screenshot(path=os.path.join(shots, "house-rules.png"), full_page=True)
    checked.context.close()
