"""Load the demo: a fictional police zone, one user per role, messages in every state (nl + fr).

Idempotent: when the demo users already exist, nothing is changed.
"""

import os
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from copps.accounts.models import Area, User
from copps.accounts.roles import Role
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Audience, Kind

AREAS = [
    ("Centrum", "centrum", ["2000"]),
    ("Noord", "noord", ["2030", "2170"]),
    ("Zuid", "zuid", ["2020", "2610"]),
]
# The blotter's demo incidents: (hours ago, code, category, summary, street, number, postcode,
# municipality). Summaries carry personal data on purpose: the public blotter must not.
BLOTTER_DEMO = [
    (
        60,
        "theft",
        "Fietsdiefstal",
        "Fiets gestolen aan het station, eigenaar Jan Peeters belde 0475 12 34 56.",
        "Koningin Astridplein",
        "27",
        "2018",
        "Antwerpen",
    ),
    (
        50,
        "burglary",
        "Woninginbraak",
        "Inbraak via achterdeur, geen verdachten.",
        "Bredabaan",
        "112",
        "2170",
        "Merksem",
    ),
    (
        44,
        "vandalism",
        "Vandalisme",
        "Graffiti op bushokje.",
        "Groenplaats",
        "",
        "2000",
        "Antwerpen",
    ),
    (
        40,
        "traffic",
        "Verkeersongeval",
        "Aanrijding tussen twee wagens, stoffelijke schade, nummerplaat 1-ABC-234.",
        "Boomsesteenweg",
        "40",
        "2610",
        "Wilrijk",
    ),
    (
        36,
        "noise",
        "Geluidsoverlast",
        "Luide muziek na middernacht.",
        "Kiel",
        "",
        "2020",
        "Antwerpen",
    ),
    (
        30,
        "domestic_violence",
        "Intrafamiliaal geweld",
        "Ruzie tussen partners.",
        "Lange Lobroekstraat",
        "5",
        "2060",
        "Antwerpen",
    ),
    (28, "theft", "Gauwdiefstal", "Gsm gestolen op de tram.", "Meir", "", "2000", "Antwerpen"),
    (
        20,
        "suspicious_x",
        "Verdachte situatie",
        "Onbekende code uit de meldkamer.",
        "Kerkstraat",
        "3",
        "2060",
        "Antwerpen",
    ),
    (
        16,
        "burglary",
        "Inbraak bedrijf",
        "Inbraak in loods, kabels weggenomen.",
        "Noorderlaan",
        "",
        "2030",
        "Antwerpen",
    ),
    (
        13,
        "traffic",
        "Verkeershinder",
        "Defecte verkeerslichten.",
        "Turnhoutsebaan",
        "",
        "2140",
        "Borgerhout",
    ),
    (
        11.99,
        "vandalism",
        "Vandalisme",
        "Ruit ingegooid bij handelszaak.",
        "Carnotstraat",
        "88",
        "2060",
        "Antwerpen",
    ),
    (
        8,
        "theft",
        "Diefstal uit wagen",
        "Laptop uit auto gestolen.",
        "Bisschoppenhoflaan",
        "",
        "2100",
        "Deurne",
    ),
    (
        3,
        "noise",
        "Burenlawaai",
        "Feest in appartement.",
        "Sint-Bernardsesteenweg",
        "",
        "2660",
        "Hoboken",
    ),
]
# Sandbox accounts: the built-in imitation of each service answers, nothing leaves the machine.
# (slug, kind, language, name, config, secrets, audiences)
CHANNELS = [
    (
        "mastodon-nl",
        "mastodon",
        "nl",
        "Mastodon @politie",
        {"instance_url": "https://mastodon.sandbox.invalid"},
        {"access_token": "sandbox"},
        [],
    ),
    (
        "mastodon-fr",
        "mastodon",
        "fr",
        "Mastodon @police",
        {"instance_url": "https://mastodon.sandbox.invalid"},
        {"access_token": "sandbox"},
        [],
    ),
    (
        "bluesky-nl",
        "bluesky",
        "nl",
        "Bluesky politie.example",
        {"handle": "politie.example"},
        {"app_password": "sandbox"},
        [],
    ),
    ("x-nl", "x", "nl", "X @politie", {}, {"access_token": "sandbox"}, []),
    (
        "facebook-nl",
        "facebook",
        "nl",
        "Facebook-pagina",
        {"page_id": "100000000000001"},
        {"page_access_token": "sandbox"},
        [],
    ),
    (
        "instagram-nl",
        "instagram",
        "nl",
        "Instagram @politie",
        {"ig_user_id": "17841400000000001"},
        {"access_token": "sandbox"},
        ["youth"],
    ),
    (
        "linkedin-nl",
        "linkedin",
        "nl",
        "LinkedIn-bedrijfspagina",
        {"organization_id": "1000001"},
        {"access_token": "sandbox"},
        ["businesses", "press"],
    ),
    (
        "telegram-nl",
        "telegram",
        "nl",
        "Telegram-kanaal",
        {"chat_id": "@politie_sandbox"},
        {"bot_token": "123456:sandbox"},
        [],
    ),
    (
        "youtube-nl",
        "youtube",
        "nl",
        "YouTube-kanaal",
        {"privacy": "public"},
        {"client_id": "sandbox", "client_secret": "sandbox", "refresh_token": "sandbox"},
        [],
    ),
    (
        "newsletter-nl",
        "email",
        "nl",
        "Nieuwsbrief",
        {
            "host": "127.0.0.1",
            "port": "8025",
            "security": "none",
            "from_address": "nieuwsbrief@police.example",
            "from_name": "Politiezone Scheldeland",
        },
        {},
        [],
    ),
    (
        "newsletter-fr",
        "email",
        "fr",
        "Lettre d'information",
        {
            "host": "127.0.0.1",
            "port": "8025",
            "security": "none",
            "from_address": "newsletter@police.example",
            "from_name": "Zone de police Scheldeland",
        },
        {},
        [],
    ),
    (
        "sms-nl",
        "sms_http",
        "nl",
        "SMS-alerts",
        {
            "url": "https://sms.sandbox.invalid/v1/messages",
            "sender": "POLITIE",
            "dedupe_reference": True,
        },
        {"api_key": "sandbox"},
        [],
    ),
    (
        "sms-fr",
        "sms_http",
        "fr",
        "Alertes SMS",
        {
            "url": "https://sms.sandbox.invalid/v1/messages",
            "sender": "POLICE",
            "dedupe_reference": True,
        },
        {"api_key": "sandbox"},
        [],
    ),
    (
        "webhook-press",
        "webhook",
        "nl",
        "Webhook persagentschap",
        {"url": "https://webhook.sandbox.invalid/hook"},
        {"signing_secret": "sandbox-signing-secret-0123456789"},
        ["press"],
    ),
]
# Fictional subscribers (example.org addresses, unallocated 0470 99 numbers).
SUBSCRIBERS = [
    ("email", "an.peeters@example.org", "nl", [], []),
    ("email", "jan.claes@example.org", "nl", ["traffic"], ["2030"]),
    ("email", "marie.dupont@example.org", "fr", [], []),
    ("sms", "+32470990001", "nl", [], ["2000"]),
    ("sms", "+32470990002", "fr", ["crisis", "traffic"], []),
]
AUDIENCES = [
    ("Inwoners", "residents", "Alle inwoners van de zone"),
    ("Pers", "press", "Journalisten en redacties"),
    ("Jongeren", "youth", "Jongeren van 12 tot 25"),
    ("Pendelaars", "commuters", "Wie dagelijks door de zone rijdt"),
    ("Ondernemers", "businesses", "Handelaars en bedrijven"),
]
# Keyed by Role members, looked up by the plain ``str`` values of Role.values.
NAMES: dict[str, tuple[str, str, str]] = {
    Role.COMMUNICATOR: ("Sanne", "Peeters", "Sanne Peeters, woordvoerder"),
    Role.EDITOR: ("Luc", "Dubois", "Luc Dubois, hoofdredacteur"),
    Role.OFFICER: ("Ahmed", "El Amrani", "Inspecteur Ahmed El Amrani, wijkagent Noord"),
    Role.COACH: ("Els", "Maes", "Els Maes, communicatiecoach"),
    Role.INVESTIGATOR: ("Tom", "Janssens", ""),
    Role.ANALYST: ("Nora", "Claes", ""),
    Role.COMMANDER: ("Marc", "Lambert", "Commissaris Marc Lambert"),
    Role.ADMIN: ("Ine", "Wouters", ""),
}


def v(lang, title, body, teaser=""):
    return VersionInput(lang, title, body, teaser)


class Command(BaseCommand):
    help = "Load demo data: a fictional police zone, a user per role, messages in every state."

    def handle(self, *args, **options):
        if User.objects.filter(username="demo-editor").exists():
            self.stdout.write("demo data already loaded")
            return
        password = os.environ.get("COPPS_DEMO_PASSWORD", "copps-demo")
        with transaction.atomic():
            areas = {
                slug: Area.objects.create(name=name, slug=slug, postcodes=codes)
                for name, slug, codes in AREAS
            }
            audiences = {
                slug: Audience.objects.create(name=name, slug=slug, description=desc)
                for name, slug, desc in AUDIENCES
            }
            users = {}
            for role in Role.values:
                first, last, public = NAMES[role]
                user = User(
                    username=f"demo-{role}",
                    role=role,
                    first_name=first,
                    last_name=last,
                    display_name=public,
                    email=f"demo-{role}@police.example",
                    area=areas["noord"] if role == Role.OFFICER else None,
                )
                user.set_password(password)
                user.save()
                users[role] = user
            self._channels(audiences)
            self._fediverse(users, areas)
            self._messages(users, areas, audiences)
            self._notices(users, areas)
            self._blotter()
            from copps.inbox.house_rules import ensure_default_rules

            ensure_default_rules()
            from copps.inbox.demo import load_demo

            load_demo()
            from copps.crowd.demo import load_demo as load_crowd_demo

            load_crowd_demo(users, areas)
        self.stdout.write(self.style.SUCCESS(f"demo data loaded: {len(users)} users"))

    def _channels(self, audiences):
        """Sandbox channel accounts of every kind, plus a few confirmed subscribers."""
        import secrets

        from copps.channels import registry
        from copps.channels.models import Channel, Subscription

        for slug, kind, language, name, config, secret_values, aud in CHANNELS:
            if not registry.installed(kind):
                continue
            channel = Channel(
                name=name, slug=slug, kind=kind, language=language, sandbox=True, config=config
            )
            channel.set_secrets(secret_values)
            channel.save()
            channel.audiences.set([audiences[a] for a in aud])
        if registry.installed("webpush"):
            from copps.channels import push

            public, private = push.generate_vapid_keys()
            channel = Channel(
                name="Web push",
                slug="push-nl",
                kind="webpush",
                language="nl",
                config={"vapid_public_key": public, "contact": "mailto:webmaster@police.example"},
            )
            channel.set_secrets({"vapid_private_key": private})
            channel.save()
        now = timezone.now()
        for medium, address, language, topics, postcodes in SUBSCRIBERS:
            Subscription.objects.create(
                medium=medium,
                address=address,
                language=language,
                topics=topics,
                postcodes=postcodes,
                state="active",
                secret=secrets.token_hex(32),
                confirmed_at=now,
            )

    def _fediverse(self, users, areas):
        """The force's own fediverse accounts: @news for everything, @noord for its area."""
        from django.conf import settings

        from copps.federation import actions as fediverse

        admin = users[Role.ADMIN]
        fediverse.create_actor(
            by=admin,
            username="news",
            kind="force",
            name=settings.FORCE_NAME,
            summary=(
                "Nieuws, preventietips en verkeersinformatie van de politiezone.\n\n"
                "Actualités, conseils de prévention et infos trafic de la zone de police.\n\n"
                "Noodgeval? Bel 112. / Urgence ? Appelez le 112."
            ),
            links=[{"name": "Website", "url": "/"}],
        )
        fediverse.create_actor(
            by=admin,
            username="noord",
            kind="area",
            name=f"{settings.FORCE_NAME} — Noord",
            summary="Berichten van de wijkpost Noord.",
            area=areas["noord"],
            links=[{"name": "Website", "url": "/"}],
        )

    def _notices(self, users, areas):
        """One active missing-person notice and one witness appeal, each under a magistrate's
        authorisation (fictional people, orders and case references)."""
        from copps.investigations import actions as investigations

        investigator, editor = users[Role.INVESTIGATOR], users[Role.EDITOR]
        until = timezone.now() + timedelta(days=30)
        notices = [
            (
                "missing",
                "DEMO-PV-2026-0107",
                areas["noord"],
                [
                    v(
                        "nl",
                        "Vermist: Lotte Verhaegen (16)",
                        "Lotte Verhaegen (16) is sinds vrijdagavond vermist. Ze werd het laatst "
                        "gezien aan het station van Noord. Lotte is 1,65 m groot, heeft lang bruin "
                        "haar en droeg een groene regenjas en witte sneakers.\n\n"
                        "Heb je Lotte gezien? Bel 101.",
                        "Wie zag Lotte Verhaegen sinds vrijdagavond?",
                    ),
                    v(
                        "fr",
                        "Disparition : Lotte Verhaegen (16 ans)",
                        "Lotte Verhaegen (16 ans) est portée disparue depuis vendredi soir. Elle a "
                        "été vue pour la dernière fois à la gare de Noord. Elle mesure 1,65 m, a de "
                        "longs cheveux bruns et portait un imperméable vert et des baskets blanches."
                        "\n\nVous l'avez vue ? Appelez le 101.",
                    ),
                ],
                ["mastodon", "fediverse", "x", "facebook"],
            ),
            (
                "witness",
                "DEMO-PV-2026-0093",
                areas["centrum"],
                [
                    v(
                        "nl",
                        "Getuigen gezocht: aanrijding op de Grote Markt",
                        "Op zaterdag rond 23 uur werd een fietser aangereden op de Grote Markt. "
                        "De bestuurder reed door in een donkere bestelwagen. Wie heeft iets gezien "
                        "of heeft camerabeelden? Bel 101.",
                        "Wie zag de aanrijding van zaterdagavond?",
                    ),
                ],
                ["mastodon", "fediverse"],
            ),
        ]
        for kind, case, area, versions, channels in notices:
            notice = investigations.create_notice(
                by=investigator, kind=kind, case_reference=case, versions=versions, area=area
            )
            actions.update_message(
                notice.message, by=investigator, channels=["web", "rss", *channels]
            )
            investigations.record_authorisation(
                notice,
                by=investigator,
                magistrate="Procureur des Konings (demo)",
                reference=f"DEMO-MAG-{case[-4:]}",
                date=timezone.localdate(),
                channels_allowed=channels,
                valid_until=until,
            )
            investigations.submit_notice(notice, by=investigator)
            notice.message.refresh_from_db()
            actions.approve_message(notice.message, by=editor)

    def _blotter(self):
        """Incidents from the last three days as dispatch would send them (with the personal data
        dispatch holds). The default policy publishes the allowed categories 12 hours after the
        report; the worker publishes each one as its delay passes, so the blotter fills while the
        demo runs. Sensitive categories and the unknown code never appear."""
        from datetime import timedelta

        from django.utils import timezone

        from copps.blotter import importer

        now = timezone.now()
        rows = []
        for i, (hours, code, category, summary, street, number, postcode, place) in enumerate(
            BLOTTER_DEMO, start=1
        ):
            rows.append(
                (
                    i,
                    {
                        "incident_id": f"DEMO-{i:04d}",
                        "reported_at": (now - timedelta(hours=hours)).isoformat(),
                        "category_code": code,
                        "category": category,
                        "summary": summary,
                        "street": street,
                        "house_number": number,
                        "postcode": postcode,
                        "municipality": place,
                        "status": "closed",
                        "unit": "PZ Demo",
                    },
                )
            )
        importer.import_rows(rows, actor="demo")

    def _messages(self, users, areas, audiences):
        com, ed, officer = users[Role.COMMUNICATOR], users[Role.EDITOR], users[Role.OFFICER]
        admin = users[Role.ADMIN]
        now = timezone.now()

        def make(author, versions, **kw):
            aud = kw.pop("audiences", ["residents"])
            msg, _ = actions.create_message(
                by=author, versions=versions, audiences=[audiences[a] for a in aud], **kw
            )
            return msg

        def publish(msg, author, approver=ed):
            actions.submit_message(msg, by=author)
            actions.approve_message(msg, by=approver)
            return msg

        publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Nieuwe wijkagent voor Noord",
                        "Vanaf maandag is inspecteur **Ahmed El Amrani** "
                        "de wijkagent voor Noord. Je vindt hem elke dinsdag van 14 tot 16 uur in het wijkkantoor "
                        "aan de Marktstraat.",
                        "Maak kennis met je nieuwe wijkagent.",
                    ),
                    v(
                        "fr",
                        "Nouvel agent de quartier pour Noord",
                        "À partir de lundi, l'inspecteur **Ahmed El "
                        "Amrani** est l'agent de quartier de Noord. Permanence chaque mardi de 14 à 16 heures au "
                        "bureau de quartier, Marktstraat.",
                        "Faites connaissance avec votre agent de quartier.",
                    ),
                ],
                kind=Kind.NEIGHBOURHOOD,
                area=areas["noord"],
                channels=["web", "rss", "mastodon", "x", "fediverse"],
            ),
            com,
        )

        publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Wegenwerken op de Brugsesteenweg",
                        "Van 2 tot 20 december is de Brugsesteenweg "
                        "afgesloten tussen de rotonde en de Kerkstraat. Volg de omleiding via de Ringlaan.\n\n"
                        "* Fietsers kunnen door\n* Bussen rijden om",
                    ),
                    v(
                        "fr",
                        "Travaux sur la Brugsesteenweg",
                        "Du 2 au 20 décembre, la Brugsesteenweg est fermée "
                        "entre le rond-point et la Kerkstraat. Suivez la déviation par la Ringlaan.",
                    ),
                ],
                kind=Kind.TRAFFIC,
                audiences=["commuters", "residents"],
                channels=["web", "rss", "x", "bluesky", "sms", "email", "webhook"],
            ),
            com,
        )

        recruitment = publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Word inspecteur bij Politiezone Scheldeland",
                        "We zoeken twintig nieuwe "
                        "inspecteurs. Kom naar onze infoavond op 15 januari om 19 uur in het politiehuis.",
                        "Infoavond op 15 januari.",
                    ),
                    v(
                        "fr",
                        "Devenez inspecteur dans la zone de police Scheldeland",
                        "Nous recrutons vingt "
                        "inspecteurs. Venez à notre soirée d'information le 15 janvier à 19 heures.",
                    ),
                ],
                kind=Kind.RECRUITMENT,
                audiences=["youth"],
                channels=[
                    "web",
                    "rss",
                    "mastodon",
                    "facebook",
                    "linkedin",
                    "telegram",
                    "email",
                    "fediverse",
                ],
            ),
            com,
        )

        corrected = publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Preventieactie tegen woninginbraken",
                        "Tijdens de donkere maanden komen onze "
                        "diefstalpreventieadviseurs gratis langs. Afspraak via het onthaal op woensdag.",
                    ),
                    v(
                        "fr",
                        "Action de prévention contre les cambriolages",
                        "Pendant les mois sombres, nos "
                        "conseillers en prévention passent gratuitement chez vous.",
                    ),
                ],
                kind=Kind.PREVENTION,
                channels=["web", "rss"],
            ),
            com,
        )
        # Four eyes on corrections too: the author proposes, an editor approves.
        correction = actions.propose_correction(
            corrected,
            by=com,
            note="Afspraken kunnen elke werkdag, niet alleen op woensdag.",
            versions=[
                v(
                    "nl",
                    "Preventieactie tegen woninginbraken",
                    "Tijdens de donkere maanden komen onze "
                    "diefstalpreventieadviseurs gratis langs. Maak elke werkdag een afspraak via het "
                    "onthaal van het politiehuis.",
                ),
            ],
        )
        actions.approve_correction(correction, by=ed)
        # One still waiting, so the review queue shows what a pending correction looks like.
        actions.propose_correction(
            recruitment,
            by=com,
            note="De infoavond is op 16 januari, niet op 15 januari.",
            versions=[
                v(
                    "nl",
                    "Word inspecteur bij Politiezone Scheldeland",
                    "We zoeken twintig nieuwe "
                    "inspecteurs. Kom naar onze infoavond op 16 januari om 19 uur in het politiehuis.",
                    "Infoavond op 16 januari.",
                ),
            ],
        )

        retracted = publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Evenement op de Grote Markt gaat door",
                        "Het winterfeest gaat zaterdag door.",
                    ),
                    v(
                        "fr",
                        "L'événement sur la Grand-Place a lieu",
                        "La fête d'hiver a lieu samedi.",
                    ),
                ],
                kind=Kind.NEWS,
                channels=["web", "rss"],
            ),
            com,
        )
        actions.retract_message(
            retracted,
            by=ed,
            reason="Het evenement werd door de organisator afgelast; dit bericht klopte niet meer.",
        )

        publish(
            make(
                com,
                [
                    v(
                        "nl",
                        "Verkeershinder door wielerwedstrijd",
                        "Zondag is er hinder door de wielerwedstrijd.",
                    ),
                ],
                kind=Kind.TRAFFIC,
                channels=["web", "rss"],
                expires_at=now + timedelta(seconds=30),
            ),
            com,
        )
        # Its end lies just ahead; the worker expires it as it would once that moment passes.
        actions.expire_due(now + timedelta(minutes=1))

        scheduled = make(
            com,
            [
                v(
                    "nl",
                    "Persbericht: jaarverslag 2026",
                    "Het jaarverslag van de politiezone wordt morgen voorgesteld.",
                    "Morgen: ons jaarverslag.",
                ),
                v(
                    "fr",
                    "Communiqué : rapport annuel 2026",
                    "Le rapport annuel de la zone sera présenté demain.",
                ),
            ],
            kind=Kind.NEWS,
            audiences=["press"],
            publish_at=now + timedelta(days=1),
            channels=["web", "rss", "mastodon", "bluesky", "fediverse"],
        )
        actions.submit_message(scheduled, by=com)
        actions.approve_message(scheduled, by=ed)

        approved = make(
            com,
            [
                v(
                    "nl",
                    "Fietsmarkering op het plein",
                    "Laat je fiets gratis graveren op zaterdag.",
                ),
                v(
                    "fr",
                    "Marquage de vélos sur la place",
                    "Faites graver votre vélo gratuitement samedi.",
                ),
            ],
            kind=Kind.PREVENTION,
            publish_at=now + timedelta(days=3),
        )
        actions.submit_message(approved, by=com)
        actions.approve_message(approved, by=ed)
        actions.unschedule_message(approved, by=ed)

        submitted = make(
            officer,
            [
                v(
                    "nl",
                    "Spreekuur wijkagent verplaatst",
                    "Het spreekuur van deze week gaat uitzonderlijk door op woensdag.",
                    "",
                ),
                v(
                    "fr",
                    "Permanence de l'agent de quartier déplacée",
                    "La permanence de cette semaine a exceptionnellement lieu mercredi.",
                ),
            ],
            kind=Kind.NEIGHBOURHOOD,
            area=areas["noord"],
            is_personal=True,
            signature="Inspecteur Ahmed El Amrani, wijkagent Noord",
        )
        actions.submit_message(submitted, by=officer)

        rejected = make(
            com,
            [
                v(
                    "nl",
                    "Oproep: wie zag iets?",
                    "Wie zag iets bij de inbraak in de Stationsstraat?",
                ),
            ],
            kind=Kind.NEWS,
        )
        actions.submit_message(rejected, by=com)
        actions.reject_message(
            rejected,
            by=ed,
            reason="Een getuigenoproep moet via het parket; "
            "eerst de toelating van de magistraat vragen.",
        )

        make(
            com,
            [
                v(
                    "nl",
                    "Concept: veilig winkelen tijdens de feestdagen",
                    "Tips om zakkenrollers geen "
                    "kans te geven. Bel bij verdachte situaties 0470 12 34 56.",
                ),
                v(
                    "fr",
                    "Brouillon : faire ses achats en sécurité",
                    "Des conseils contre les pickpockets.",
                ),
            ],
            kind=Kind.PREVENTION,
            channels=["web", "rss", "x", "sms"],
        )

        make(
            admin,
            [
                v(
                    "fr",
                    "Brouillon : exercice de crise",
                    "Exercice de communication de crise prévu au printemps.",
                )
            ],
            kind=Kind.CRISIS,
        )
