"""The default texts of the editable pages, written for a fictional local police zone.

A data migration installs them once (it never overwrites a page that exists); each force then
adapts them in the console (/console/pages/). Placeholders a force must fill in are written in
square brackets. The house rules are also what moderators judge citizens' comments against.
"""

# (slug, language) -> (title, Markdown body)
DEFAULT_PAGES: dict[tuple[str, str], tuple[str, str]] = {}

DEFAULT_PAGES["house-rules", "nl"] = (
    "Huisregels",
    """\
Op onze website en onze kanalen op sociale media informeren we u en gaan we graag met u in
gesprek. Iedereen moet daar veilig en respectvol kunnen meepraten. Daarom gelden deze huisregels.
We modereren alle reacties aan de hand van deze regels.

## Noodgeval? Bel 112 of 101

Onze sociale media en deze website worden **niet dag en nacht** opgevolgd. Meld een noodgeval
nooit via een reactie of een privébericht, maar bel **112** of **101**. Aangifte doen kan in elk
politiecommissariaat en voor sommige feiten via Police-on-web.

## Wat we van u vragen

- **Wees respectvol**, ook als u het niet met ons of met anderen eens bent.
- **Geen beledigingen, bedreigingen, discriminatie of haatboodschappen.** Ook niet in
  afbeeldingen, links of emoji.
- **Deel geen persoonsgegevens van anderen**: geen namen, adressen, telefoonnummers,
  nummerplaten of foto's waarop iemand herkenbaar is.
- **Beschuldig niemand met naam en toenaam.** Hebt u informatie over een misdrijf of over een
  persoon die we zoeken? Geef ze rechtstreeks aan de politie, niet in een openbare reactie.
- **Blijf bij het onderwerp** van het bericht waarop u reageert.
- **Geen reclame**, spam of commerciële of politieke boodschappen.

## Wat wij doen

- We lezen uw reacties en antwoorden zo snel als we kunnen, tijdens de diensturen van onze
  communicatiedienst.
- We verwijderen of verbergen wat deze huisregels overtreedt, zonder dat vooraf te melden.
- Wie de regels herhaaldelijk overtreedt, kunnen we blokkeren.
- Een reactie die een strafbaar feit kan zijn (bijvoorbeeld een bedreiging of aanzetten tot
  haat), kunnen we bewaren en laten onderzoeken.
- Over lopende onderzoeken geven we online geen informatie.

Vragen over deze huisregels? Neem contact op met onze communicatiedienst via
[communicatie@police.example].
""",
)

DEFAULT_PAGES["house-rules", "fr"] = (
    "Charte de modération",
    """\
Sur notre site et nos comptes de réseaux sociaux, nous vous informons et dialoguons volontiers
avec vous. Chacun doit pouvoir y participer en toute sécurité et dans le respect. C'est pourquoi
ces règles s'appliquent. Nous modérons tous les commentaires sur la base de cette charte.

## Une urgence ? Appelez le 112 ou le 101

Nos réseaux sociaux et ce site **ne sont pas suivis jour et nuit**. Ne signalez jamais une
urgence par un commentaire ou un message privé : appelez le **112** ou le **101**. Vous pouvez
porter plainte dans tout commissariat de police et, pour certains faits, via Police-on-web.

## Ce que nous vous demandons

- **Restez respectueux**, même si vous n'êtes pas d'accord avec nous ou avec d'autres.
- **Pas d'insultes, de menaces, de discrimination ni de messages de haine**, y compris dans des
  images, des liens ou des émojis.
- **Ne publiez pas de données personnelles d'autrui** : pas de noms, d'adresses, de numéros de
  téléphone, de plaques d'immatriculation ni de photos sur lesquelles une personne est
  reconnaissable.
- **N'accusez personne nommément.** Vous avez des informations sur une infraction ou sur une
  personne recherchée ? Transmettez-les directement à la police, pas dans un commentaire public.
- **Restez dans le sujet** du message que vous commentez.
- **Pas de publicité**, de spam ni de messages commerciaux ou politiques.

## Ce que nous faisons

- Nous lisons vos commentaires et y répondons dès que possible, pendant les heures de service de
  notre service communication.
- Nous supprimons ou masquons ce qui enfreint cette charte, sans avertissement préalable.
- Nous pouvons bloquer les personnes qui enfreignent les règles de manière répétée.
- Un commentaire susceptible de constituer une infraction (par exemple une menace ou une
  incitation à la haine) peut être conservé et faire l'objet d'une enquête.
- Nous ne donnons aucune information en ligne sur les enquêtes en cours.

Des questions sur cette charte ? Contactez notre service communication à l'adresse
[communication@police.example].
""",
)

DEFAULT_PAGES["house-rules", "en"] = (
    "House rules",
    """\
On our website and our social media accounts we keep you informed and are glad to talk with you.
Everyone must be able to take part safely and with respect. That is why these house rules apply.
We moderate all comments against them.

## Emergency? Call 112 or 101

Our social media and this website are **not watched around the clock**. Never report an
emergency in a comment or a private message: call **112** or **101**. You can report a crime at
any police station and, for some offences, online through Police-on-web.

## What we ask of you

- **Be respectful**, also when you disagree with us or with others.
- **No insults, threats, discrimination or hate**, including in images, links or emoji.
- **Do not share other people's personal data**: no names, addresses, phone numbers, number
  plates or photos in which someone can be recognised.
- **Do not accuse named people.** Do you have information about a crime or about someone we are
  looking for? Give it to the police directly, not in a public comment.
- **Stay on topic**: keep to the subject of the message you are replying to.
- **No advertising**, spam, or commercial or political messages.

## What we do

- We read your comments and reply as soon as we can, during the office hours of our
  communication team.
- We remove or hide what breaks these house rules, without warning beforehand.
- We may block people who break the rules again and again.
- A comment that may be a criminal offence (a threat or incitement to hatred, for example) may
  be kept and investigated.
- We do not give information about ongoing investigations online.

Questions about these house rules? Contact our communication team at
[communication@police.example].
""",
)

DEFAULT_PAGES["privacy", "nl"] = (
    "Privacyverklaring",
    """\
Wij gaan zorgvuldig om met uw persoonsgegevens. Hier leest u welke gegevens we verwerken
wanneer u deze website bezoekt, ons volgt of ons een bericht stuurt, waarom we dat doen, hoe
lang we ze bewaren en welke rechten u hebt.

## Wie is verantwoordelijk?

De verwerkingsverantwoordelijke is de lokale politie **politiezone Voorbeeld**, vertegenwoordigd
door de korpschef, [Voorbeeldstraat 1, 1000 Voorbeeldstad].

Onze **functionaris voor gegevensbescherming** (DPO) bereikt u via [dpo@police.example] of per
brief op het adres hierboven, ter attentie van de DPO.

## Welke gegevens verwerken we?

- **Bij een bezoek aan deze website**: we plaatsen geen cookies en gebruiken geen trackers of
  analysediensten van derden. Onze server houdt technische logbestanden bij (tijdstip,
  opgevraagde pagina, IP-adres) om de website te beveiligen.
- **Als u reageert of ons een bericht stuurt** via sociale media, e-mail of sms: uw
  gebruikersnaam of contactgegevens, de inhoud van uw bericht en ons antwoord.
- **Als u zich abonneert** op berichten per e-mail, sms of pushmelding: uw e-mailadres of
  telefoonnummer en de onderwerpen en wijken die u kiest.
- **Als u ons een tip geeft**: wat u ons meedeelt. Een tip kan anoniem; dan bewaren we geen
  IP-adres of andere technische gegevens die naar u kunnen leiden.

## Waarom en op welke grond?

- U informeren over veiligheid, verkeer, preventie en onze werking, en met u in gesprek gaan:
  een taak van algemeen belang (artikel 6.1.e AVG).
- Abonnementen: uw toestemming (artikel 6.1.a AVG). U kunt die altijd intrekken door u uit te
  schrijven.
- Reacties modereren volgens onze huisregels: een taak van algemeen belang.
- Tips en meldingen over strafbare feiten: onze opdrachten van bestuurlijke en gerechtelijke
  politie (wet op het politieambt). Daarvoor geldt titel 2 van de wet van 30 juli 2018
  betreffende de bescherming van natuurlijke personen met betrekking tot de verwerking van
  persoonsgegevens.

## Hoe lang bewaren we uw gegevens?

- Technische logbestanden: hoogstens 30 dagen.
- Reacties en gesprekken: hoogstens één jaar na het laatste bericht, tenzij ze nodig zijn voor
  een onderzoek.
- Abonnementen: tot u zich uitschrijft.
- Tips: zo lang als nodig voor het onderzoek, volgens de wettelijke regels voor politionele
  informatie.

## Met wie delen we gegevens?

We verkopen geen gegevens en geven ze niet door voor reclame. Informatie over strafbare feiten
kan worden doorgegeven aan de gerechtelijke overheden, zoals de wet voorschrijft. Let op: de
socialemediaplatformen zelf verwerken ook gegevens, volgens hun eigen privacybeleid.

## Uw rechten

U hebt het recht op inzage in uw gegevens, op verbetering, op wissing, op beperking van de
verwerking en op bezwaar, en u kunt een gegeven toestemming altijd intrekken. Stuur uw vraag
naar onze DPO; we antwoorden binnen een maand. Voor gegevens die we verwerken voor onze
politieopdrachten (titel 2 van de wet van 30 juli 2018) oefent u uw rechten onrechtstreeks uit
via het Controleorgaan op de politionele informatie.

## Klacht

Het toezicht op de verwerking van persoonsgegevens door de politiediensten ligt bij het
**Controleorgaan op de politionele informatie** (COC), Leuvenseweg 48, 1000 Brussel,
info@controleorgaan.be. U kunt daar een klacht indienen.

We passen deze verklaring aan als onze werking verandert. Onderaan staat de datum van de
laatste wijziging.
""",
)

DEFAULT_PAGES["privacy", "fr"] = (
    "Déclaration de confidentialité",
    """\
Nous traitons vos données à caractère personnel avec soin. Vous trouverez ici quelles données
nous traitons lorsque vous visitez ce site, nous suivez ou nous envoyez un message, pourquoi
nous le faisons, combien de temps nous les conservons et quels sont vos droits.

## Qui est responsable ?

Le responsable du traitement est la police locale **zone de police Exemple**, représentée par le
chef de corps, [rue de l'Exemple 1, 1000 Villexemple].

Vous pouvez joindre notre **délégué à la protection des données** (DPO) à l'adresse
[dpo@police.example] ou par courrier à l'adresse ci-dessus, à l'attention du DPO.

## Quelles données traitons-nous ?

- **Lorsque vous visitez ce site** : nous ne plaçons pas de cookies et n'utilisons ni traceurs
  ni services d'analyse de tiers. Notre serveur tient des journaux techniques (heure, page
  demandée, adresse IP) pour sécuriser le site.
- **Lorsque vous réagissez ou nous envoyez un message** via les réseaux sociaux, par e-mail ou
  par SMS : votre nom d'utilisateur ou vos coordonnées, le contenu de votre message et notre
  réponse.
- **Lorsque vous vous abonnez** à nos messages par e-mail, SMS ou notification : votre adresse
  e-mail ou votre numéro de téléphone, et les sujets et quartiers que vous choisissez.
- **Lorsque vous nous transmettez une information** : ce que vous nous communiquez. Vous pouvez
  le faire de manière anonyme ; nous ne conservons alors ni adresse IP ni autre donnée
  technique permettant de vous identifier.

## Pourquoi et sur quelle base ?

- Vous informer sur la sécurité, la circulation, la prévention et notre fonctionnement, et
  dialoguer avec vous : une mission d'intérêt public (article 6.1.e du RGPD).
- Les abonnements : votre consentement (article 6.1.a du RGPD), que vous pouvez retirer à tout
  moment en vous désabonnant.
- La modération des commentaires selon notre charte : une mission d'intérêt public.
- Les informations et signalements concernant des infractions : nos missions de police
  administrative et judiciaire (loi sur la fonction de police). Le titre 2 de la loi du
  30 juillet 2018 relative à la protection des personnes physiques à l'égard des traitements de
  données à caractère personnel s'applique à ces traitements.

## Combien de temps conservons-nous vos données ?

- Journaux techniques : 30 jours au maximum.
- Commentaires et conversations : un an au maximum après le dernier message, sauf s'ils sont
  nécessaires à une enquête.
- Abonnements : jusqu'à votre désabonnement.
- Informations transmises : aussi longtemps que nécessaire pour l'enquête, selon les règles
  légales applicables à l'information policière.

## Avec qui partageons-nous des données ?

Nous ne vendons pas de données et ne les transmettons pas à des fins publicitaires. Les
informations relatives à des infractions peuvent être transmises aux autorités judiciaires,
comme la loi le prévoit. Attention : les plateformes de réseaux sociaux traitent elles aussi des
données, selon leur propre politique de confidentialité.

## Vos droits

Vous avez le droit d'accéder à vos données, de les faire rectifier ou effacer, d'en faire
limiter le traitement et de vous y opposer, et vous pouvez retirer à tout moment un
consentement donné. Adressez votre demande à notre DPO ; nous répondons dans un délai d'un mois.
Pour les données que nous traitons dans le cadre de nos missions de police (titre 2 de la loi du
30 juillet 2018), vous exercez vos droits de manière indirecte, par l'intermédiaire de l'Organe
de contrôle de l'information policière.

## Plainte

Le contrôle des traitements de données à caractère personnel par les services de police est
exercé par l'**Organe de contrôle de l'information policière** (COC), rue de Louvain 48,
1000 Bruxelles, info@organedecontrole.be. Vous pouvez y introduire une plainte.

Nous adaptons cette déclaration lorsque notre fonctionnement change. La date de la dernière
modification figure au bas de la page.
""",
)

DEFAULT_PAGES["privacy", "en"] = (
    "Privacy statement",
    """\
We handle your personal data with care. This statement explains which data we process when you
visit this website, follow us or send us a message, why we do so, how long we keep it and what
your rights are.

## Who is responsible?

The controller is the local police **Example Police Zone**, represented by its chief of police,
[1 Example Street, 1000 Exampletown].

You can reach our **data protection officer** (DPO) at [dpo@police.example] or by letter at the
address above, for the attention of the DPO.

## What data do we process?

- **When you visit this website**: we set no cookies and use no trackers or third-party
  analytics. Our server keeps technical logs (time, page requested, IP address) to keep the
  website secure.
- **When you comment or send us a message** through social media, e-mail or text message: your
  user name or contact details, the content of your message and our reply.
- **When you subscribe** to our messages by e-mail, text message or push notification: your
  e-mail address or phone number, and the topics and neighbourhoods you choose.
- **When you give us a tip**: what you tell us. You can do so anonymously; we then keep no IP
  address or other technical data that could lead to you.

## Why, and on what legal basis?

- Informing you about safety, traffic, prevention and our work, and talking with you: a task in
  the public interest (Article 6(1)(e) GDPR).
- Subscriptions: your consent (Article 6(1)(a) GDPR), which you can withdraw at any time by
  unsubscribing.
- Moderating comments against our house rules: a task in the public interest.
- Tips and reports about offences: our administrative and judicial police tasks (Police
  Function Act). Title 2 of the Belgian law of 30 July 2018 on the protection of natural persons
  with regard to the processing of personal data applies to this processing.

## How long do we keep your data?

- Technical logs: 30 days at most.
- Comments and conversations: at most one year after the last message, unless they are needed
  for an investigation.
- Subscriptions: until you unsubscribe.
- Tips: as long as the investigation needs them, under the legal rules for police information.

## Who do we share data with?

We do not sell data or pass it on for advertising. Information about offences may be passed on
to the judicial authorities, as the law requires. Note that the social media platforms
themselves also process data, under their own privacy policies.

## Your rights

You have the right to access your data, to have it corrected or erased, to have its processing
restricted and to object to it, and you can withdraw a consent you gave at any time. Send your
request to our DPO; we answer within one month. For data we process for our police tasks
(Title 2 of the law of 30 July 2018), you exercise your rights indirectly, through the Police
Information Supervisory Body.

## Complaints

Supervision of the processing of personal data by the police services lies with the **Police
Information Supervisory Body** (Controleorgaan op de politionele informatie / Organe de contrôle
de l'information policière, COC), Leuvenseweg 48, 1000 Brussels, info@controleorgaan.be. You can
lodge a complaint there.

We update this statement when the way we work changes. The date of the last change is shown at
the bottom of the page.
""",
)

DEFAULT_PAGES["disclaimer", "nl"] = (
    "Disclaimer",
    """\
We stellen de informatie op deze website en op onze sociale media met de grootste zorg samen.
Toch kan ze onvolledig of onjuist zijn, of na verloop van tijd niet meer kloppen. Aan de
informatie kunnen geen rechten worden ontleend.

## Fouten en correcties

Stellen we een fout vast, dan verbeteren we het bericht en vermelden we bovenaan wat er werd
gecorrigeerd en wanneer. Een bericht dat we intrekken, verdwijnt van de website; op de link
blijft een korte melding staan.

## Geen noodkanaal

Deze website en onze sociale media worden niet dag en nacht opgevolgd. Bel in een noodgeval
**112** of **101**.

## Links naar andere websites

We zijn niet verantwoordelijk voor de inhoud van websites van anderen waarnaar we verwijzen.

## Hergebruik

U mag onze berichten delen en citeren met vermelding van de bron. Foto's van gezochte of
vermiste personen deelt u alleen zolang het bericht op onze website staat, en u verwijdert ze
zodra wij het bericht intrekken.

Vragen of opmerkingen? Mail naar [communicatie@police.example].
""",
)

DEFAULT_PAGES["disclaimer", "fr"] = (
    "Clause de non-responsabilité",
    """\
Nous rédigeons les informations publiées sur ce site et sur nos réseaux sociaux avec le plus
grand soin. Elles peuvent néanmoins être incomplètes, inexactes ou devenir obsolètes avec le
temps. Aucun droit ne peut être tiré de ces informations.

## Erreurs et corrections

Lorsque nous constatons une erreur, nous corrigeons le message et indiquons en haut de celui-ci
ce qui a été corrigé et quand. Un message que nous retirons disparaît du site ; une brève
mention reste affichée à son adresse.

## Pas un canal d'urgence

Ce site et nos réseaux sociaux ne sont pas suivis jour et nuit. En cas d'urgence, appelez le
**112** ou le **101**.

## Liens vers d'autres sites

Nous ne sommes pas responsables du contenu des sites de tiers vers lesquels nous renvoyons.

## Réutilisation

Vous pouvez partager et citer nos messages en mentionnant la source. Les photos de personnes
recherchées ou disparues ne peuvent être partagées que tant que le message figure sur notre
site ; supprimez-les dès que nous retirons le message.

Des questions ou des remarques ? Écrivez à [communication@police.example].
""",
)

DEFAULT_PAGES["disclaimer", "en"] = (
    "Disclaimer",
    """\
We put the information on this website and on our social media together with the greatest
care. Even so, it may be incomplete or wrong, or stop being accurate over time. No rights can be
derived from it.

## Errors and corrections

When we find a mistake, we correct the message and say at the top what was corrected and when.
A message we withdraw disappears from the website; a short notice stays at its address.

## Not an emergency channel

This website and our social media are not watched around the clock. In an emergency, call
**112** or **101**.

## Links to other websites

We are not responsible for the content of other websites we link to.

## Reuse

You may share and quote our messages if you name the source. Photos of wanted or missing people
may only be shared while the message is on our website; remove them as soon as we withdraw the
message.

Questions or remarks? Write to [communication@police.example].
""",
)
