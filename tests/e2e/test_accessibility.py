"""WCAG 2.2 AA, checked by axe-core in Chromium on the pages this release ships.

axe-core finds the machine-checkable part of WCAG (contrast, names, labels, landmarks, ARIA); the
rest (keyboard flow, wording) is reviewed by people. A violation fails the test with its rule id.
"""

import pytest

from copps.public import actions as page_actions

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
        for v in result.response["violations"]
    ]


@pytest.fixture
def content(published_message, make_message, communicator, editor):
    page_actions.update_page(
        by=editor, slug="house-rules", language="nl", title="Huisregels", body="Wees **beleefd**."
    )
    draft = make_message(communicator, title="Concept met 0470 12 34 56", body="Bel 0470 12 34 56.")
    return {"published": published_message, "draft": draft}


def test_public_pages_have_no_wcag_violations(new_page, content):
    page = new_page(locale="nl-BE")
    published = content["published"]
    for path in ["/nl/", "/nl/news/", published.permalink_path("nl"), "/nl/pages/house-rules/"]:
        page.goto(path)
        assert violations(page) == [], path


def test_console_pages_have_no_wcag_violations(new_page, content, editor):
    page = new_page()
    page.goto("/accounts/login/")
    assert violations(page) == [], "/accounts/login/"
    sign_in(page, editor.username)
    draft = content["draft"]
    for path in [
        "/console/",
        "/console/messages/",
        "/console/messages/new",
        f"/console/messages/{draft.pk}/",  # with blocking findings shown
        f"/console/messages/{draft.pk}/edit",
        "/console/review/",
        "/console/pages/",
        "/accounts/tokens/",
    ]:
        page.goto(path)
        assert violations(page) == [], path
