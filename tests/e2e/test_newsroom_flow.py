"""End to end in Chromium: draft -> guideline finding -> fix -> submit -> another editor approves
-> public page and feed; and the author can never approve their own message."""

import re

import pytest
from playwright.sync_api import expect

from copps.newsroom.models import Message
from copps.newsroom.workflow import State

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Getuigen gezocht na inbraak in de Stationsstraat"
BODY_WITH_PHONE = "Wie iets zag, belt naar 0470 12 34 56. Elk detail helpt het onderzoek vooruit."
BODY_FIXED = "Wie iets zag, belt naar het nummer 101. Elk detail helpt het onderzoek vooruit."


def test_a_communicator_drafts_fixes_a_finding_submits_and_an_editor_publishes(
    new_page, communicator, editor, live_server
):
    page = new_page()
    sign_in(page, communicator.username)

    page.goto("/console/messages/new")
    page.fill("#id_nl-title", TITLE)
    page.fill("#id_nl-body", BODY_WITH_PHONE)
    live = page.locator("#live-check")
    # The live check (htmx) flags the citizen's phone number while typing, before saving.
    expect(live).to_contain_text("Phone number", timeout=10_000)
    expect(live).to_contain_text("0470 12 34 56")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    message = Message.objects.get(versions__title=TITLE)

    # Submitting with the blocking finding is refused and the finding is named.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("0470 12 34 56").first).to_be_visible()
    message.refresh_from_db()
    assert message.state == State.DRAFT

    # Fix it in the editor: the live check clears, then submit goes through.
    page.goto(f"/console/messages/{message.pk}/edit")
    page.fill("#id_nl-body", BODY_FIXED)
    expect(live).not_to_contain_text("Phone number", timeout=10_000)
    page.get_by_role("button", name=re.compile("Save")).first.click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("body")).to_contain_text("Submitted for review")
    message.refresh_from_db()
    assert message.state == State.SUBMITTED

    # Another editor approves from the review queue.
    reviewer = new_page()
    sign_in(reviewer, editor.username)
    reviewer.goto("/console/review/")
    reviewer.get_by_role("link", name=TITLE, exact=True).click()
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("body")).to_contain_text("Published")
    message.refresh_from_db()
    assert message.state == State.PUBLISHED

    # The public home base shows it, and so does the feed.
    public = new_page(locale="nl-BE")
    public.goto(message.permalink_path("nl"))
    expect(public.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(public.locator("main")).to_contain_text("101")
    feed = public.request.get("/feeds/news.xml")
    assert feed.ok and TITLE in feed.text()
    assert message.permalink("nl").split("/", 3)[3] in feed.text()


def test_the_author_cannot_approve_their_own_message(new_page, editor, second_editor, make_message):
    message = make_message(editor, title="Eigen bericht van de hoofdredacteur")
    from copps.newsroom import actions

    actions.submit_message(message, by=editor)
    page = new_page()
    sign_in(page, editor.username)
    page.goto(f"/console/messages/{message.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Eigen bericht")
    # No approve button is offered to the author ...
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    # ... and forging the POST is refused with a clear explanation.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/console/messages/{message.pk}/approve",
        form={"csrfmiddlewaretoken": token, "approve-version": str(message.version)},
        headers={"Referer": page.url},
    )
    assert response.status == 403
    assert "another editor must" in response.text()
    message.refresh_from_db()
    assert message.state == State.SUBMITTED
