"""Default word lists: a short STARTING list per language, not a complete one.

These are clearly offensive insults and ethnic, homophobic and ableist slurs that a police force
must never publish. Communication coaches extend and adjust the lists in the console (Guidelines
> Word lists); this migration only fills a list that does not exist yet and never overwrites one.
Matching rules (whole words, case- and accent-insensitive, "*" for "starts with") are in
copps/newsroom/guidelines/words.py. Words that are ordinary in the language are left out on
purpose (e.g. Dutch "negeren", French "retard", English "chink" in "a chink in the armour").
"""

from django.db import migrations, models

DEFAULT_TERMS = {
    ("nl", "offensive"): [
        "klootzak*", "kutwijf", "kutwijven", "hoerenjong", "hoerenzoon", "kankerlijer*",
        "tyfuslijer*", "teringlijer*", "idioot", "idioten",
    ],
    ("nl", "discriminatory"): [
        "neger", "negers", "nikker*", "makak", "makakken", "kutmarokkaan*", "geitenneuker*",
        "kankerjood", "kankerjoden", "spleetoog*", "flikker", "flikkers", "mongooltje*", "spast",
        "spasten", "debiel*",
    ],
    ("fr", "offensive"): [
        "connard*", "connasse*", "salope*", "enculé*", "fils de pute", "pute", "putes", "crétin",
        "crétins",
    ],
    ("fr", "discriminatory"): [
        "bougnoul*", "négro*", "nègre", "nègres", "youpin*", "bicot*", "pédé", "pédés",
        "tarlouze*", "triso", "trisos", "mongolien", "mongoliens", "débile", "débiles",
        "chinetoque*", "bamboula*",
    ],
    ("en", "offensive"): [
        "asshole*", "motherfucker*", "fuck", "fucking", "fucker*", "cunt*", "bitch", "bitches",
        "dickhead*", "idiot", "idiots", "moron", "morons",
    ],
    ("en", "discriminatory"): [
        "nigger*", "nigga*", "kike*", "spic", "spics", "wetback*", "paki", "pakis", "faggot*",
        "fag", "fags", "tranny", "trannies", "retard", "retards", "retarded", "spaz", "spazz",
        "mongoloid*",
    ],
    ("de", "offensive"): [
        "arschloch*", "arschlöcher", "hurensohn*", "hurensöhne", "wichser*", "fotze*",
        "schlampe*", "missgeburt*", "idiot", "idioten",
    ],
    ("de", "discriminatory"): [
        "neger*", "kanake*", "kanacke*", "zigeuner*", "schwuchtel*", "spast", "spasti*", "mongo",
        "kümmeltürke*", "judensau",
    ],
}


def seed(apps, schema_editor):
    WordList = apps.get_model("newsroom", "WordList")
    for (language, category), terms in DEFAULT_TERMS.items():
        WordList.objects.get_or_create(
            language=language, category=category, defaults={"terms": "\n".join(terms)}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="wordlist",
            name="terms",
            field=models.TextField(
                help_text="One term per line. Matching ignores case and accents and finds whole words only; end a term with * to match every word that starts with it.",
                verbose_name="terms",
            ),
        ),
        # Removing the lists again on unmigrate would throw away the coaches' work: a no-op.
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
