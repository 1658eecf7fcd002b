"""A citizen subscribes in a real browser (no JavaScript needed): form, mail, confirmation,
unsubscribe; and the subscription pages pass axe-core's WCAG 2.2 AA checks, errors included."""

import re

import pytest
from django.core import mail

from copps.channels.models import Subscription

from .test_accessibility import violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_subscription_pages_have_no_wcag_violations(new_page):
    page = new_page(locale="nl-BE")
    page.goto("/nl/subscribe/")
    assert violations(page) == [], "form"
    page.locator("#id_email").fill("not-an-address")
    page.locator("#id_postcodes").fill("123")
    page.locator("button[type=submit]").click()
    assert page.locator(".error-summary").is_visible()
    assert violations(page) == [], "form with errors"
    for path in ["/nl/subscribe/sent/", "/nl/subscribe/unsubscribe/", "/unsubscribe/1.forged"]:
        page.goto(path)
        assert violations(page) == [], path


def test_a_citizen_subscribes_confirms_and_unsubscribes_in_the_browser(new_page):
    page = new_page(locale="fr-BE")
    page.goto("/fr/subscribe/")
    page.locator("#id_email").fill("jeanne@example.be")
    page.locator("input[name=topics][value=traffic]").check()
    page.locator("#id_postcodes").fill("9000")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/fr/subscribe/sent/")
    [message] = mail.outbox
    link = re.search(r"https?://\S+?(/fr/subscribe/confirm/\S+/)", message.body).group(1)

    page.goto(link)
    page.locator("main button[type=submit]").click()
    subscription = Subscription.objects.get()
    assert subscription.state == "active" and subscription.language == "fr"
    assert subscription.topics == ["traffic"] and subscription.postcodes == ["9000"]

    from copps.channels.subscriptions import unsubscribe_token

    page.goto(f"/unsubscribe/{unsubscribe_token(subscription)}")
    assert Subscription.objects.exists()  # opening the link alone changes nothing
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert not Subscription.objects.exists()
