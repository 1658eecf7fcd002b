"""Renditions: each channel counts the way its network does, and cutting keeps what matters."""

import pytest

from copps.newsroom import renditions
from copps.newsroom.renditions import CHANNELS, measure, render_text, sms_info

LINK = "https://police.example/nl/news/42-fietsdiefstallen-aan-het-station/"
SHORT = "https://police.example/m/42"
WORDS = "Wees alert en sluit je fiets altijd op slot aan het station. "


def rendition(
    channel, summary, *, title="Fietsdiefstallen", full_text=None, signature="", link=None
):
    return render_text(
        channel,
        language="nl",
        title=title,
        summary=summary,
        full_text=summary if full_text is None else full_text,
        link=link or (SHORT if channel == "sms" else LINK),
        signature=signature,
    )


def words_of(text: str) -> set[str]:
    return set(text.replace("\n", " ").split())


# Counting ------------------------------------------------------------------------------------


def test_x_counts_every_link_as_23_characters():
    x = CHANNELS["x"]
    assert measure("zie https://example.com/een/heel/lang/pad/dat/maar/doorgaat", x) == 4 + 23
    assert measure("zie http://a.be", x) == 4 + 23


def test_x_counts_a_link_without_its_trailing_full_stop():
    assert measure("zie https://example.com/pad.", CHANNELS["x"]) == 4 + 23 + 1


def test_x_counts_bare_domains_as_links_like_x_does():
    assert measure("politie.be", CHANNELS["x"]) == 23


def test_x_counts_emoji_and_cjk_as_two_and_latin_letters_with_accents_as_one():
    x = CHANNELS["x"]
    assert measure("België", x) == 6
    assert measure("👍🏽", x) == 2  # one emoji with a skin tone: two code points, weight 2
    assert measure("👨‍👩‍👧", x) == 2  # a ZWJ family
    assert measure("警察", x) == 4


def test_mastodon_counts_links_as_23_and_graphemes_as_one():
    m = CHANNELS["mastodon"]
    assert measure("zie https://example.com/" + "a" * 100, m) == 4 + 23
    assert measure("👍🏽 e\u0301", m) == 3


def test_mastodon_counts_a_remote_mention_by_its_local_part():
    assert measure("@jan@mastodon.social", CHANNELS["mastodon"]) == len("@jan")


def test_bluesky_counts_graphemes_so_emoji_and_combining_marks_count_one():
    b = CHANNELS["bluesky"]
    assert measure("e\u0301", b) == 1
    assert measure("🇧🇪", b) == 1
    assert measure("👨‍👩‍👧", b) == 1
    assert measure("abc", b) == 3


def test_bluesky_counts_a_link_in_full():
    assert measure(LINK, CHANNELS["bluesky"]) == len(LINK)


def test_telegram_counts_utf16_code_units():
    assert measure("a😀", CHANNELS["telegram"]) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("GSM-7", 160, 1)),
        ("a" * 161, ("GSM-7", 161, 2)),
        ("a" * 306, ("GSM-7", 306, 2)),
        ("a" * 307, ("GSM-7", 307, 3)),
        ("€" * 80, ("GSM-7", 160, 1)),  # extension characters take two septets
        ("€" * 81, ("GSM-7", 162, 2)),
        ("ë" * 70, ("UCS-2", 70, 1)),  # ë is not in GSM-7: the whole text becomes UCS-2
        ("ë" * 71, ("UCS-2", 71, 2)),
        ("ë" * 134, ("UCS-2", 134, 2)),
        ("ë" * 135, ("UCS-2", 135, 3)),
        ("😀" * 35, ("UCS-2", 70, 1)),  # an emoji is a surrogate pair: two UCS-2 units
    ],
)
def test_sms_counts_septets_or_ucs2_units_and_segments(text, expected):
    assert sms_info(text) == expected


def test_sms_never_splits_an_extension_character_across_segments():
    # 152 plain septets + "€" (2) = 154 > 153: the € moves to segment two, as phones do.
    assert sms_info("a" * 152 + "€" + "a" * 152) == ("GSM-7", 306, 3)


def test_unlimited_channels_carry_the_full_text():
    body = WORDS * 200
    for channel in ("web", "rss", "email"):
        r = rendition(channel, "teaser", full_text=body)
        assert not r.truncated and r.limit is None
        assert body.strip() in r.text


# Cutting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["x", "mastodon", "bluesky", "sms", "telegram"])
def test_a_long_text_is_cut_to_the_limit_and_links_to_the_full_page(channel):
    r = rendition(channel, WORDS * 100)
    assert r.truncated
    assert r.length <= r.limit
    assert r.text.endswith(SHORT if channel == "sms" else LINK)


@pytest.mark.parametrize("channel", ["x", "mastodon", "bluesky", "sms", "telegram"])
def test_a_short_text_is_not_cut_and_needs_no_link(channel):
    r = rendition(channel, "Wees alert.")
    assert not r.truncated
    assert r.text == "Fietsdiefstallen\n\nWees alert."


def test_a_teaser_links_to_the_full_text_even_when_it_fits():
    r = rendition("x", "Kort.", full_text="Kort. En nog veel meer uitleg.")
    assert not r.truncated
    assert r.text.endswith(LINK)


def test_sms_links_with_the_short_link():
    r = rendition("sms", WORDS * 10)
    assert r.text.endswith("\n" + SHORT)
    assert LINK not in r.text


@pytest.mark.parametrize("channel", ["x", "mastodon", "bluesky", "sms"])
def test_a_cut_never_splits_a_word(channel):
    summary = WORDS * 20
    r = rendition(channel, summary)
    kept = r.text.split("\n")[2].rstrip("….")
    assert words_of(kept) <= words_of(summary) | {""}


def test_a_cut_never_splits_a_grapheme():
    summary = ("🇧🇪👨‍👩‍👧q\u0303 " * 200).strip()  # q̃ has no precomposed form
    r = rendition("bluesky", summary)
    assert r.truncated
    kept = r.text.split("\n")[2].rstrip("…")
    assert kept.replace(" ", "") == "🇧🇪👨‍👩‍👧q\u0303" * (kept.count(" ") + 1)


def test_a_cut_ends_with_an_ellipsis_and_sms_uses_three_full_stops_to_stay_gsm7():
    x = rendition("x", WORDS * 20)
    sms = rendition("sms", WORDS * 20)
    assert "…\n" in x.text
    assert "...\n" in sms.text and "…" not in sms.text
    assert sms.encoding == "GSM-7" and sms.segments == 1 and sms.limit == 160


@pytest.mark.parametrize("channel", ["x", "mastodon", "bluesky", "sms", "telegram"])
def test_the_signature_of_a_personal_post_survives_the_cut(channel):
    signature = "Inspecteur Jan Peeters, wijkagent Noord"
    r = rendition(channel, WORDS * 100, signature=signature)
    assert r.truncated and r.length <= r.limit
    assert signature in r.text
    assert r.text.endswith(SHORT if channel == "sms" else LINK)


def test_an_uncut_personal_post_ends_with_its_signature():
    r = rendition("x", "Wees alert.", signature="Jan Peeters, wijkagent")
    assert r.text == "Fietsdiefstallen\n\nWees alert.\n— Jan Peeters, wijkagent"


def test_sms_replaces_typographic_quotes_and_dashes_so_the_text_stays_gsm7():
    r = rendition("sms", "Het is ‘veilig’ – zegt de “wijkagent”.", signature="Jan")
    assert r.encoding == "GSM-7"
    assert r.text == "Fietsdiefstallen\n\nHet is 'veilig' - zegt de \"wijkagent\".\n- Jan"


def test_sms_keeps_letters_as_written_and_switches_to_ucs2_for_them():
    r = rendition("sms", "Controle in België.")
    assert "België" in r.text
    assert r.encoding == "UCS-2" and r.limit == 70


def test_a_ucs2_sms_is_cut_to_70_units():
    r = rendition("sms", "België " * 40)
    assert r.encoding == "UCS-2"
    assert r.length <= 70 and r.segments == 1


def test_sms_may_use_more_segments_when_settings_allow(settings):
    settings.COPPS_SMS_MAX_SEGMENTS = 2
    r = rendition("sms", WORDS * 20)
    assert r.truncated and r.segments == 2 and r.limit == 306 and 160 < r.length <= 306


def test_x_fits_exactly_280_weighted_characters():
    r = rendition("x", "😀" * 300)
    assert r.truncated
    assert measure(r.text, CHANNELS["x"]) <= 280


def test_when_no_word_fits_beside_signature_and_link_the_text_goes_and_they_stay():
    # UCS-2 (because of "Ë"): 70 units. "\n- " + 37 + "\n" + 27 leave no room for "Ëen…".
    signature = "Hoofdinspecteur Van den Broeck, Noord"
    assert len(signature) == 37
    r = rendition("sms", "Eén woord.", title="Ëen heel lange titel", signature=signature)
    assert r.truncated
    assert r.text == f"- {signature}\n{SHORT}"
    assert r.length <= 70


def test_render_uses_the_message_permalink_and_short_link(make_message, communicator):
    message = make_message(communicator, body=WORDS * 20, channels=["x", "sms"])
    x = renditions.render(message, "x")
    sms = renditions.render(message, "sms")
    assert x.text.endswith(message.permalink("nl"))
    assert sms.text.endswith(message.short_link())
    assert message.short_link().endswith(f"/m/{message.pk}")


def test_render_all_gives_each_channel_in_each_language(make_message, communicator):
    from copps.newsroom import actions
    from copps.newsroom.actions import VersionInput

    message = make_message(communicator, channels=["x", "sms"])
    actions.update_message(
        message,
        by=communicator,
        versions=[VersionInput("nl", "Titel", "Tekst"), VersionInput("fr", "Titre", "Texte")],
    )
    result = {(r.channel, r.language) for r in renditions.render_all(message)}
    assert result == {("x", "nl"), ("sms", "nl"), ("x", "fr"), ("sms", "fr")}
