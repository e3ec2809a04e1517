"""The screen HTML is accessible: no axe-core violation (WCAG 2.1 A and AA,
and axe's best practices) for the article and every test manuscript, on a
phone and on a desktop, in the light and the dark colour scheme; and what
axe cannot judge is checked here directly: the title comes before the table
of contents, header cells have a scope, images and formulas have text, the
bibliography's back-links have names, motion and focus are as the reader
asked. The repairs to pandoc's markup (pubbuild.a11yhtml: header scopes,
lone accents) are tested in-process.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tinycss2

from conftest import ROOT, manuscripts, run_build
from pubbuild import a11yhtml

MANUSCRIPTS = manuscripts()
PHONE, DESKTOP = 390, 1280


def test_every_manuscript_is_checked():
    assert {"article", "crossref", "joss", "mixed", "quarto", "second"} <= set(
        MANUSCRIPTS)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Each manuscript's screen HTML, built once for the module."""
    def build(name: str) -> Path:
        out = tmp_path_factory.mktemp(f"a11y-{name}")
        source = MANUSCRIPTS[name]
        result = run_build("--manuscript", str(source), "--out", str(out), "html")
        assert result.returncode == 0, f"{name}: {result.stderr}"
        return out / f"{source.stem}.html"

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(MANUSCRIPTS, pool.map(build, MANUSCRIPTS), strict=True))


def _report(results: dict[str, list]) -> str:
    """One line per violated rule: page, rule, impact, the first targets."""
    lines = []
    for file, violations in results.items():
        for v in violations:
            targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            lines.append(f"{Path(file).parent.name}/{Path(file).name}: {v['id']} "
                         f"({v['impact']}, {len(v['nodes'])} nodes: {targets})")
    return "\n".join(lines)


# -- axe-core -----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_no_axe_violations(pages, axe, width, dark):
    results = axe(list(pages.values()), width, dark=dark)
    # Every page was checked: an empty answer would pass anything.
    assert sorted(map(Path, results)) == sorted(pages.values())
    assert not any(results.values()), _report(results)


BAD_PAGE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bad</title>
<style>
a { color: #333; text-decoration: none; }
@media (prefers-color-scheme: dark) { .note { color: #222; background: #111; } }
</style></head>
<body><main><h1>Bad</h1>
<p>A paragraph long enough to be running text, with
<a href="#x">a link</a> in it that nothing but a faint colour tells apart
from the words around it, as our citations once were.</p>
<p class="note" id="x">Legible in the light scheme only.</p>
<table><caption>Wider than a phone</caption><tr><th scope="col">A</th>
<td style="min-width: 30em">as a table with many columns is</td></tr></table>
</main></body></html>
"""


@pytest.mark.slow
def test_axe_finds_what_it_should_in_both_schemes(tmp_path, axe):
    """The check above can fail: a link told apart by colour alone, a
    colour pair that fails only in the dark scheme, and a table that makes
    a phone's page scroll sideways (our check beside axe's rules), are
    found; the same table on a desktop's screen is not."""
    page = tmp_path / "bad.html"
    page.write_text(BAD_PAGE, encoding="utf-8")
    light = {v["id"] for v in axe([page], PHONE)[str(page)]}
    dark = {v["id"] for v in axe([page], PHONE, dark=True)[str(page)]}
    assert "link-in-text-block" in light and "color-contrast" not in light
    assert "color-contrast" in dark
    assert "page-scrolls-sideways" in light
    assert "page-scrolls-sideways" not in {
        v["id"] for v in axe([page], DESKTOP)[str(page)]}


# -- what axe does not judge ----------------------------------------------------

@pytest.fixture(scope="module")
def markup(pages) -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in pages.items()}


@pytest.mark.slow
def test_title_then_abstract_then_contents(markup):
    """A phone shows the page in source order: the title first, and the
    table of contents (a screenful or more) after the abstract."""
    for name, html in markup.items():
        title = html.index('<h1 class="title"')
        toc = html.index('<nav id="TOC"')
        assert title < toc, name
        if 'class="abstract"' in html:
            assert html.index("</section>", html.index('class="abstract"')) < toc, name
        # ... and before the text's first section.
        assert toc < html.index("<section id=", toc), name


@pytest.mark.slow
def test_skip_link_reaches_the_article(markup):
    for name, html in markup.items():
        body = html[html.index("<body"):]
        first_link = re.search(r"<a [^>]*>", body)[0]
        assert 'class="skip-link" href="#main"' in first_link, name
        assert '<main id="main">' in html, name


@pytest.mark.slow
def test_tables_scroll_in_their_own_named_box(markup):
    # pandoc's tables, each in a box the keyboard reaches, named by its
    # caption (the axe check at phone width shows the page then fits).
    boxed = re.compile(r'<div class="table-scroll" role="group" tabindex="0" '
                       r'aria-label="([^"]+)">\s*<table\b')
    for name, html in markup.items():
        assert len(boxed.findall(html)) == len(re.findall(r"<table\b", html)), name
    labels = boxed.findall(markup["pagelist"])
    assert labels and labels[0].startswith("Table 1: ")


@pytest.mark.slow
def test_header_cells_have_scope_and_tables_are_tested(markup):
    headers = {name: re.findall(r"<th\b[^>]*>", html) for name, html in markup.items()}
    assert sum(map(len, headers.values())) >= 10  # some manuscripts have tables
    for name, cells in headers.items():
        assert all(re.search(r'\sscope="(?:col|row)"', cell) for cell in cells), (
            name, cells)


@pytest.mark.slow
def test_images_and_formulas_have_text(markup):
    images = formulas = 0
    for name, html in markup.items():
        for img in re.findall(r"<img\b[^>]*>", html):
            images += 1
            assert re.search(r'\salt="[^"]+"', img), (name, img[:120])
        for math in re.findall(r"<math\b[^>]*>", html):
            formulas += 1
            assert re.search(r'\salttext="[^"]+"', math), (name, math)
    assert images >= 5 and formulas >= 5  # the manuscripts do have both


@pytest.mark.slow
def test_back_links_from_the_bibliography_have_names(markup):
    found = 0
    for name, html in markup.items():
        spans = re.findall(r'<span class="backlinks">(.*?)</span>\s*</', html, re.S)
        for links in spans:
            for link in re.findall(r"<a\b[^>]*>", links):
                found += 1
                assert re.search(r'aria-label="back to citation \d+"', link), (
                    name, link)
    assert found >= 38


@pytest.mark.slow
def test_the_pages_validate(pages, vnu):
    errors, warnings = vnu(*pages.values())
    assert errors == [] and warnings == []


# -- the stylesheets, read ------------------------------------------------------

SCREEN_SHEETS = ("base.css", "screen.css")
MOTION = {"scroll-behavior", "transition", "transition-duration", "animation",
          "animation-name"}


def _rules(sheet: str):
    """(media conditions, selector, declarations) of each style rule."""
    def walk(rules, media):
        for rule in rules:
            if rule.type == "at-rule" and rule.lower_at_keyword == "media":
                yield from walk(tinycss2.parse_rule_list(rule.content, True, True),
                                (*media, tinycss2.serialize(rule.prelude).strip()))
            elif rule.type == "qualified-rule":
                body = tinycss2.parse_blocks_contents(rule.content, True, True)
                yield (media, tinycss2.serialize(rule.prelude).strip(),
                       [d for d in body if d.type == "declaration"])

    text = (ROOT / "styles" / sheet).read_text(encoding="utf-8")
    return list(walk(tinycss2.parse_stylesheet(text, True, True), ()))


def test_motion_only_where_the_reader_has_not_asked_for_less():
    moving = [(sheet, media, selector, d.lower_name)
              for sheet in SCREEN_SHEETS
              for media, selector, declarations in _rules(sheet)
              for d in declarations if d.lower_name in MOTION]
    assert moving, "the test is meant to see the smooth scrolling"
    for sheet, media, selector, name in moving:
        assert any("prefers-reduced-motion: no-preference" in m for m in media), (
            sheet, selector, name)


def test_keyboard_focus_is_visible_in_both_schemes():
    focus = [(media, d) for media, selector, declarations in _rules("screen.css")
             if ":focus-visible" in selector for d in declarations
             if d.lower_name.startswith("outline")]
    light = [d for media, d in focus if not media]
    assert any(d.lower_name == "outline" and "solid" in tinycss2.serialize(d.value)
               for d in light)
    assert any("prefers-color-scheme: dark" in " ".join(media) for media, _ in focus)


# -- pubbuild.a11yhtml, in-process ------------------------------------------------

def test_header_row_cells_get_col_and_row_headers_get_row():
    table = (b'<table>\n<thead>\n<tr>\n<th>Year</th>\n<th style="text-align: right;">'
             b'Nests</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<th>North</th>\n<td>1</td>\n'
             b'</tr>\n</tbody>\n</table>')
    assert a11yhtml.finish(table) == (
        b'<table>\n<thead>\n<tr>\n<th scope="col">Year</th>\n<th scope="col" '
        b'style="text-align: right;">Nests</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n'
        b'<th scope="row">North</th>\n<td>1</td>\n</tr>\n</tbody>\n</table>')


def test_a_row_of_headers_in_the_body_heads_columns():
    # Pandoc writes a table body's own head rows (intermediate heads) so.
    out = a11yhtml.finish(b"<table><tbody><tr><th>A</th><th>B</th></tr>"
                          b"<tr><td>1</td><td>2</td></tr></tbody></table>")
    assert out.count(b'scope="col"') == 2 and b'scope="row"' not in out


def test_omitted_end_tags_and_nested_tables():
    out = a11yhtml.finish(b"<table><tr><th>a<td>1<tr><th>b<th>c</table>"
                          b"<table><tr><td><table><tr><th>in</table><th>out<td>2</table>")
    assert out == (b'<table><tr><th scope="row">a<td>1<tr><th scope="col">b'
                   b'<th scope="col">c</table><table><tr><td><table><tr>'
                   b'<th scope="col">in</table><th scope="row">out<td>2</table>')


def test_only_header_start_tags_change():
    page = ('<p>&lt;th&gt; in text, ü &amp; é</p>\n<!-- <table><th> -->\n'
            '<pre><code>&lt;table&gt;&lt;th&gt;</code></pre>\n<style>th::before '
            '{ content: "<th>"; }</style>\n<th>outside a table</th>\n'
            '<table><tr><th scope="colgroup">kept</th></tr></table>').encode()
    assert a11yhtml.finish(page) == page


def test_repair_is_idempotent():
    once = a11yhtml.finish(b"<table><thead><tr><th>A</th></tr></thead></table>")
    assert a11yhtml.finish(once) == once


def test_a_lone_combining_accent_becomes_its_spacing_form():
    hat = '<mover><mi>N</mi><mo accent="true">\u0302</mo></mover>'.encode()
    assert a11yhtml.finish(hat) == (
        '<mover><mi>N</mi><mo accent="true">\u02c6</mo></mover>'.encode())
    # A mark on a letter in text, or with more in its <mo>, is left alone.
    kept = '<p>N\u0302</p><math><mo>x\u0302</mo></math>'.encode()
    assert a11yhtml.finish(kept) == kept
