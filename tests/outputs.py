"""Reading the built outputs as a reader would: text, files, fonts.

Shared by the build tests; no test here.
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader

from conftest import ROOT


class _Text(HTMLParser):
    """The visible text of an (X)HTML file, whitespace folded."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    BLOCKS = {"p", "div", "li", "section", "header", "nav", "figure", "figcaption",
              "td", "th", "br", "h1", "h2", "h3", "h4", "h5", "h6", "title"}

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "head")
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "head")
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return " ".join("".join(parser.parts).split())


def epub_files(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name).decode("utf-8") for name in book.namelist()
                if name.endswith((".xhtml", ".opf", ".ncx"))}


def pdf_text(path: Path, furniture: re.Pattern | None = None) -> str:
    """The PDF's text; `furniture` matches page furniture (running head,
    page number) that extraction puts between one page and the next."""
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    if furniture is not None:
        text = furniture.sub("\n", text)
    # WeasyPrint prints the hyphen it adds at a line end as U+2010: the word
    # is whole again without it. A typed hyphen ("Sang-Hun") stays.
    text = text.replace("\u2010\n", "").replace("-\n", "-")
    return " ".join(text.split())


def fold(text: str) -> str:
    """Whitespace folded, and quotes compared by kind, not by typography:
    pandoc's smart punctuation prints the source's ' as ’."""
    return " ".join(text.translate(QUOTES).split())


QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def bundled_families() -> set[str]:
    from fontTools.ttLib import TTFont

    return {TTFont(path)["name"].getDebugName(1).replace(" ", "")
            for path in (ROOT / "fonts").glob("*.ttf")}


def pdf_fonts(path: Path) -> list[tuple[str, bool]]:
    """(base font name without subset tag, has an embedded font file)."""
    fonts = {}
    for page in PdfReader(path).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendant = font.get("/DescendantFonts", [font])[0].get_object()
            descriptor = descendant.get("/FontDescriptor", {})
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2",
                                                     "/FontFile3"))
            name = str(font["/BaseFont"]).lstrip("/").split("+")[-1]
            fonts[name] = embedded
    return sorted(fonts.items())
