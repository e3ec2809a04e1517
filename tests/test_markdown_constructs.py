"""Markdown that manuscripts from other pipelines use, in every format.

One small manuscript with lists numbered from 0 and by letters and Roman
numerals, nested and task lists, a definition list, a line block, the
inline styles (sub/superscript, strikeout, small caps, underline), a
highlighted and a long code block, and images sized by attributes; built
for real, then read back from the PDF, the HTML and the EPUB.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib

import pytest

from conftest import ROOT, run_build, write_paper

MANUSCRIPT = """\
---
title: Constructs From Other Pipelines
author:
  - name: Kim Vu
bibliography: refs.bib
csl: apa.csl
date: 2024-05-01
---

# Lists

A list that starts at zero, as some pipelines count ([Vu, 2021](#)).

0. zero item
1. one item

Letters:

a. alpha item
b. beta item

Roman numerals:

i. first roman
ii. second roman

Parenthesised:

(1) paren one
(2) paren two

Capital letters:

A) capital alpha
B) capital beta

Nested:

- outer item
    1. inner first
    2. inner second
        - deepest bullet

Tasks:

- [ ] open task
- [x] done task

Term one
:   Definition of the first term.

Term two
:   Definition of the second term.

# Verse and inline

| The first line of verse
|    indented second line
| third line

H~2~O and E = mc^2^, ~~struck out~~, [small caps]{.smallcaps},
[underlined]{.underline}.

# Code

```python
def greet(name: str) -> int:
    \"\"\"Say hello.\"\"\"
    return print(f"hello {name}") or 42  # a comment
```

```
LONG
```

# Images

![Half the width](box.png){width=50%}

![Three centimetres high](box.png){height=3cm}

![Two hundred and forty pixels wide](box.png){width=240}
""".replace("LONG", "a_line_with_no_space_" * 9 + "END = 1")


def _png(width: int = 40, height: int = 20) -> bytes:
    """A plain red PNG, made here rather than kept as a binary file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (struct.pack(">I", len(data)) + body
                + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The manuscript built in every default format; the folder of outputs."""
    folder = tmp_path_factory.mktemp("constructs")
    path = write_paper(folder, MANUSCRIPT, "constructs.md")
    (folder / "box.png").write_bytes(_png())
    out = folder / "dist"
    proc = run_build("-q", "--manuscript", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def pdf_pages(built) -> list[str]:
    """Each page's text laid out as on paper: WeasyPrint draws list markers
    after the page's text, so only the layout mode puts "0." before its item."""
    from pypdf import PdfReader

    reader = PdfReader(built / "constructs.pdf")
    return [page.extract_text(extraction_mode="layout") for page in reader.pages]


@pytest.fixture(scope="module")
def html(built) -> str:
    return (built / "constructs.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def epub(built) -> dict[str, str]:
    with zipfile.ZipFile(built / "constructs.epub") as book:
        return {name: book.read(name).decode("utf-8") for name in book.namelist()
                if name.endswith((".xhtml", ".css"))}


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _print_html(built_dir) -> str:
    """The print HTML WeasyPrint rendered, made again in-process."""
    import datetime

    from pubbuild import formats, pipeline

    source = pipeline.read(built_dir.parent / "constructs.md")
    doc = pipeline.run_filters(source)
    job = formats.Job(source.path, "constructs", source.reporter,
                      datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC))
    return formats.print_html(doc, job)


@pytest.mark.slow
@pytest.mark.parametrize(("first", "second"), [
    ("0. zero item", "1. one item"),         # counted from 0, not from 1
    ("a. alpha item", "b. beta item"),
    ("i. first roman", "ii. second roman"),
    ("(1) paren one", "(2) paren two"),     # the delimiters as typed
    ("A) capital alpha", "B) capital beta"),
    ("1. inner first", "2. inner second"),   # a numbered list inside bullets
])
def test_pdf_numbers_lists_as_the_manuscript_does(pdf_pages, first, second):
    lines = _lines(pdf_pages[0])
    # A reader of the PDF would see a list numbered 1, 2 where the author
    # wrote 0, 1 (or a., b.): the marker must stand before its own item.
    assert first in lines and second in lines, lines
    assert lines.index(second) == lines.index(first) + 1


@pytest.mark.slow
def test_pdf_keeps_every_construct_and_wraps_long_code(pdf_pages):
    text = "\n".join(pdf_pages)
    for words in ("open task", "done task", "Term one",
                  "Definition of the second term.", "The first line of verse",
                  "indented second line", "third line", "struck out",
                  "underlined", "deepest bullet", "Say hello."):
        assert words in text, words
    # Line block: three lines, not one run-on paragraph.
    lines = _lines(text)
    verse = lines.index("The first line of verse")
    assert lines[verse + 1:verse + 3] == ["indented second line", "third line"]
    # The long code line is wrapped inside the page, not cut at its edge:
    # every character is on the page, the end on a later line.
    code = "".join(line for line in lines if "a_line_with" in line
                   or "END = 1" in line or "no_space" in line)
    assert "".join(code.split()).endswith("END=1")
    assert "".join(code.split()).count("a_line_with_no_space_") == 9


@pytest.mark.slow
def test_print_html_carries_what_weasyprint_needs(built):
    printable = _print_html(built)
    # `start` as the list's counter reset (WeasyPrint ignores the attribute
    # without presentational hints); `type` is matched by print.css.
    assert '<ol style="counter-reset: list-item -1" start="0"' in printable
    css = (ROOT / "styles" / "print.css").read_text(encoding="utf-8")
    for kind, style in (("a", "lower-alpha"), ("i", "lower-roman"),
                        ("A", "upper-alpha")):
        assert f'<ol type="{kind}">' in printable
        assert f'ol[type="{kind}"] {{ list-style-type: {style}; }}' in css
    # Task boxes, ticked and not (WeasyPrint draws both).
    assert '<input type="checkbox" />open task' in printable
    assert '<input type="checkbox" checked="" />done task' in printable
    # Highlighted code with the theme's colours, and pixels as inches.
    assert '<span class="kw">def</span>' in printable
    assert re.search(r"code span\.kw \{ color: #[0-9a-f]{6};", printable)
    assert 'style="width:2.5in"' in printable  # 240 px


@pytest.mark.slow
def test_html_has_highlighting_tasks_definitions_and_verse(html):
    # Highlighted tokens and the colours that make them visible.
    assert '<span class="kw">def</span>' in html
    assert '<span class="co"># a comment</span>' in html
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert re.search(r"code span\.kw \{ color: #[0-9a-f]{6};", style)
    assert ".smallcaps { font-variant: small-caps; }" in style
    assert "ul.task-list { list-style: none;" in style
    # Lists as the author numbered them (browsers read start and type).
    assert '<ol start="0" type="1">' in html
    assert '<ol type="a">' in html and '<ol type="i">' in html
    assert '<ol type="A">' in html
    # Task list checkboxes; the definition list; the line block's breaks.
    assert re.search(r'<ul class="task-list">\s*<li><label><input type="checkbox"'
                     r' />open task', html)
    assert '<input type="checkbox" checked="" />done task' in html
    assert "<dt>Term one</dt>" in html and "<dd>" in html
    assert ("The first line of verse<br />\n\u00a0\u00a0\u00a0indented second "
            "line<br />\nthird line") in html
    for tag in ("<sub>2</sub>", "<sup>2</sup>", "<del>struck out</del>",
                '<span class="smallcaps">small caps</span>', "<u>underlined</u>"):
        assert tag in html
    # Image sizes, as the author gave them.
    assert 'style="width:50.0%"' in html and 'style="height:3cm"' in html
    assert 'width="240"' in html


@pytest.mark.slow
def test_html_with_these_constructs_validates(built, vnu):
    errors, warnings = vnu(built / "constructs.html")
    assert errors == [] and warnings == []


@pytest.mark.slow
def test_epub_has_the_same_constructs_and_styles(built, epub, epubcheck):
    text = "".join(body for name, body in epub.items() if name.endswith(".xhtml"))
    assert '<ol start="0" type="1">' in text and '<ol type="i">' in text
    assert '<span class="kw">def</span>' in text
    # The theme's CSS rides along in the chapter with code, before the
    # stylesheets (which then win where both set a rule).
    chapter = next(body for body in epub.values() if 'class="kw"' in body)
    head = chapter.split("</head>", 1)[0]
    assert re.search(r"code span\.kw \{ color: #[0-9a-f]{6};", head)
    assert head.index("code span.kw") < head.index('rel="stylesheet"')
    assert '<input type="checkbox" checked="" />done task' in text
    assert "<dt>Term one</dt>" in text
    assert 'style="width:50.0%"' in text and 'style="height:3cm"' in text
    css = "".join(body for name, body in epub.items() if name.endswith(".css"))
    assert ".smallcaps { font-variant: small-caps; }" in css
    assert "overflow-wrap: anywhere" in css  # long code lines wrap
    summary, messages = epubcheck(built / "constructs.epub")
    assert "0 fatals / 0 errors / 0 warnings" in summary, messages

