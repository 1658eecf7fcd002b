"""Markdown becomes safe HTML: formatting stays, anything that could run code goes."""

import pytest

from copps.newsroom.markup import markdown_to_text, render_markdown


def test_markdown_is_rendered():
    html = render_markdown("## Tips\n\n**Sluit** je fiets *altijd* op slot.\n\n- slot\n- ketting")
    assert "<h2>Tips</h2>" in html
    assert "<strong>Sluit</strong>" in html and "<em>altijd</em>" in html
    assert "<ul>" in html and "<li>slot</li>" in html


def test_links_get_rel_nofollow():
    html = render_markdown("[politie](https://police.example/tips)")
    assert 'href="https://police.example/tips"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_a_raw_html_link_loses_its_own_rel_and_target():
    html = render_markdown('<a href="https://x.example" target="_blank" rel="opener">x</a>')
    assert "target" not in html and 'opener"' not in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<SCRIPT src=https://evil.example/x.js></SCRIPT>",
        "<style>body{display:none}</style>",
        '<iframe src="https://evil.example"></iframe>',
        '<object data="x.swf"></object>',
    ],
)
def test_scripts_styles_and_frames_are_removed_with_their_content(text):
    html = render_markdown(text + "Tekst")
    assert "Tekst" in html
    for bad in ("<script", "<SCRIPT", "alert", "<style", "display:none", "<iframe", "<object"):
        assert bad not in html


@pytest.mark.parametrize(
    "text",
    [
        '<p onclick="alert(1)">hi</p>',
        '<img src="x" onerror="alert(1)">',
        '<svg onload="alert(1)">',
        '<a href="https://x.example" onmouseover="alert(1)">x</a>',
        "[x](https://x.example){: onclick='alert(1)' }",
    ],
)
def test_event_handlers_are_removed(text):
    html = render_markdown(text)
    assert "alert" not in html and "onclick" not in html and "onerror" not in html


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="  javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
    ],
)
def test_javascript_and_data_urls_are_removed(text):
    html = render_markdown(text)
    assert "javascript" not in html.lower() and "data:" not in html and "vbscript" not in html


def test_mail_and_phone_links_are_kept():
    html = render_markdown("[mail](mailto:info@police.example) [bel](tel:101)")
    assert 'href="mailto:info@police.example"' in html and 'href="tel:101"' in html


def test_escaped_html_stays_text():
    assert "&lt;b&gt;" in render_markdown("&lt;b&gt;")
    assert "<b>" not in render_markdown("&lt;b&gt;")


def test_plain_text_drops_tags_and_keeps_lines():
    assert (
        markdown_to_text("## Titel\n\nEen **vet** woord.\n\n- a\n- b")
        == "Titel\nEen vet woord.\na\nb"
    )
    assert markdown_to_text("regel een  \nregel twee") == "regel een\nregel twee"


def test_plain_text_keeps_a_links_address():
    text = markdown_to_text(
        "Zie [onze tips](https://police.example/tips?a=1&b=2) en <https://x.example>."
    )
    assert text == "Zie onze tips (https://police.example/tips?a=1&b=2) en https://x.example."
    assert (
        markdown_to_text("[schrijf ons](mailto:info@police.example)")
        == "schrijf ons (info@police.example)"
    )


def test_plain_text_never_carries_a_script():
    assert markdown_to_text("<script>alert(1)</script>Hallo") == "Hallo"


def test_one_texts_footnotes_and_link_references_never_leak_into_the_next():
    from copps.newsroom.markup import render_markdown

    first = render_markdown("Tekst[^1]\n\n[^1]: een voetnoot\n\n[plan]: https://a.example/")
    assert "een voetnoot" in first
    second = render_markdown("Nog[^1] en [plan]")
    assert "voetnoot" not in second and "a.example" not in second
