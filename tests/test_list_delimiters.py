"""Ordered lists print the delimiter the author typed, `(1)`, `a)`, `(iv)`,
in every format (filters/lists.py and the stylesheets' `lists` section).

Fast: the filter in-process and the stylesheets' rules for every class it
writes. Slow: a small manuscript built for real, read back from the PDF
(laid out as on paper), the HTML, the EPUB and the Word file.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT, run_build, write_paper
from filters import lists
from pubbuild import pandoc

MANUSCRIPT = """\
---
title: Delimiters As Typed
author:
  - name: Kim Vu
bibliography: refs.bib
csl: apa.csl
date: 2024-05-01
---

# Lists

The conditions ([Vu, 2021](#)):

(1) paren one
(2) paren two

Then:

(a) alpha paren
(b) beta paren

Then:

A) capital alpha
B) capital beta

Then:

(i) first roman
(ii) second roman

Counted on from three:

3) third step
4) fourth step

A period list is left as it was:

a. period alpha
b. period beta

Nested:

1. outer first

    (a) inner alpha
    (b) inner beta

2. outer second
"""

# What a reader sees before each item, in the order of the manuscript.
MARKERS = [("(1)", "paren one"), ("(2)", "paren two"),
           ("(a)", "alpha paren"), ("(b)", "beta paren"),
           ("A)", "capital alpha"), ("B)", "capital beta"),
           ("(i)", "first roman"), ("(ii)", "second roman"),
           ("3)", "third step"), ("4)", "fourth step"),
           ("a.", "period alpha"), ("b.", "period beta"),
           ("1.", "outer first"), ("(a)", "inner alpha"), ("(b)", "inner beta"),
           ("2.", "outer second")]


def _filtered(markdown: str) -> pf.Doc:
    return lists.main(pandoc.parse_markdown(markdown, Path("case.md")))


def _wrappers(doc: pf.Doc) -> list[list[str]]:
    found = []
    doc.walk(lambda e, d: found.append(list(e.classes))
             if isinstance(e, pf.Div) else None)
    return found


def test_each_parenthesised_list_is_wrapped_once():
    doc = _filtered("(a) one\n(b) two\n\ntext\n\n1. period\n")
    assert _wrappers(doc) == [["list-two-parens", "list-lower-alpha"]]
    # Run again (the filter as a pandoc --filter after the build's own run):
    # a second wrapper would be harmless to the eye but noise in every format.
    assert _wrappers(lists.main(doc)) == [["list-two-parens", "list-lower-alpha"]]


def _pairs():
    styles = (*lists.STYLES.values(), lists.DECIMAL)
    return itertools.product(lists.DELIMITERS.values(), styles)


def _lists_section(sheet: str) -> str:
    css = (ROOT / "styles" / sheet).read_text(encoding="utf-8")
    return css[css.index("/* lists */"):]


def test_screen_and_epub_have_a_counter_style_for_every_class_pair():
    """A pair the filter writes and base.css does not style would print
    `a.` again, silently, in the HTML and the EPUB."""
    css = _lists_section("base.css")
    for delimiter, style in _pairs():
        parens = delimiter == "list-two-parens"
        name = style + ("-parens" if parens else "-paren")
        prefix = r' prefix: "\(";' if parens else ""
        assert re.search(rf"@counter-style {name} {{ system: extends "
                         rf"{style.removeprefix('list-')};{prefix}\s+"
                         rf"suffix: \"\) \"; }}", css), name
        assert f".{delimiter}.{style} > ol {{ list-style-type: {name}; }}" in css


def test_print_has_a_marker_for_every_class_pair():
    """The same for the PDF, whose markers print.css draws itself."""
    css = _lists_section("print.css")
    for delimiter, style in _pairs():
        kind = style.removeprefix("list-")
        counter = "counter(list-item)" if kind == "decimal" else (
            f"counter(list-item, {kind})")
        prefix = '"(" ' if delimiter == "list-two-parens" else ""
        assert (f".{delimiter}.{style} > ol > li::before {{\n"
                f'  content: {prefix}{counter} ")"; }}') in css, (delimiter, style)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The manuscript built in the default formats and as Word."""
    folder = tmp_path_factory.mktemp("delimiters")
    path = write_paper(folder, MANUSCRIPT, "delimiters.md")
    out = folder / "dist"
    for command in ((), ("docx",)):
        proc = run_build("-q", "--manuscript", str(path), "--out", str(out),
                         *command)
        assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_pdf_prints_each_marker_as_typed(built):
    from pypdf import PdfReader

    page = PdfReader(built / "delimiters.pdf").pages[0]
    # Layout mode: WeasyPrint draws the markers after the page's text.
    lines = [" ".join(line.split())
             for line in page.extract_text(extraction_mode="layout").splitlines()
             if line.strip()]
    items = [line for line in lines if line.endswith(tuple(t for _, t in MARKERS))]
    # A reader would see `1.`/`A.` where the author wrote `(1)`/`A)`, a list
    # from three restarted at one, or a period list gone parenthesised.
    assert items == [f"{marker} {text}" for marker, text in MARKERS]


@pytest.mark.slow
def test_html_and_epub_carry_the_classes_and_the_counter_styles(built, vnu,
                                                                  epubcheck):
    html = (built / "delimiters.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(built / "delimiters.epub") as book:
        xhtml = "".join(book.read(name).decode("utf-8") for name in book.namelist()
                        if name.endswith(".xhtml"))
        css = "".join(book.read(name).decode("utf-8") for name in book.namelist()
                      if name.endswith(".css"))
    for text in (html, xhtml):
        # The browser numbers the list (and from `start`); the class adds
        # the parentheses. Without it a reader sees `1.`, `A.`.
        assert re.search(r'<div class="list-two-parens list-decimal">\s*'
                         r'<ol type="1">', text)
        assert re.search(r'<div class="list-one-paren list-upper-alpha">\s*'
                         r'<ol type="A">', text)
        assert re.search(r'<div class="list-one-paren list-decimal">\s*'
                         r'<ol start="3" type="1">', text)
        assert re.search(r'<ol type="a">\s*<li>period alpha', text)  # not wrapped
    style = html.split("<style>", 1)[1]
    for sheet in (style, css):
        assert ('.list-two-parens.list-lower-roman > ol { list-style-type: '
                'list-lower-roman-parens; }') in sheet
        assert '@counter-style list-upper-alpha-paren {' in sheet
    errors, warnings = vnu(built / "delimiters.html")
    assert errors == [] and warnings == []
    summary, messages = epubcheck(built / "delimiters.epub")
    assert "0 fatals / 0 errors / 0 warnings" in summary, messages


@pytest.mark.slow
def test_word_numbers_with_the_delimiters_itself(built):
    """Pandoc's DOCX writer writes the delimiter into the numbering (the
    wrapper Div leaves no trace in Word)."""
    with zipfile.ZipFile(built / "delimiters.docx") as docx:
        numbering = docx.read("word/numbering.xml").decode("utf-8")
        body = docx.read("word/document.xml").decode("utf-8")
    levels = set(re.findall(r'<w:lvl w:ilvl="0">.*?<w:numFmt w:val="(\w+)" />'
                            r'.*?<w:lvlText w:val="([^"]*)" />', numbering))
    assert {("decimal", "(%1)"), ("lowerLetter", "(%1)"), ("upperLetter", "%1)"),
            ("lowerRoman", "(%1)"), ("decimal", "%1)"),
            ("lowerLetter", "%1.")} <= levels, levels
    assert 'w:val="3"' in numbering  # the list from three starts there
    assert "list-two-parens" not in body
