"""Editable pages: the defaults, the public view, the console editor and its action."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from copps.accounts import roles
from copps.accounts.roles import Role
from copps.audit import log as audit_log
from copps.audit.models import AuditRecord
from copps.newsroom.workflow import Conflict
from copps.public import actions
from copps.public.models import Page

EDIT_URL = "/console/pages/house-rules/nl/"


def roles_with(capability: str, present: bool) -> list[str]:
    return [r for r in Role.values if (capability in roles.ROLE_CAPABILITIES[r]) == present]


# The defaults --------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["house-rules", "privacy", "disclaimer"])
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_default_pages_exist_in_dutch_french_and_english(db, slug, language):
    page = Page.objects.get(slug=slug, language=language)
    assert page.title and len(page.body) > 500


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("nl", ["112", "101", "respectvol", "persoonsgegevens", "blokkeren", "reclame"]),
        ("fr", ["112", "101", "respectueux", "données personnelles", "bloquer", "publicité"]),
        ("en", ["112", "101", "respectful", "personal data", "block", "advertising"]),
    ],
)
def test_the_default_house_rules_say_what_moderation_holds_comments_to(db, language, words):
    body = Page.objects.get(slug="house-rules", language=language).body
    for word in words:
        assert word in body, word


@pytest.mark.parametrize(
    ("language", "supervisor"),
    [
        ("nl", "Controleorgaan op de politionele informatie"),
        ("fr", "Organe de contrôle de l'information policière"),
        ("en", "Controleorgaan op de politionele informatie"),
    ],
)
def test_the_default_privacy_statement_names_the_supervisory_body_and_the_dpo(
    db, language, supervisor
):
    body = Page.objects.get(slug="privacy", language=language).body
    assert supervisor in body
    assert "dpo@police.example" in body
    assert "6.1.e" in body or "6(1)(e)" in body


# The public page -----------------------------------------------------------------------------


def test_a_page_is_shown_in_the_readers_language(client, db):
    response = client.get("/fr/pages/house-rules/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Charte de modération" in body
    assert "<h2>Ce que nous vous demandons</h2>" in body


def test_a_page_missing_in_a_language_falls_back_to_the_default_language(client, db, settings):
    settings.LANGUAGE_CODE = "nl"
    response = client.get("/de/pages/privacy/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="de">' in body
    assert '<article class="page" lang="nl">' in body
    assert "Privacyverklaring" in body


def test_an_unknown_or_unwritten_page_is_not_found(client, db):
    assert client.get("/nl/pages/nothing/").status_code == 404
    assert client.get("/nl/pages/about/").status_code == 404  # a known slug nobody wrote yet


def test_page_markdown_is_sanitised(client, editor):
    actions.update_page(
        by=editor,
        slug="about",
        language="nl",
        title="Over ons",
        body='Wij zijn <script>alert(1)</script> de politie. <a href="javascript:x">x</a>',
    )
    body = client.get("/nl/pages/about/").content.decode()
    assert "<script>alert" not in body
    assert "javascript:" not in body


# The console editor: access checklist --------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for url in ("/console/pages/", EDIT_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("role", roles_with(roles.PAGES_EDIT, present=False))
def test_staff_without_the_pages_capability_get_403(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get("/console/pages/").status_code == 403
    assert client.get(EDIT_URL).status_code == 403
    response = client.post(EDIT_URL, {"title": "Gehackt", "body": "Weg ermee", "intent": "save"})
    assert response.status_code == 403
    assert client.post("/console/pages/preview/", {"body": "x"}).status_code == 403
    assert Page.objects.get(slug="house-rules", language="nl").title == "Huisregels"


@pytest.mark.parametrize("role", roles_with(roles.PAGES_EDIT, present=True))
def test_editors_and_administrators_can_list_and_edit_pages(client, make_user, role):
    client.force_login(make_user(role))
    listing = client.get("/console/pages/")
    assert listing.status_code == 200
    assert f'href="{EDIT_URL}"' in listing.content.decode()
    assert 'href="/console/pages/about/de/"' in listing.content.decode()  # not written yet
    edit = client.get(EDIT_URL)
    assert edit.status_code == 200
    body = edit.content.decode()
    assert "Huisregels" in body
    assert '<label for="id_body">' in body
    assert 'aria-describedby="id_body_helptext"' in body


def test_an_unknown_page_or_language_is_not_found(client, editor):
    client.force_login(editor)
    assert client.get("/console/pages/nothing/nl/").status_code == 404
    assert client.get("/console/pages/house-rules/xx/").status_code == 404


def test_other_methods_are_not_allowed(client, editor):
    client.force_login(editor)
    assert client.put(EDIT_URL).status_code == 405
    assert client.delete(EDIT_URL).status_code == 405
    assert client.post("/console/pages/").status_code == 405
    assert client.get("/console/pages/preview/").status_code == 405


# The console editor: saving ------------------------------------------------------------------


def test_saving_a_page_updates_it_and_writes_an_audit_record(client, editor):
    client.force_login(editor)
    page = Page.objects.get(slug="house-rules", language="nl")
    response = client.post(
        EDIT_URL,
        {
            "title": "Onze huisregels",
            "body": "Wees **vriendelijk**.\r\n\r\nBel 112 in nood.",
            "loaded_at": page.updated_at.isoformat(),
            "intent": "save",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == EDIT_URL
    page.refresh_from_db()
    assert page.title == "Onze huisregels"
    assert page.body == "Wees **vriendelijk**.\n\nBel 112 in nood.\n"
    assert page.updated_by == "bob"
    record = AuditRecord.objects.order_by("-seq").first()
    assert record.action == "page.update"
    assert record.actor == "bob"
    assert record.object_type == "public.page" and record.object_id == str(page.pk)
    assert record.data["before"]["title"] == "Huisregels"
    assert record.data["after"]["title"] == "Onze huisregels"
    assert audit_log.verify().ok
    assert (
        "Wees <strong>vriendelijk</strong>."
        in client.get("/nl/pages/house-rules/").content.decode()
    )


def test_writing_a_missing_language_version_creates_it(client, editor):
    client.force_login(editor)
    response = client.post(
        "/console/pages/house-rules/de/",
        {"title": "Hausordnung", "body": "Seien Sie respektvoll.", "intent": "save"},
    )
    assert response.status_code == 302
    assert Page.objects.get(slug="house-rules", language="de").title == "Hausordnung"
    assert AuditRecord.objects.order_by("-seq").first().action == "page.create"
    assert "Hausordnung" in client.get("/de/pages/house-rules/").content.decode()


def test_preview_renders_the_text_without_saving(client, editor):
    client.force_login(editor)
    before = AuditRecord.objects.count()
    response = client.post(
        EDIT_URL,
        {"title": "Nieuw", "body": "## Kop\n\n<script>x</script>Tekst", "intent": "preview"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h2>Kop</h2>" in body
    assert "<script>x</script>" not in body
    assert Page.objects.get(slug="house-rules", language="nl").title == "Huisregels"
    assert AuditRecord.objects.count() == before


def test_the_live_preview_returns_sanitised_html(client, editor):
    client.force_login(editor)
    response = client.post("/console/pages/preview/", {"body": "**vet** <img src=x onerror=y>"})
    assert response.status_code == 200
    assert response.content.decode().startswith("<p><strong>vet</strong>")
    assert "onerror" not in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "body": "Tekst"}, "title"),
        ({"title": "   ", "body": "Tekst"}, "title"),
        ({"title": "x" * 201, "body": "Tekst"}, "title"),
        ({"title": "Titel", "body": ""}, "body"),
        ({"title": "Titel", "body": "   \r\n "}, "body"),
    ],
)
def test_invalid_input_is_answered_with_field_errors(client, editor, data, field):
    client.force_login(editor)
    response = client.post(EDIT_URL, {**data, "intent": "save"})
    assert response.status_code == 422
    body = response.content.decode()
    assert f'id="id_{field}_error"' in body
    assert 'aria-invalid="true"' in body
    assert Page.objects.get(slug="house-rules", language="nl").title == "Huisregels"


def test_a_text_longer_than_the_limit_is_refused(client, editor, settings):
    settings.COPPS_MAX_BODY_CHARS = 100
    client.force_login(editor)
    response = client.post(EDIT_URL, {"title": "T", "body": "x" * 101, "intent": "save"})
    assert response.status_code == 422


def test_a_page_changed_meanwhile_is_not_overwritten(client, editor, second_editor):
    page = Page.objects.get(slug="house-rules", language="nl")
    loaded_at = page.updated_at.isoformat()
    actions.update_page(
        by=second_editor, slug="house-rules", language="nl", title="Versie Carol", body="Carol."
    )
    client.force_login(editor)
    response = client.post(
        EDIT_URL, {"title": "Versie Bob", "body": "Bob.", "loaded_at": loaded_at, "intent": "save"}
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Versie Bob" in body  # the editor's text is kept
    assert "Carol." in body  # and the saved one is shown
    assert Page.objects.get(slug="house-rules", language="nl").title == "Versie Carol"
    # Saving again from the refreshed form replaces it knowingly.
    fresh = Page.objects.get(slug="house-rules", language="nl").updated_at.isoformat()
    response = client.post(
        EDIT_URL, {"title": "Versie Bob", "body": "Bob.", "loaded_at": fresh, "intent": "save"}
    )
    assert response.status_code == 302
    assert Page.objects.get(slug="house-rules", language="nl").title == "Versie Bob"


# The action ----------------------------------------------------------------------------------


def test_update_page_refuses_users_without_the_capability(communicator):
    with pytest.raises(PermissionDenied):
        actions.update_page(
            by=communicator, slug="privacy", language="nl", title="Weg", body="Weg."
        )
    assert Page.objects.get(slug="privacy", language="nl").title == "Privacyverklaring"
    assert not AuditRecord.objects.filter(action__startswith="page.").exists()


def test_update_page_validates_slug_and_language(editor):
    with pytest.raises(ValidationError) as exc:
        actions.update_page(by=editor, slug="nothing", language="xx", title="T", body="B")
    assert set(exc.value.message_dict) == {"slug", "language"}


def test_saving_an_unchanged_page_writes_nothing(editor):
    page = Page.objects.get(slug="privacy", language="en")
    before = AuditRecord.objects.count()
    actions.update_page(by=editor, slug="privacy", language="en", title=page.title, body=page.body)
    assert AuditRecord.objects.count() == before


def test_update_page_detects_a_stale_version(editor):
    page = Page.objects.get(slug="privacy", language="en")
    with pytest.raises(Conflict):
        actions.update_page(
            by=editor,
            slug="privacy",
            language="en",
            title="New",
            body="New.",
            expected_updated_at=page.updated_at - timedelta(seconds=1),
        )
