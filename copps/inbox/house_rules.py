"""The published house rules for comments: the default set and its loader.

A moderator who hides or removes a comment cites one of these numbered rules; the author and
the public thread show it. ``ensure_default_rules()`` adds the default rules that are missing
(by number) and never changes a rule a force has edited, so it is safe to run at every deploy
and in the demo. The texts are data (per language), not interface strings: they are written
here in the four languages of the site.
"""

from __future__ import annotations

from django.db import transaction

from .models import HouseRule

NBSP = "\u00a0"  # French typography: a non-breaking space before : ; ? !

# number -> {"title": {lang: ...}, "text": {lang: ...}}
DEFAULT_RULES: dict[int, dict[str, dict[str, str]]] = {
    1: {
        "title": {
            "nl": "Wees respectvol: geen beledigingen of persoonlijke aanvallen",
            "fr": "Restez respectueux : pas d'insultes ni d'attaques personnelles",
            "de": "Bleiben Sie respektvoll: keine Beleidigungen oder persönlichen Angriffe",
            "en": "Be respectful: no insults or personal attacks",
        },
        "text": {
            "nl": "U mag het oneens zijn met ons of met anderen, maar scheld niemand uit, bedreig "
            "niemand en val niemand persoonlijk aan, ook onze medewerkers niet.",
            "fr": "Vous pouvez ne pas être d'accord avec nous ou avec d'autres, mais n'insultez, "
            "ne menacez et n'attaquez personne, nos collaborateurs non plus.",
            "de": "Sie dürfen anderer Meinung sein als wir oder andere, aber beleidigen, bedrohen "
            "oder greifen Sie niemanden persönlich an, auch nicht unsere Mitarbeitenden.",
            "en": "You may disagree with us or with others, but do not insult, threaten or "
            "attack anyone personally, our staff included.",
        },
    },
    2: {
        "title": {
            "nl": "Geen discriminatie of haat",
            "fr": "Pas de discrimination ni de haine",
            "de": "Keine Diskriminierung und kein Hass",
            "en": "No discrimination or hate",
        },
        "text": {
            "nl": "Geen racisme, seksisme of andere discriminatie, en geen oproepen tot haat of "
            "geweld, ook niet in afbeeldingen, links of emoji.",
            "fr": "Pas de racisme, de sexisme ni d'autre discrimination, et aucun appel à la haine "
            "ou à la violence, y compris par des images, des liens ou des émojis.",
            "de": "Kein Rassismus, kein Sexismus und keine andere Diskriminierung, keine Aufrufe "
            "zu Hass oder Gewalt, auch nicht in Bildern, Links oder Emojis.",
            "en": "No racism, sexism or other discrimination, and no calls to hatred or "
            "violence, including in images, links or emoji.",
        },
    },
    3: {
        "title": {
            "nl": "Respecteer de privacy van anderen",
            "fr": "Respectez la vie privée d'autrui",
            "de": "Achten Sie die Privatsphäre anderer",
            "en": "Respect other people's privacy",
        },
        "text": {
            "nl": "Deel geen persoonsgegevens van anderen: geen namen, adressen, telefoonnummers, "
            "nummerplaten of foto's van verdachten, slachtoffers of andere personen.",
            "fr": "Ne publiez pas de données personnelles d'autrui : pas de noms, d'adresses, de "
            "numéros de téléphone, de plaques d'immatriculation ni de photos de suspects, de "
            "victimes ou d'autres personnes.",
            "de": "Veröffentlichen Sie keine personenbezogenen Daten anderer: keine Namen, "
            "Adressen, Telefonnummern, Kennzeichen oder Fotos von Verdächtigen, Opfern oder "
            "anderen Personen.",
            "en": "Do not share other people's personal data: no names, addresses, phone "
            "numbers, number plates or photos of suspects, victims or anyone else.",
        },
    },
    4: {
        "title": {
            "nl": "Beschuldig niemand: iedereen is onschuldig tot het tegendeel bewezen is",
            "fr": "N'accusez personne : chacun est présumé innocent",
            "de": "Beschuldigen Sie niemanden: es gilt die Unschuldsvermutung",
            "en": "Accuse no one: everyone is presumed innocent",
        },
        "text": {
            "nl": "Wijs niemand met naam of herkenbaar aan als dader of verdachte. Alleen een "
            "rechter beslist over schuld.",
            "fr": "Ne désignez personne, nommément ou de manière reconnaissable, comme auteur ou "
            "suspect. Seul un juge se prononce sur la culpabilité.",
            "de": "Bezeichnen Sie niemanden namentlich oder erkennbar als Täter oder "
            "Verdächtigen. Über Schuld entscheidet allein ein Gericht.",
            "en": "Do not name anyone, or make anyone recognisable, as an offender or suspect. "
            "Only a court decides on guilt.",
        },
    },
    5: {
        "title": {
            "nl": "Blijf bij het onderwerp: geen reclame of spam",
            "fr": "Restez dans le sujet : pas de publicité ni de spam",
            "de": "Bleiben Sie beim Thema: keine Werbung und kein Spam",
            "en": "Stay on topic: no advertising or spam",
        },
        "text": {
            "nl": "Reageer op het bericht zelf. Geen reclame, commerciële of politieke "
            "boodschappen, kettingberichten of herhaalde reacties.",
            "fr": "Réagissez au message lui-même. Pas de publicité, de messages commerciaux ou "
            "politiques, de chaînes ni de commentaires répétés.",
            "de": "Beziehen Sie sich auf die Meldung selbst. Keine Werbung, keine kommerziellen "
            "oder politischen Botschaften, keine Kettenbriefe und keine wiederholten Kommentare.",
            "en": "Respond to the message itself. No advertising, commercial or political "
            "messages, chain messages or repeated comments.",
        },
    },
    6: {
        "title": {
            "nl": "Geen valse informatie",
            "fr": "Pas de fausses informations",
            "de": "Keine Falschinformationen",
            "en": "No false information",
        },
        "text": {
            "nl": "Verspreid geen geruchten of informatie waarvan u weet of kunt weten dat ze "
            "niet klopt. Valse informatie kan een onderzoek of een zoektocht schaden.",
            "fr": "Ne diffusez pas de rumeurs ni d'informations que vous savez ou pourriez savoir "
            "fausses. Une fausse information peut nuire à une enquête ou à des recherches.",
            "de": "Verbreiten Sie keine Gerüchte oder Informationen, von denen Sie wissen oder "
            "wissen können, dass sie falsch sind. Falsche Informationen können Ermittlungen oder "
            "eine Suche behindern.",
            "en": "Do not spread rumours or information you know, or could know, to be untrue. "
            "False information can harm an investigation or a search.",
        },
    },
    7: {
        "title": {
            "nl": "Meld hier geen misdrijven of noodgevallen",
            "fr": "Ne signalez ici ni infraction ni urgence",
            "de": "Melden Sie hier keine Straftaten oder Notfälle",
            "en": "Do not report crimes or emergencies here",
        },
        "text": {
            "nl": "Reacties worden niet dag en nacht gelezen. Bel in een noodgeval 112, anders "
            "101. Informatie over een opsporingsbericht geeft u via het tipformulier, anoniem "
            "als u dat wilt.",
            "fr": "Les commentaires ne sont pas lus jour et nuit. En cas d'urgence, appelez le "
            "112, sinon le 101. Transmettez vos informations sur un avis de recherche par le "
            "formulaire prévu à cet effet, anonymement si vous le souhaitez.",
            "de": "Kommentare werden nicht rund um die Uhr gelesen. Rufen Sie im Notfall die 112 "
            "an, sonst die 101. Hinweise zu einer Fahndung geben Sie über das Hinweisformular, "
            "auf Wunsch anonym.",
            "en": "Comments are not read around the clock. In an emergency call 112, otherwise "
            "101. Give information about a notice through the tip form, anonymously if you "
            "wish.",
        },
    },
    8: {
        "title": {
            "nl": "Respecteer het auteursrecht",
            "fr": "Respectez le droit d'auteur",
            "de": "Achten Sie das Urheberrecht",
            "en": "Respect copyright",
        },
        "text": {
            "nl": "Plaats geen teksten, foto's of video's van anderen zonder hun toestemming; "
            "citeer kort en vermeld de bron.",
            "fr": "Ne publiez pas de textes, de photos ni de vidéos d'autrui sans autorisation ; "
            "citez brièvement et mentionnez la source.",
            "de": "Veröffentlichen Sie keine Texte, Fotos oder Videos anderer ohne deren "
            "Erlaubnis; zitieren Sie kurz und nennen Sie die Quelle.",
            "en": "Do not post other people's texts, photos or videos without their permission; "
            "quote briefly and name the source.",
        },
    },
}


def _french(value: str) -> str:
    """Non-breaking spaces before the French high punctuation (written with plain spaces above
    for legibility)."""
    for mark in (":", ";", "?", "!"):
        value = value.replace(f" {mark}", f"{NBSP}{mark}")
    return value


def _localised(values: dict[str, str]) -> dict[str, str]:
    return {lang: _french(text) if lang == "fr" else text for lang, text in values.items()}


def ensure_default_rules() -> int:
    """Create the default rules whose number does not exist yet; returns how many were added.

    Existing rules (edited, retired) are left as they are: the force's wording wins.
    """
    added = 0
    with transaction.atomic():
        existing = set(HouseRule.objects.values_list("number", flat=True))
        for number, rule in DEFAULT_RULES.items():
            if number in existing:
                continue
            HouseRule.objects.create(
                number=number, title=_localised(rule["title"]), text=_localised(rule["text"])
            )
            added += 1
    return added


def active_rules():
    return HouseRule.objects.filter(active=True).order_by("number")


def save_rule(
    *, by, number: int, title: dict[str, str], text: dict[str, str], active: bool = True
) -> HouseRule:
    """Create or change the rule with ``number`` (the console's house rules editor).

    A rule is never deleted (moderation decisions cite it): it is retired with ``active`` off.
    """
    from copps.audit import log as audit

    title = {k: v.strip() for k, v in title.items() if v and v.strip()}
    text = {k: v.strip() for k, v in text.items() if v and v.strip()}
    with transaction.atomic():
        rule, created = HouseRule.objects.select_for_update().get_or_create(
            number=number, defaults={"title": title, "text": text, "active": active}
        )
        if not created:
            rule.title, rule.text, rule.active = title, text, active
            rule.save()
        audit.record(
            actor=by,
            action="inbox.house_rule.create" if created else "inbox.house_rule.change",
            obj=rule,
            data={"number": number, "active": active},
        )
    return rule
