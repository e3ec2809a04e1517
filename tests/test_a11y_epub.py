"""The EPUB's accessibility (issue 19): what Ace by DAISY and EPUBCheck say
of it, its EPUB Accessibility 1.1 metadata, and its page list, whose page
numbers must be the PDF's.

The page list is checked as a reader would check it: a citation with a
page locator, found on page N of the PDF, must follow the marker of page
N in the EPUB. On the article and on tests/manuscripts/pagelist, whose
pages break inside paragraphs, after a figure and near footnotes."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from concurrent.futures import Future
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, manuscripts, run_build
from pubbuild import cache, formats, pagelist, pandoc

PAGELIST = ROOT / "tests" / "manuscripts" / "pagelist" / "paper.md"
MARKER = re.compile(r'<span epub:type="pagebreak" role="doc-pagebreak" '
                    r'id="page-(\d+)" aria-label="(\d+)"></span>')


# -- the metadata, from the document ---------------------------------------

def _features(markdown: str) -> dict:
    return formats.epub_accessibility(pandoc.parse_markdown(markdown, Path("x.md")))


def test_the_metadata_says_only_what_is_true_of_the_book():
    plain = _features("# One\n\nWords only.\n")
    # A book of words: textual, nothing to describe, no MathML claimed.
    assert plain["accessModes"] == ["textual"]
    assert plain["accessModeSufficient"] == ["textual"]
    assert "alternativeText" not in plain["accessibilityFeatures"]
    assert "MathML" not in plain["accessibilityFeatures"]
    assert {"structuralNavigation", "tableOfContents", "pageBreakMarkers",
            "pageNavigation"} <= set(plain["accessibilityFeatures"])
    assert plain["accessibilityHazards"] == ["none"]

    rich = _features("# One\n\n![A red square.](a.png)\n\nAnd $x^2$.\n")
    assert rich["accessModes"] == ["textual", "visual"]
    # Every image described: the text alone is enough, or text and pictures.
    assert rich["accessModeSufficient"] == ["textual,visual", "textual"]
    assert {"alternativeText", "MathML", "describedMath"} <= set(
        rich["accessibilityFeatures"])
    assert "MathML" in rich["accessibilitySummary"]

    # An image without alt text: a reader without the picture misses it.
    bare = _features("# One\n\n![](a.png)\n")
    assert bare["accessModeSufficient"] == ["textual,visual"]
    assert "alternativeText" not in bare["accessibilityFeatures"]
    assert "no text description" in bare["accessibilitySummary"]
    # ... and the book does not say it meets WCAG (pubbuild.formats.epub
    # leaves out dcterms:conformsTo then).
    assert "WCAG" not in bare["accessibilitySummary"]
    assert "WCAG" in plain["accessibilitySummary"]


def test_the_epub_is_rebuilt_when_the_print_layout_changes():
    # Its page numbers are the PDF's: a print stylesheet, font or the
    # renderer moves them, and an EPUB left as it was would be wrong.
    for name in ("styles/print.css", "templates/print.html", "fonts/x.ttf",
                 "pubbuild/pdf.py", "pubbuild/mathsvg.py", "pubbuild/pagelist.py"):
        assert cache.depends("epub", name), name
    assert not cache.depends("pdf", "pubbuild/pagelist.py")


def test_a_pdf_that_fails_does_not_leave_the_epub_waiting(monkeypatch, tmp_path):
    # The EPUB's writer, in its thread, waits for the PDF's pages: a PDF
    # that fails must hand it the failure, or the build would hang.
    def broken(_doc, _job):
        raise RuntimeError("no print HTML")

    monkeypatch.setattr(formats, "print_html", broken)
    job = formats.Job(tmp_path / "paper.md", "paper", None,
                      datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                      pages=Future())
    with pytest.raises(RuntimeError):
        formats.pdf(None, job)
    assert isinstance(job.pages.exception(timeout=0), RuntimeError)


# -- the markers, in a small EPUB ------------------------------------------

CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>c</title></head>
<body>
<section id="s">
<h1>One heading</h1>
<p>Alpha beta<a href="#fn1" class="footnote-ref" role="doc-noteref">1</a> gamma \
<a href="#x">delta epsilon</a> zeta &amp; eta.</p>
<ul>
<li>First item text</li>
<li>Second item text</li>
</ul>
<aside epub:type="footnote" role="doc-footnote" id="fn1"><p>Note text.</p></aside>
</section>
</body>
</html>
"""
NAV = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>n</title></head>
<body>
<nav epub:type="toc" id="toc"><ol><li><a href="text/ch001.xhtml">c</a></li></ol></nav>
</body>
</html>
"""
PACKAGE = """<?xml version="1.0" encoding="UTF-8"?>
<package version="3.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">x</dc:identifier>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml"
          properties="nav" />
    <item id="ch001" href="text/ch001.xhtml" media-type="application/xhtml+xml" />
  </manifest>
  <spine>
    <itemref idref="ch001" />
  </spine>
</package>
"""
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def _small_epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for name, text in (("mimetype", "application/epub+zip"),
                           ("META-INF/container.xml", CONTAINER),
                           ("EPUB/content.opf", PACKAGE), ("EPUB/nav.xhtml", NAV),
                           ("EPUB/text/ch001.xhtml", CHAPTER)):
            entry = zipfile.ZipInfo(name, date_time=(2001, 2, 3, 4, 5, 6))
            entry.compress_type = (zipfile.ZIP_STORED if name == "mimetype"
                                   else zipfile.ZIP_DEFLATED)
            book.writestr(entry, text)
    return out.getvalue()


def test_markers_go_where_the_pages_start_and_never_inside_a_word():
    paragraph = "Alphabetagammadeltaepsilonzeta&eta."
    starts = [
        pagelist.PageStart(1, "Oneheading", 0, 0),
        # After "Alpha beta gamma" (the note's "1" is the PDF's footnote
        # call, not text): before the link that holds "delta".
        pagelist.PageStart(2, paragraph, 0, len("Alphabetagamma")),
        # Two letters into "delta", hyphenated across the pages: the marker
        # goes before the next whole word.
        pagelist.PageStart(3, paragraph, 0, len("Alphabetagammade")),
        # A block the EPUB does not have: marked where the next page starts.
        pagelist.PageStart(4, "Onlyinprint", 0, 0),
        # A list item: the marker goes inside it (a list holds only items).
        pagelist.PageStart(5, "Seconditemtext", 0, 0),
    ]
    book = _small_epub()
    marked = pagelist.mark(book, starts, source="Test (PDF)",
                           also=(("dcterms:conformsTo", "X"),))
    with zipfile.ZipFile(io.BytesIO(marked)) as new, \
            zipfile.ZipFile(io.BytesIO(book)) as old:
        chapter = new.read("EPUB/text/ch001.xhtml").decode()
        nav = new.read("EPUB/nav.xhtml").decode()
        package = new.read("EPUB/content.opf").decode()
        # Zipped again as it was: same entries in the same order, same dates,
        # the mimetype first and stored.
        assert [(i.filename, i.date_time, i.compress_type) for i in new.infolist()] \
            == [(i.filename, i.date_time, i.compress_type) for i in old.infolist()]
        assert new.infolist()[0].compress_type == zipfile.ZIP_STORED

    def marker(n: int) -> str:
        return (f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{n}" '
                f'aria-label="{n}"></span>')

    assert f'{marker(1)}<h1>One heading</h1>' in chapter
    assert f'gamma {marker(2)}<a href="#x">delta {marker(3)}epsilon</a>' in chapter
    assert f'<li>{marker(4)}{marker(5)}Second item text</li>' in chapter
    assert chapter.count('epub:type="pagebreak"') == 5
    # The page list: every page, in order, pointing at its marker.
    assert re.findall(r'<a href="text/ch001.xhtml#page-(\d+)">\1</a>', nav) == [
        "1", "2", "3", "4", "5"]
    assert '<nav epub:type="page-list" role="doc-pagelist"' in nav
    assert '<meta property="pageBreakSource">Test (PDF)</meta>' in package
    assert '<meta property="dcterms:conformsTo">X</meta>' in package


# -- the built books ---------------------------------------------------------

@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """(PDF, EPUB) of the article and of the page-list manuscript, each
    built by one `python build.py` (the EPUB beside the PDF)."""
    built = {}
    for label, manuscript in (("article", None), ("pagelist", PAGELIST)):
        out = tmp_path_factory.mktemp(label)
        where = ["--manuscript", str(manuscript)] if manuscript else []
        result = run_build("-q", *where, "--out", str(out))
        assert result.returncode == 0, result.stderr
        stem = (manuscript or ROOT / "manuscript" / "article.md").stem
        built[label] = (out / f"{stem}.pdf", out / f"{stem}.epub")
    return built


@pytest.mark.slow
@pytest.mark.parametrize("label", ["article", "pagelist"])
def test_epubcheck_finds_nothing(books, epubcheck, label):
    summary, output = epubcheck(books[label][1])
    assert summary.startswith("Messages: 0 fatals / 0 errors / 0 warnings"), output


@pytest.mark.slow
@pytest.mark.parametrize("label", ["article", "pagelist"])
def test_ace_finds_no_violation_and_the_metadata_it_asks_for(books, ace, label):
    import a11y_tools

    report = ace(books[label][1])
    assert a11y_tools.ace_violations(report) == []
    metadata = report["a11y-metadata"]
    # What a reading system or a library shows the reader before opening it.
    assert {"schema:accessMode", "schema:accessModeSufficient",
            "schema:accessibilityFeature", "schema:accessibilityHazard",
            "schema:accessibilitySummary", "dcterms:conformsTo"} <= set(
                metadata["present"])
    assert metadata["empty"] == []


# Every other manuscript's EPUB, through both judges: what the article
# does not contain (figures, subfigures, tables, code, formulas, callouts,
# ORCID icons, footnotes in lists) must pass too.
OTHERS = {name: path for name, path in manuscripts().items()
          if name not in ("article", "pagelist")}


@pytest.fixture(scope="module")
def other_books(tmp_path_factory) -> dict[str, Path]:
    built = {}
    for name, manuscript in OTHERS.items():
        out = tmp_path_factory.mktemp(name)
        result = run_build("-q", "epub", "--manuscript", str(manuscript),
                           "--out", str(out))
        assert result.returncode == 0, result.stderr
        built[name] = out / f"{manuscript.stem}.epub"
    return built


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OTHERS))
def test_every_manuscript_passes_ace_and_epubcheck(other_books, ace, epubcheck, name):
    import a11y_tools

    report = ace(other_books[name])
    assert a11y_tools.ace_violations(report) == []
    summary, output = epubcheck(other_books[name])
    assert summary.startswith("Messages: 0 fatals / 0 errors / 0 warnings"), output


def test_the_other_manuscripts_are_there():
    assert {"crossref", "joss", "mixed", "quarto", "second"} <= set(OTHERS)


def _spine_text(epub: Path) -> list[str]:
    """The EPUB's content documents in reading order."""
    with zipfile.ZipFile(epub) as book:
        package = book.read("EPUB/content.opf").decode()
        hrefs = dict(re.findall(r'<item id="([^"]+)" href="([^"]+)"', package))
        order = re.findall(r'<itemref idref="([^"]+)"', package)
        return [book.read(f"EPUB/{hrefs[ref]}").decode() for ref in order]


def _pdf_pages(pdf: Path) -> list[str]:
    """Each page's text, as pypdf extracts it (running head and page
    number included; they are not in the EPUB and match no citation)."""
    return [page.extract_text() for page in PdfReader(pdf).pages]


def _bare(text: str) -> str:
    """Text without white space or hyphens: a line broken (and hyphenated)
    in the PDF reads as the EPUB's unbroken one."""
    return re.sub(r"[\s\-\u2010\u00ad]", "", text)


@pytest.mark.slow
@pytest.mark.parametrize("label", ["article", "pagelist"])
def test_the_page_list_has_every_page_of_the_pdf(books, label):
    pdf, epub = books[label]
    pages = _pdf_pages(pdf)
    documents = _spine_text(epub)
    markers = [(int(m[1]), m[2]) for text in documents for m in MARKER.finditer(text)]
    # One marker per page, numbered as the PDF's pages, in reading order.
    assert [number for number, _ in markers] == list(range(1, len(pages) + 1))
    assert all(str(number) == label_ for number, label_ in markers)
    with zipfile.ZipFile(epub) as book:
        nav = book.read("EPUB/nav.xhtml").decode()
    listed = re.findall(r'<a href="text/[^"#]+#page-(\d+)">(\d+)</a>', nav)
    assert [int(a) for a, b in listed if a == b] == list(range(1, len(pages) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("label", ["article", "pagelist"])
def test_a_cited_page_is_on_the_same_page_in_the_pdf_and_the_epub(books, label):
    """Each citation with a page locator ("Falk & Fischbacher, 2001, p. 2",
    "Okafor 2015, 14") found once in the PDF: the PDF page it starts on is
    the page of the last marker before it in the EPUB."""
    pdf, epub = books[label]
    pages = [_bare(page) for page in _pdf_pages(pdf)]
    whole = "".join(pages)
    starts = [sum(map(len, pages[:n])) for n in range(len(pages))]
    compared = []
    page = 0
    for document in _spine_text(epub):
        body = document[document.index("<body"):]
        for token in re.finditer(rf'{MARKER.pattern}|<a href="[^"]*#ref-[^"]*">'
                                 r'([^<]*\d{4}[a-z]?, (?:pp?\. )?\d+)</a>', body):
            if token[1]:
                page = int(token[1])
                continue
            cited = _bare(token[3].replace("&amp;", "&"))
            if whole.count(cited) != 1 or body.count(token[3]) != 1:
                continue  # not one place to compare
            in_pdf = max(n for n, start in enumerate(starts, 1)
                         if start <= whole.index(cited))
            compared.append((token[3], in_pdf, page))
    assert len(compared) >= 10, compared
    assert [(text, pdf_page) for text, pdf_page, _ in compared] == [
        (text, epub_page) for text, _, epub_page in compared]


@pytest.mark.slow
def test_the_epub_alone_has_the_page_list_of_the_epub_beside_the_pdf(books, tmp_path):
    # `build.py epub` lays the pages out itself (pubbuild.pdf.layout): the
    # same book, byte for byte, as when the PDF's render hands them over.
    result = run_build("-q", "epub", "--manuscript", str(PAGELIST),
                       "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    alone = tmp_path / "paper.epub"
    assert alone.read_bytes() == books["pagelist"][1].read_bytes()
