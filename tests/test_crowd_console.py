"""The public-order console at /console/events/: who sees and does what, set-up of events,
zones, routes and sensors, the live view, the two-click fast track, templates and the crisis
switch — all through the real URLs."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.crowd import actions, ingest
from copps.crowd.models import (
    AlertState,
    CrisisMode,
    CrisisPage,
    CrowdAlert,
    Event,
    Route,
    RouteStatus,
    Sensor,
    SentMessage,
    Template,
    TemplateUse,
    Zone,
)
from copps.newsroom.models import Message
from tests.crowd_helpers import BOWTIE, MARKT, approved_template, iso, make_event

pytestmark = pytest.mark.django_db

VIEWERS = {Role.COMMUNICATOR, Role.EDITOR, Role.ANALYST, Role.COMMANDER, Role.ADMIN}
MANAGERS = {Role.COMMANDER, Role.ADMIN}


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def commander(make_user):
    return make_user(Role.COMMANDER, "cmdr", first_name="Ann", last_name="Peeters")


@pytest.fixture
def setup(admin):
    return make_event(admin)


@pytest.fixture
def red_alert(setup):
    """The Korenmarkt turns red: 12,000 devices × 2 on ≈ 9,800 m²."""
    event, markt, *_rest = setup
    result = ingest.ingest(
        [("bt-korenmarkt-1", {"ts": iso(timezone.now()), "devices": 12000})], via="http"
    )
    assert result.alerts
    return CrowdAlert.objects.get(pk=result.alerts[0])


@pytest.fixture
def template(communicator, editor):
    return approved_template(communicator, editor)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    return response.content.decode()


# Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_public_order_pages(make_user, setup, role):
    event = setup[0]
    client = logged_in(make_user(role))
    pages = {
        "/console/events/": VIEWERS,
        f"/console/events/{event.pk}/": VIEWERS,
        f"/console/events/{event.pk}/live/": VIEWERS,
        f"/console/events/{event.pk}/live/zones": VIEWERS,
        "/console/events/templates/": VIEWERS,
        "/console/events/crisis/": {Role.COMMANDER, Role.ADMIN},
    }
    for path, allowed in pages.items():
        assert client.get(path).status_code == (200 if role in allowed else 404), (role, path)
    # Setting up: managers; other viewers are told no (403); the rest do not know (404).
    for path in ("/console/events/new", f"/console/events/{event.pk}/zones/new"):
        expected = 200 if role in MANAGERS else 403 if role in VIEWERS else 404
        assert client.get(path).status_code == expected, (role, path)
    nav = page_text(client.get("/console/"))
    assert ('href="/console/events/"' in nav) == (role in VIEWERS)
    assert ('href="/console/events/crisis/"' in nav) == (role == Role.ADMIN)


def test_anonymous_visitors_are_sent_to_sign_in(client, setup):
    response = client.get(f"/console/events/{setup[0].pk}/live/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_writes_are_post_only(admin, setup, red_alert):
    event = setup[0]
    client = logged_in(admin)
    for path in (
        f"/console/events/{event.pk}/alerts/{red_alert.pk}/dismiss",
        f"/console/events/{event.pk}/zones/{setup[1].pk}/delete",
        "/console/events/crisis/on",
        "/console/events/crisis/off",
    ):
        assert client.get(path).status_code == 405, path


def test_a_communicator_watches_but_cannot_send(communicator, setup, red_alert, template):
    event = setup[0]
    client = logged_in(communicator)
    live = page_text(client.get(f"/console/events/{event.pk}/live/"))
    assert "Korenmarkt is vol" in live  # the proposal is previewed…
    assert "Send…" not in live and "Dismiss" not in live  # …but not offered
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send"
    assert client.get(f"{send}?template={template.pk}").status_code == 403
    assert client.post(send, {"shown": "x"}).status_code == 403
    assert (
        client.post(f"/console/events/{event.pk}/alerts/{red_alert.pk}/dismiss").status_code == 403
    )
    assert not SentMessage.objects.exists()
    assert CrowdAlert.objects.get(pk=red_alert.pk).state == AlertState.OPEN


def test_an_analyst_can_watch_the_live_view(make_user, setup, red_alert):
    client = logged_in(make_user(Role.ANALYST))
    response = client.get(f"/console/events/{setup[0].pk}/live/")
    assert response.status_code == 200
    assert 'data-level="red"' in page_text(response)


@pytest.mark.parametrize("role", [Role.OFFICER, Role.INVESTIGATOR])
def test_officers_and_investigators_cannot_reach_events(make_user, setup, red_alert, role):
    event = setup[0]
    client = logged_in(make_user(role))
    assert client.get(f"/console/events/{event.pk}/live/").status_code == 404
    assert client.post(f"/console/events/{event.pk}/alerts/{red_alert.pk}/send").status_code == 404


def test_unknown_ids_are_404(admin, setup, red_alert, template):
    event = setup[0]
    client = logged_in(admin)
    assert client.get("/console/events/999999/live/").status_code == 404
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send"
    assert client.get(f"{send}?template=abc").status_code == 404
    assert client.get(f"{send}?template=999999").status_code == 404
    assert client.get(send).status_code == 404
    other = actions.save_event(
        by=admin,
        name="Andere",
        slug="andere",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
    )
    # The alert belongs to another event than the one in the URL.
    assert client.get(f"/console/events/{other.pk}/alerts/{red_alert.pk}/send").status_code == 404
    assert (
        client.get(f"/console/events/{event.pk}/send?template={template.pk}&zone=x").status_code
        == 404
    )


# The fast track --------------------------------------------------------------------------------


def test_the_commander_sends_in_two_clicks_and_a_double_click_sends_once(
    commander, setup, red_alert, template
):
    event = setup[0]
    client = logged_in(commander)
    live = page_text(client.get(f"/console/events/{event.pk}/live/"))
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send"
    assert f"{send}?template={template.pk}" in live
    # Click 1: the confirmation shows exactly the words, the channels and the sender.
    confirm = client.get(f"{send}?template={template.pk}")
    text = page_text(confirm)
    assert "Korenmarkt is vol" in text and "24.000 mensen" in text
    assert "Website, RSS/Atom feeds" in text
    assert "Ann Peeters" in text
    assert not SentMessage.objects.exists()
    shown = confirm.context["form"]["shown"].value()
    # Click 2: sent, once, even when the button is pressed twice.
    first = client.post(send, {"template": template.pk, "shown": shown})
    assert first.status_code == 302
    second = client.post(send, {"template": template.pk, "shown": shown}, follow=True)
    assert SentMessage.objects.count() == 1
    sent = SentMessage.objects.get()
    assert sent.sent_by == commander and sent.alert == red_alert and sent.template == template
    assert CrowdAlert.objects.get(pk=red_alert.pk).state == AlertState.SENT
    message = Message.objects.get(pk=sent.message_id)
    assert message.versions.get(language="nl").title == "Korenmarkt is vol"
    assert "already sent" in page_text(second) or "closed meanwhile" in page_text(second)
    assert AuditRecord.objects.filter(action="event.fast_track", actor="cmdr").count() == 1


def test_a_template_changed_after_the_confirmation_is_not_sent(
    commander, setup, red_alert, template
):
    event = setup[0]
    client = logged_in(commander)
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send"
    confirm = client.get(f"{send}?template={template.pk}")
    shown = confirm.context["form"]["shown"].value()
    # Someone rewrites the template (and it is approved again) before the commander confirms.
    Template.objects.filter(pk=template.pk).update(
        updated_at=template.updated_at + timedelta(seconds=1)
    )
    response = client.post(send, {"template": template.pk, "shown": shown}, follow=True)
    assert "changed since you looked" in page_text(response)
    assert not SentMessage.objects.exists()


def test_a_tampered_or_foreign_confirmation_sends_nothing(commander, setup, red_alert, template):
    event = setup[0]
    client = logged_in(commander)
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send"
    response = client.post(send, {"template": template.pk, "shown": "forged"}, follow=True)
    assert "too old or damaged" in page_text(response)
    # A confirmation shown for a streets message does not send for the alert.
    confirm = client.get(f"/console/events/{event.pk}/send?template={template.pk}")
    shown = confirm.context["form"]["shown"].value()
    client.post(send, {"template": template.pk, "shown": shown})
    assert not SentMessage.objects.exists()


def test_an_unapproved_template_is_not_offered_nor_sendable(
    commander, communicator, setup, red_alert
):
    draft = actions.save_template(
        by=communicator,
        name="Ongoedgekeurd",
        use=TemplateUse.CROWD,
        level="red",
        texts={"nl": {"title": "{zone} vol", "body": ""}},
    )
    event = setup[0]
    client = logged_in(commander)
    assert "Ongoedgekeurd" not in page_text(client.get(f"/console/events/{event.pk}/live/"))
    send = f"/console/events/{event.pk}/alerts/{red_alert.pk}/send?template={draft.pk}"
    assert client.get(send).status_code == 404


def test_a_streets_template_goes_without_an_alert(commander, communicator, editor, setup):
    event = setup[0]
    actions.save_route(event, by=commander, name="Veldstraat", status=RouteStatus.CLOSED)
    streets = actions.save_template(
        by=communicator,
        name="Straten dicht",
        use=TemplateUse.STREETS,
        texts={"nl": {"title": "Afgesloten: {routes_closed}", "body": "Om {time}."}},
    )
    actions.approve_template(streets, by=editor)
    client = logged_in(commander)
    live = page_text(client.get(f"/console/events/{event.pk}/live/"))
    assert "Afgesloten: Veldstraat" in live
    confirm = client.get(f"/console/events/{event.pk}/send?template={streets.pk}")
    assert "Afgesloten: Veldstraat" in page_text(confirm)
    shown = confirm.context["form"]["shown"].value()
    for _click in range(2):
        client.post(f"/console/events/{event.pk}/send", {"template": streets.pk, "shown": shown})
    assert SentMessage.objects.filter(template=streets, alert=None, event=event).count() == 1


def test_dismissing_an_alert_records_the_reason(commander, setup, red_alert):
    event = setup[0]
    client = logged_in(commander)
    response = client.post(
        f"/console/events/{event.pk}/alerts/{red_alert.pk}/dismiss", {"reason": "sensor test"}
    )
    assert response.status_code == 302
    alert = CrowdAlert.objects.get(pk=red_alert.pk)
    assert alert.state == AlertState.DISMISSED and alert.closed_by == commander
    record = AuditRecord.objects.get(action="event.alert_dismiss")
    assert record.reason == "sensor test"


def test_the_alerts_panel_is_redrawn_only_when_it_changed(commander, setup, red_alert):
    event = setup[0]
    client = logged_in(commander)
    live = client.get(f"/console/events/{event.pk}/live/")
    signature = live.context["signature"]
    url = f"/console/events/{event.pk}/live/alerts"
    assert client.get(url, {"v": signature}).status_code == 204
    actions.dismiss_alert(red_alert, by=commander)
    changed = client.get(url, {"v": signature})
    assert changed.status_code == 200 and "No open alerts." in page_text(changed)


def test_the_live_parts_carry_levels_trend_staleness_and_charts(admin, setup, red_alert):
    event = setup[0]
    client = logged_in(admin)
    part = page_text(client.get(f"/console/events/{event.pk}/live/zones"))
    assert 'data-zone="korenmarkt" data-level="red"' in part
    red_row = part.split('data-zone="korenmarkt"')[1].split("</tr>")[0]
    assert "■</span> Full" in red_row  # a symbol and a word, not colour alone
    assert 'data-zone="vrijdagmarkt" data-level="green"' in part
    assert "data-stale" in part  # the Vrijdagmarkt's counter never spoke
    assert 'data-chart="korenmarkt"' in part and "<polyline" in part
    data = json.loads(
        part.split('id="crowd-live-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["zones"]["korenmarkt"]["level"] == "red"


def test_the_live_view_links_the_events_listening_watch(admin, setup):
    from copps.listening.models import Purpose, PurposeKind, Watch

    purpose = Purpose.objects.create(name="Feesten", kind=PurposeKind.EVENT)
    watch = Watch.objects.create(purpose=purpose, name="#gf26", query="gf26")
    event = setup[0]
    actions.save_event(by=admin, event=event, watch=watch)
    response = logged_in(admin).get(f"/console/events/{event.pk}/live/")
    assert f"/console/listening/watches/{watch.pk}/dashboard" in page_text(response)


# Events, zones, routes, sensors --------------------------------------------------------------


def test_an_event_is_created_with_channels_and_a_visible_watch_only(admin):
    from copps.listening.models import Purpose, PurposeKind, Watch

    mine = Watch.objects.create(
        purpose=Purpose.objects.create(name="Feest", kind=PurposeKind.EVENT),
        name="#feest",
        query="x",
    )
    secret = Watch.objects.create(
        purpose=Purpose.objects.create(name="Zaak", kind=PurposeKind.INVESTIGATION),
        name="#zaak",
        query="y",
    )
    client = logged_in(admin)
    form = page_text(client.get("/console/events/new"))
    assert 'value="mastodon"' in form and 'type="checkbox"' in form
    assert "#feest" in form and "#zaak" not in form
    start = timezone.localtime() + timedelta(days=1)
    data = {
        "name": "Marathon",
        "slug": "marathon",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
        "channels": ["web", "mastodon"],
        "public": "on",
        "watch": mine.pk,
    }
    response = client.post("/console/events/new", data)
    event = Event.objects.get(slug="marathon")
    assert response.status_code == 302
    assert event.channels == ["web", "mastodon"] and event.watch == mine and event.public
    # A watch of the other desk cannot be slipped in.
    bad = client.post(f"/console/events/{event.pk}/edit", data | {"watch": secret.pk})
    assert bad.status_code == 400
    # The period must make sense.
    wrong = client.post(f"/console/events/{event.pk}/edit", data | {"ends_at": data["starts_at"]})
    assert wrong.status_code == 400 and "must end after it starts" in page_text(wrong)


def test_a_self_intersecting_import_names_the_feature(admin, setup):
    event = setup[0]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "Vlinderplein"}, "geometry": BOWTIE}
        ],
    }
    upload = SimpleUploadedFile("zones.geojson", json.dumps(doc).encode(), "application/geo+json")
    response = logged_in(admin).post(f"/console/events/{event.pk}/zones/import", {"file": upload})
    assert response.status_code == 400
    text = page_text(response)
    assert "Vlinderplein" in text and "Self-intersection" in text
    assert not Zone.objects.filter(name="Vlinderplein").exists()


@pytest.mark.parametrize(
    "content",
    [b"not json at all", b'{"type": "FeatureCollection", "features": []}', b"[" * 100_000],
)
def test_broken_geojson_files_are_form_errors(admin, setup, content):
    upload = SimpleUploadedFile("x.geojson", content)
    response = logged_in(admin).post(
        f"/console/events/{setup[0].pk}/zones/import", {"file": upload}
    )
    assert response.status_code == 400
    assert "Nothing was imported." in page_text(response)


def test_a_file_over_two_megabytes_is_refused(admin, setup):
    upload = SimpleUploadedFile("big.geojson", b" " * (2_000_001))
    response = logged_in(admin).post(
        f"/console/events/{setup[0].pk}/zones/import", {"file": upload}
    )
    assert response.status_code == 400 and "larger than 2 MB" in page_text(response)


def test_a_good_import_creates_zones_and_routes(admin, setup):
    event = setup[0]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Sint-Baafsplein", "max_density": 3},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[3.726, 51.053], [3.727, 51.053], [3.727, 51.0535], [3.726, 51.053]]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"name": "Limburgstraat", "status": "closed"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[3.726, 51.052], [3.727, 51.052]],
                },
            },
        ],
    }
    upload = SimpleUploadedFile("z.geojson", json.dumps(doc).encode())
    response = logged_in(admin).post(f"/console/events/{event.pk}/zones/import", {"file": upload})
    assert response.status_code == 302
    assert Zone.objects.get(event=event, name="Sint-Baafsplein").max_density == 3
    assert Route.objects.get(event=event, name="Limburgstraat").status == RouteStatus.CLOSED


def test_a_drawn_zone_is_saved_and_a_bad_outline_is_a_field_error(admin, setup):
    event = setup[0]
    client = logged_in(admin)
    data = {
        "name": "Kouter",
        "key": "kouter",
        "comfortable_density": "1.5",
        "max_density": "3",
        "advice": "",
    }
    shifted = {
        "type": "Polygon",
        "coordinates": [[[x + 0.01, y] for x, y in MARKT["coordinates"][0]]],
    }
    assert (
        client.post(
            f"/console/events/{event.pk}/zones/new", data | {"geometry": json.dumps(shifted)}
        ).status_code
        == 302
    )
    assert Zone.objects.get(event=event, key="kouter").area_m2 > 9000
    for bad in (
        json.dumps(BOWTIE),
        "{not json",
        json.dumps({"type": "Point", "coordinates": [3, 51]}),
    ):
        response = client.post(
            f"/console/events/{event.pk}/zones/new", data | {"key": "x", "geometry": bad}
        )
        assert response.status_code == 400, bad
        assert "field--error" in page_text(response)
    # Densities the wrong way round.
    response = client.post(
        f"/console/events/{event.pk}/zones/new",
        data | {"key": "y", "geometry": json.dumps(shifted), "comfortable_density": "5"},
    )
    assert response.status_code == 400 and "comfortable &lt; maximum" in page_text(response)


def test_deleting_a_zone(admin, setup):
    event, markt, *_ = setup
    response = logged_in(admin).post(f"/console/events/{event.pk}/zones/{markt.pk}/delete")
    assert response.status_code == 302 and not Zone.objects.filter(pk=markt.pk).exists()


def test_route_status_quick_toggle(commander, setup):
    event = setup[0]
    route = actions.save_route(event, by=commander, name="Veldstraat", status=RouteStatus.OPEN)
    client = logged_in(commander)
    url = f"/console/events/{event.pk}/routes/{route.pk}/status"
    assert client.post(url, {"status": "closed", "next": "live"}).status_code == 302
    assert Route.objects.get(pk=route.pk).status == RouteStatus.CLOSED
    client.post(url, {"status": "nonsense"})
    assert Route.objects.get(pk=route.pk).status == RouteStatus.CLOSED
    assert AuditRecord.objects.filter(action="event.route_save", to_state="closed").exists()


def test_a_new_sensor_shows_its_token_once(admin, setup):
    event, markt, *_ = setup
    client = logged_in(admin)
    response = client.post(
        f"/console/events/{event.pk}/sensors/new",
        {"sensor_id": "wifi-markt-2", "zone": markt.pk, "kind": "wifi", "calibration": "1.5"},
    )
    assert response.status_code == 200
    token = response.context["new_token"]
    assert token.startswith("copps_sensor_") and token in page_text(response)
    sensor = Sensor.objects.get(sensor_id="wifi-markt-2")
    assert actions.sensor_for_token("wifi-markt-2", token) == sensor
    assert token not in page_text(client.get(f"/console/events/{event.pk}/"))
    rotated = client.post(f"/console/events/{event.pk}/sensors/{sensor.pk}/token")
    assert rotated.context["new_token"] != token
    assert actions.sensor_for_token("wifi-markt-2", token) is None
    # Duplicates and bad identifiers are field errors.
    again = client.post(
        f"/console/events/{event.pk}/sensors/new",
        {"sensor_id": "wifi-markt-2", "zone": markt.pk, "kind": "wifi", "calibration": "1"},
    )
    assert again.status_code == 400 and "exists" in page_text(again)
    odd = client.post(
        f"/console/events/{event.pk}/sensors/new",
        {"sensor_id": "a b/c", "zone": 999999, "kind": "laser", "calibration": "-1"},
    )
    assert odd.status_code == 400


def test_the_sensor_list_shows_last_count_and_stale(admin, setup):
    event = setup[0]
    ingest.ingest([("bt-korenmarkt-1", {"ts": iso(timezone.now()), "devices": 42})], via="http")
    text = page_text(logged_in(admin).get(f"/console/events/{event.pk}/"))
    row = text.split('data-sensor="bt-korenmarkt-1"')[1].split("</tr>")[0]
    assert "42" in row and "data-stale" not in row
    gate = text.split('data-sensor="gate-vrijdag-1"')[1].split("</tr>")[0]
    assert "never" in gate and "data-stale" in gate


# Templates -----------------------------------------------------------------------------------


def _template_data(**extra):
    return {
        "name": "Plein vol",
        "use": "crowd",
        "level": "red",
        "title_nl": "{zone} is vol",
        "body_nl": "Ga naar {quietest}.",
        "title_fr": "",
        "body_fr": "",
        "title_de": "",
        "body_de": "",
        "title_en": "{zone} is full",
        "body_en": "Go to {quietest}.",
    } | extra


def test_templates_are_written_approved_by_another_and_changes_withdraw_the_approval(
    communicator, editor, make_user
):
    writer_editor = make_user(Role.EDITOR, "erik")
    client = logged_in(writer_editor)
    form = page_text(client.get("/console/events/templates/new"))
    for placeholder in ("{zone}", "{people}", "{quietest}", "{routes_closed}", "{url}"):
        assert placeholder in form
    assert client.post("/console/events/templates/new", _template_data()).status_code == 302
    template = Template.objects.get(name="Plein vol")
    assert template.texts["en"]["title"] == "{zone} is full" and "fr" not in template.texts
    # The writer, though allowed to approve, is refused clearly.
    listing = page_text(client.get("/console/events/templates/"))
    assert "You wrote this: another person approves it." in listing
    refused = client.post(f"/console/events/templates/{template.pk}/approve", follow=True)
    assert "another person" in page_text(refused)
    assert not Template.objects.get(pk=template.pk).approved
    # A second person approves.
    # What the listing showed: an approval of other words than these is refused.
    stale = {"version": "2000-01-01T00:00:00+00:00"}
    logged_in(editor).post(f"/console/events/templates/{template.pk}/approve", stale)
    assert not Template.objects.get(pk=template.pk).approved
    shown = {"version": Template.objects.get(pk=template.pk).updated_at.isoformat()}
    assert shown["version"] in page_text(logged_in(editor).get("/console/events/templates/"))
    logged_in(editor).post(f"/console/events/templates/{template.pk}/approve", shown)
    assert Template.objects.get(pk=template.pk).approved
    assert "data-approved" in page_text(client.get("/console/events/templates/"))
    # Changing the words withdraws it.
    changed = client.post(
        f"/console/events/templates/{template.pk}/edit",
        _template_data(title_en="{zone} is really full"),
        follow=True,
    )
    assert "approval was withdrawn" in page_text(changed)
    assert not Template.objects.get(pk=template.pk).approved


def test_a_communicator_writes_but_cannot_approve_and_empty_texts_are_refused(communicator):
    client = logged_in(communicator)
    empty = _template_data(title_nl="", body_nl="", title_en="", body_en="")
    response = client.post("/console/events/templates/new", empty)
    assert response.status_code == 400 and "at least one language" in page_text(response)
    client.post("/console/events/templates/new", _template_data())
    template = Template.objects.get()
    assert client.post(f"/console/events/templates/{template.pk}/approve").status_code == 403
    client.post(f"/console/events/templates/{template.pk}/active", {"active": "0"})
    assert not Template.objects.get(pk=template.pk).active


def test_an_analyst_reads_templates_but_does_not_write(make_user, template):
    client = logged_in(make_user(Role.ANALYST))
    assert client.get("/console/events/templates/").status_code == 200
    assert client.get("/console/events/templates/new").status_code == 403


# Crisis --------------------------------------------------------------------------------------


@pytest.fixture
def crisis_page(admin):
    return actions.save_crisis_page(
        by=admin,
        name="Overstroming",
        content={"nl": {"title": "Overstroming in Gent", "body": "Blijf binnen."}},
    )


def test_the_administrator_switches_crisis_mode_with_a_confirmation(admin, crisis_page, area):
    client = logged_in(admin)
    step1 = client.post("/console/events/crisis/on", {"page": crisis_page.pk, "area": area.pk})
    assert step1.status_code == 200 and "Yes, switch crisis mode on" in page_text(step1)
    assert not CrisisMode.current().active
    assert "Crisis mode is ON" not in page_text(client.get("/console/"))
    client.post(
        "/console/events/crisis/on", {"page": crisis_page.pk, "area": area.pk, "confirm": "1"}
    )
    mode = CrisisMode.current()
    assert mode.active and mode.page == crisis_page and mode.area == area and mode.by == admin
    # A banner on every console page, for everyone.
    for path in ("/console/", "/console/events/", "/console/blotter/"):
        assert "Crisis mode is ON" in page_text(client.get(path)), path
    step1 = client.post("/console/events/crisis/off")
    assert CrisisMode.current().active and "Yes, switch crisis mode off" in page_text(step1)
    client.post("/console/events/crisis/off", {"confirm": "1"})
    assert not CrisisMode.current().active
    assert "Crisis mode is ON" not in page_text(client.get("/console/"))
    assert AuditRecord.objects.filter(action__in=["crisis.on", "crisis.off"]).count() == 2


def test_only_crisis_managers_switch_and_edit_pages(commander, communicator, crisis_page):
    client = logged_in(commander)
    assert client.get("/console/events/crisis/").status_code == 200
    assert (
        client.post(
            "/console/events/crisis/on", {"page": crisis_page.pk, "confirm": "1"}
        ).status_code
        == 403
    )
    assert client.get("/console/events/crisis/pages/new").status_code == 403
    assert not CrisisMode.current().active
    other = logged_in(communicator)
    assert other.get("/console/events/crisis/").status_code == 404
    assert other.post("/console/events/crisis/on", {"page": crisis_page.pk}).status_code == 404


def test_crisis_pages_are_written_per_language(admin):
    client = logged_in(admin)
    response = client.post(
        "/console/events/crisis/pages/new",
        {
            "name": "Stroomstoring",
            "title_nl": "Stroomstoring",
            "body_nl": "Info volgt.",
            "title_fr": "Panne",
            "body_fr": "",
        },
    )
    assert response.status_code == 302
    page = CrisisPage.objects.get(name="Stroomstoring")
    assert set(page.content) == {"nl", "fr"}
    empty = client.post("/console/events/crisis/pages/new", {"name": "Leeg"})
    assert empty.status_code == 400


def test_crisis_updates_go_through_the_same_fast_track(
    commander, communicator, editor, crisis_page, admin
):
    update = actions.save_template(
        by=communicator,
        name="Update",
        use=TemplateUse.CRISIS,
        texts={"nl": {"title": "Update {time}", "body": "Blijf binnen."}},
    )
    actions.approve_template(update, by=editor)
    actions.crisis_on(by=admin, page=crisis_page)
    client = logged_in(commander)
    overview = page_text(client.get("/console/events/crisis/"))
    assert f"/console/events/crisis/send?template={update.pk}" in overview
    confirm = client.get(f"/console/events/crisis/send?template={update.pk}")
    assert "top priority" in page_text(confirm) and "Mastodon" in page_text(confirm)
    shown = confirm.context["form"]["shown"].value()
    for _click in range(2):
        client.post("/console/events/crisis/send", {"template": update.pk, "shown": shown})
    sent = SentMessage.objects.get()
    assert sent.crisis and sent.event is None and sent.sent_by == commander
