"""Comments on the public site (issue 5, part D): posted through the real two-step form with
CSRF enforced, moderated through the real inbox actions, read back from the public pages."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from copps.channels.models import RateHit
from copps.inbox import actions, comments
from copps.inbox.house_rules import DEFAULT_RULES, ensure_default_rules
from copps.inbox.models import Conversation, Desk, Entry, HouseRule, Source, Visibility
from copps.investigations import actions as notices
from copps.newsroom.models import Message
from tests.test_investigations_notices import authorise, make_notice, publish

pytestmark = pytest.mark.django_db

TEXT = "Goed dat jullie dit melden, mijn buur had ook al last van fietsdieven."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rules(db):
    ensure_default_rules()
    return {rule.number: rule for rule in HouseRule.objects.all()}


@pytest.fixture
def browser():
    """A citizen's browser: CSRF checked as in production."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.7")


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", "ivo")


@pytest.fixture
def notice(investigator, make_channel, editor):
    make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )
    notice = make_notice(investigator)
    authorise(notice, investigator)
    return publish(notice, investigator, editor)


def fields(text=TEXT, name="Fietser uit Gent", **extra):
    data = {"name": name, "text": text, "accept_rules": "on", "website": "", "language": "en"}
    data.update(extra)
    return data


def post(browser, message, **data):
    """Both steps, as a browser does them: check (no token needed), then send with the token."""
    check = browser.post(f"/comments/on/{message.pk}/", {**fields(**data), "step": "check"})
    if check.status_code != 200:
        return check
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', check.content.decode())
    assert token, "the check page carries the CSRF token"
    return browser.post(
        f"/comments/on/{message.pk}/",
        {**fields(**data), "step": "send", "csrfmiddlewaretoken": token.group(1)},
    )


def posted_entry(response) -> Entry:
    assert response.status_code == 302, response.content.decode()[:500]
    token = response["Location"].split("/comments/", 1)[1].split("?")[0]
    entry = comments.entry_for_token(token)
    assert entry is not None
    return entry


def article(client, message):
    """The article page in English (the interface strings the tests read)."""
    path = "/en/" + message.permalink_path("nl").split("/", 2)[2]
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_a_comment_on_a_news_article_is_published_at_once_and_shown_under_it(
    browser, client, published_message
):
    response = post(browser, published_message)
    entry = posted_entry(response)
    assert entry.visibility == Visibility.VISIBLE
    conversation = entry.conversation
    assert conversation.source == Source.COMMENT and conversation.desk == Desk.COMMUNICATION
    assert conversation.message == published_message and entry.author == "Fietser uit Gent"
    status = browser.get(response["Location"])
    assert status.status_code == 200 and "Your comment is published" in status.content.decode()
    html = article(client, published_message)
    assert TEXT in html and "Fietser uit Gent" in html


def test_the_author_needs_no_name_and_appears_as_an_anonymous_citizen(
    browser, client, published_message
):
    posted_entry(post(browser, published_message, name=""))
    assert "Anonymous citizen" in article(client, published_message)


def test_the_article_with_its_comment_form_stays_cacheable_and_sets_no_cookie(
    client, published_message
):
    response = client.get(published_message.permalink_path("nl"))
    html = response.content.decode()
    assert f'action="/comments/on/{published_message.pk}/"' in html
    assert 'href="/en/pages/house-rules/"' in html or "/pages/house-rules/" in html
    assert not response.cookies and "max-age=60" in response["Cache-Control"]


def test_the_first_step_stores_nothing_and_the_second_needs_the_csrf_token(
    browser, published_message
):
    check = browser.post(f"/comments/on/{published_message.pk}/", {**fields(), "step": "check"})
    assert check.status_code == 200 and "Check your comment" in check.content.decode()
    forged = browser.post(f"/comments/on/{published_message.pk}/", {**fields(), "step": "send"})
    assert forged.status_code == 403
    assert not Entry.objects.exists() and not Conversation.objects.exists()


def test_a_comment_on_a_notice_waits_for_a_moderator_before_it_appears(
    browser, client, notice, communicator
):
    entry = posted_entry(post(browser, notice.message, text="Ik heb haar gisteren gezien?"))
    assert entry.visibility == Visibility.PENDING
    status = browser.get(f"/comments/{comments.status_token(entry)}?posted=1").content.decode()
    assert "awaits moderation" in status
    page = client.get(f"/nl/notices/{notice.pk}/").content.decode()
    assert "Ik heb haar gisteren gezien" not in page
    actions.moderate(entry, by=communicator, action="publish")
    page = client.get(f"/nl/notices/{notice.pk}/").content.decode()
    assert "Ik heb haar gisteren gezien" in page


def test_the_premoderated_kinds_are_configurable(browser, published_message, settings):
    settings.COPPS_COMMENTS_PREMODERATED = ["news", "notice"]
    assert posted_entry(post(browser, published_message)).visibility == Visibility.PENDING


def test_a_hidden_comment_leaves_a_placeholder_naming_the_rule_and_its_author_sees_why(
    browser, client, published_message, communicator, rules
):
    entry = posted_entry(post(browser, published_message, text="Die buurman is een idioot."))
    actions.moderate(entry, by=communicator, action="hide", rule=rules[1])
    html = article(client, published_message)
    assert "idioot" not in html
    assert "A comment was removed:" in html and "#rule-1" in html
    assert "house rule 1 (Be respectful" in html
    status = browser.get(f"/comments/{comments.status_token(entry)}").content.decode()
    assert "Hidden by a moderator" in status and "House rule 1: Be respectful" in status
    assert "/pages/house-rules/#rule-1" in status
    entry.refresh_from_db()
    assert entry.moderated_at.strftime("%Y") in status


def test_removing_a_comment_wipes_its_text_everywhere(
    browser, client, published_message, communicator, rules
):
    entry = posted_entry(post(browser, published_message, text="Jan Peeters uit de Kerkstraat 4."))
    actions.moderate(entry, by=communicator, action="remove", rule=rules[3])
    entry.refresh_from_db()
    assert entry.text == ""
    assert "Kerkstraat" not in article(client, published_message)
    status = browser.get(f"/comments/{comments.status_token(entry)}").content.decode()
    assert "Removed by a moderator" in status and "Kerkstraat" not in status
    assert "#rule-3" in status


def test_a_police_reply_is_published_under_the_comment(
    browser, client, published_message, communicator
):
    entry = posted_entry(post(browser, published_message))
    reply = actions.reply(entry.conversation, by=communicator, text="Bedankt, we nemen het mee.")
    assert reply.send_state == "sent" and reply.external_id == f"comment-reply:{reply.pk}"
    html = article(client, published_message)
    assert "Police — communication team" in html and "Bedankt, we nemen het mee." in html
    assert html.index(TEXT) < html.index("Bedankt, we nemen het mee.")
    status = browser.get(f"/comments/{comments.status_token(entry)}").content.decode()
    assert "Bedankt, we nemen het mee." in status


def test_markup_in_a_comment_is_shown_as_text_and_links_are_not_clickable(
    browser, client, published_message
):
    attack = '<script>alert(1)</script><a href="https://spam.example">win</a> https://x.example'
    posted_entry(post(browser, published_message, text=attack, name="<b>bold</b>"))
    html = article(client, published_message)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://spam.example"' not in html and 'href="https://x.example' not in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"website": "https://bot.example"}, 400),  # the honeypot
        ({"text": ""}, 400),
        ({"text": "   \n  "}, 400),
        ({"text": "x" * 2001}, 400),
        ({"name": "n" * 500}, 400),
        ({"accept_rules": ""}, 400),
    ],
)
def test_bad_comments_are_refused_with_a_clear_4xx_and_nothing_is_stored(
    browser, published_message, change, status
):
    data = {**fields(), **change}
    for step in ("check", "send"):
        response = browser.post(f"/comments/on/{published_message.pk}/", {**data, "step": step})
        assert response.status_code in (status, 403)  # 403: the send step without a token
    checked = browser.post(f"/comments/on/{published_message.pk}/", {**data, "step": "check"})
    assert checked.status_code == status
    assert not Entry.objects.exists()


def test_garbage_never_gives_a_500(browser, published_message, make_message, communicator):
    draft = make_message(communicator)
    cases = [
        ("post", f"/comments/on/{draft.pk}/", fields()),  # not public: does not exist
        ("post", "/comments/on/999999/", fields()),
        ("post", f"/comments/on/{published_message.pk}/", {}),
        ("post", f"/comments/on/{published_message.pk}/", {"text": "\x00\x01", "step": 1}),
        ("get", "/comments/not-a-token", None),
        ("get", "/comments/" + "A" * 3000, None),
        ("get", f"/comments/{comments.status_token(Entry(pk=424242))}", None),
    ]
    for method, url, data in cases:
        response = getattr(browser, method)(url, data) if data is not None else browser.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    assert browser.put(f"/comments/on/{published_message.pk}/").status_code == 405
    broken = browser.post(
        f"/comments/on/{published_message.pk}/",
        b"text=%FF%FE%00%ED%A0%80&step=check&accept_rules=%C0",
        content_type="application/x-www-form-urlencoded",
    )
    assert broken.status_code == 400
    assert post(browser, published_message, text="a\x00b").status_code == 400
    assert not Entry.objects.exists()


def test_a_status_link_of_another_kind_of_signature_is_refused(browser, published_message):
    from django.core import signing

    entry = posted_entry(post(browser, published_message))
    other_salt = signing.dumps({"e": entry.pk}, salt="copps.something-else")
    assert browser.get(f"/comments/{other_salt}").status_code == 404


def test_a_flood_from_one_client_is_refused_and_no_address_is_stored(
    browser, published_message, settings
):
    settings.COPPS_COMMENTS_PER_SOURCE_PER_HOUR = 2
    for n in range(2):
        posted_entry(post(browser, published_message, text=f"comment {n}"))
    third = post(browser, published_message, text="comment 3")
    assert third.status_code == 429 and "Too many comments" in third.content.decode()
    assert Entry.objects.count() == 2
    keys = list(RateHit.objects.values_list("key", flat=True))
    assert keys and all("198.51.100.7" not in key for key in keys)
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    posted_entry(post(other, published_message, text="someone else"))


def test_comments_are_closed_on_a_resolved_notice(browser, client, notice, investigator):
    check = browser.post(f"/comments/on/{notice.message.pk}/", {**fields(), "step": "check"})
    assert check.status_code == 200
    notices.resolve_notice(notice, by=investigator, resolution="found")
    response = post(browser, notice.message)
    assert response.status_code == 403 and "Comments are closed" in response.content.decode()
    assert "Vermist" not in response.content.decode()  # the resolved notice is not named
    assert not Entry.objects.exists()


def test_comments_are_closed_on_an_expired_message(browser, client, published_message):
    Message.objects.filter(pk=published_message.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    html = article(client, published_message)
    assert "Comments are closed on this page." in html
    assert f'action="/comments/on/{published_message.pk}/"' not in html
    assert post(browser, published_message).status_code == 403


def test_pending_comments_are_not_counted_or_shown(browser, client, notice):
    posted_entry(post(browser, notice.message, text="wacht op moderatie"))
    page = client.get(f"/en/notices/{notice.pk}/").content.decode()
    assert "wacht op moderatie" not in page and "No comments yet." in page


# House rules -----------------------------------------------------------------------------------


def test_the_default_house_rules_exist_in_four_languages_and_loading_twice_adds_nothing(db):
    assert ensure_default_rules() == len(DEFAULT_RULES)
    assert ensure_default_rules() == 0
    assert 6 <= HouseRule.objects.count() <= 8
    for rule in HouseRule.objects.all():
        assert set(rule.title) == {"nl", "fr", "de", "en"} == set(rule.text)
        for mark in (":", ";", "?", "!"):
            assert f" {mark}" not in rule.title["fr"] + rule.text["fr"]


def test_a_rule_the_force_edited_is_never_overwritten(db):
    HouseRule.objects.create(number=1, title={"en": "Our own wording"})
    ensure_default_rules()
    assert HouseRule.objects.get(number=1).title == {"en": "Our own wording"}


def test_the_house_rules_page_lists_the_numbered_rules_with_anchors(client, rules):
    for language, title in (("nl", "Geen valse informatie"), ("fr", "Pas de fausses")):
        html = client.get(f"/{language}/pages/house-rules/").content.decode()
        assert 'id="rule-6"' in html and title in html
    rules[6].active = False
    rules[6].save()
    assert 'id="rule-6"' not in client.get("/nl/pages/house-rules/").content.decode()


# The console editor of the numbered rules --------------------------------------------------------

RULES_URL = "/console/pages/house-rules/rules"


def rule_form(number, title_en="No shouting", active="on", **extra):
    data = {"rule-number": number, "rule-title_en": title_en, "rule-text_en": "Please."}
    if active:
        data["rule-active"] = active
    return {**data, **extra}


def test_an_editor_changes_adds_and_retires_rules_and_the_site_follows(client, editor, rules):
    client.force_login(editor)
    page = client.get(RULES_URL)
    assert page.status_code == 200 and "Be respectful" in page.content.decode()
    ids = re.findall(r' id="([^"]+)"', page.content.decode())
    assert len(ids) == len(set(ids)), "every label points at its own field"
    assert client.post(RULES_URL, rule_form(9)).status_code == 302
    assert client.post(RULES_URL, rule_form(2, title_en="No hate", active="")).status_code == 302
    public = client.get("/en/pages/house-rules/").content.decode()
    assert 'id="rule-9"' in public and "No shouting" in public
    assert 'id="rule-2"' not in public
    assert HouseRule.objects.get(number=2).title == {"en": "No hate"}


def test_the_rules_editor_refuses_what_it_should(client, communicator, editor):
    assert client.get(RULES_URL).status_code == 302  # to the login page
    client.force_login(communicator)
    assert client.get(RULES_URL).status_code == 403
    assert client.post(RULES_URL, rule_form(9)).status_code == 403
    client.force_login(editor)
    assert client.put(RULES_URL).status_code == 405
    for bad in (rule_form(0), rule_form(9, title_en=""), rule_form("x"), {"rule-number": "9"}):
        assert client.post(RULES_URL, bad).status_code == 422
    assert not HouseRule.objects.exists()


def test_the_command_loads_the_default_rules_once(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_house_rules", stdout=out)
    call_command("load_house_rules", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{len(DEFAULT_RULES)} house rule(s) added.",
        "0 house rule(s) added.",
    ]
