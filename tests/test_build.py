"""A full build of the real article, judged per format by content and validators.

The build runs once into a temporary folder; each test reads one aspect of
one output as a reader, an indexer or a production editor would.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build
from outputs import bundled_families, epub_files, fold, html_text, pdf_fonts, pdf_text

MANUSCRIPT = ROOT / "manuscript" / "article.md"
FORMATS = ("pdf", "html", "epub")
AUTHORS = ("Waseem Ishaque", "Mudassir Mukhtar")
KEYWORDS = ("North Korea", "US", "Joe Biden", "Donald Trump", "Moon Jae-in",
            "South Korea")
# An APA 7 in-text citation: (Names, Year[, p. N]) with `;` between works.
APA = re.compile(r"^\((?:[^();]+?, (?:\d{4}[a-z]?|n\.d\.)(?:, pp?\. [\d–-]+)?"
                 r"(?:; |\)$))+")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = run_build("--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out


@pytest.fixture(scope="module")
def rendered_citations() -> list[str]:
    """Each citation as citeproc renders it, from `build.py check`."""
    report = run_build("check")
    assert report.returncode == 0, report.stderr
    found = re.findall(r"-> [\w, ]+  (\(.*\))$", report.stdout, re.M)
    assert len(found) == 38
    return found


def headings() -> list[str]:
    return [line.lstrip("#").strip() for line in
            MANUSCRIPT.read_text(encoding="utf-8").splitlines()
            if re.match(r"#{1,6} ", line)]


def abstract() -> str:
    text = MANUSCRIPT.read_text(encoding="utf-8")
    return " ".join(text.split("abstract: |\n")[1].split("\nkeywords:")[0].split())


# Page furniture (running head, page number) between one page and the next.
FURNITURE = re.compile(r"\n?Breaking the Stalemate\s+Ishaque & Mukhtar\s+\d+\n")


@pytest.fixture(scope="module")
def texts(dist) -> dict[str, str]:
    html = (dist / "article.html").read_text(encoding="utf-8")
    epub = epub_files(dist / "article.epub")
    content = [body for name, body in sorted(epub.items()) if name.endswith(".xhtml")
               and "nav" not in name]
    return {"html": fold(html_text(html)),
            "epub": fold(" ".join(html_text(body) for body in content)),
            "pdf": fold(pdf_text(dist / "article.pdf", FURNITURE))}


@pytest.mark.slow
def test_outputs_are_named_after_the_manuscript(dist):
    assert sorted(p.name for p in dist.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "article.epub", "article.html", "article.pdf"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_heading_author_keyword_and_the_abstract(texts, fmt):
    text = texts[fmt]
    missing = [h for h in headings() if fold(h) not in text]
    assert not missing, f"{fmt}: headings a reader would not find: {missing}"
    for name in AUTHORS:
        assert name in text, f"{fmt}: author {name} missing"
    for keyword in KEYWORDS:
        assert keyword in text
    assert fold(abstract()[:200]) in text and fold(abstract()[-120:]) in text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_all_38_citations_render_in_apa(texts, rendered_citations, fmt):
    assert all(APA.match(c) for c in rendered_citations), rendered_citations
    text = texts[fmt]
    for citation, count in Counter(rendered_citations).items():
        assert text.count(citation) >= count, f"{fmt}: {citation} x{count}"


def markup_of(dist: Path, fmt: str) -> str:
    """The HTML page, or every file of the EPUB run together."""
    if fmt == "html":
        return (dist / "article.html").read_text(encoding="utf-8")
    return "".join(epub_files(dist / "article.epub").values())


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ("html", "epub"))
def test_no_citation_is_left_unresolved(dist, fmt):
    markup = markup_of(dist, fmt)
    assert "[@" not in markup and "???" not in markup
    # A word-processor citation field points at "#"; none may survive.
    assert 'href="#"' not in markup
    # Every citation links to its entry, and every target exists.
    targets = set(re.findall(r'href="[^"#]*#(ref-[^"]+)"', markup))
    assert len(targets) == 31
    assert all(f'id="{target}"' in markup for target in targets)


@pytest.mark.slow
def test_pdf_has_no_unresolved_citation(texts):
    assert "[@" not in texts["pdf"] and "???" not in texts["pdf"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ("html", "epub"))
def test_31_reference_entries(dist, fmt):
    markup = markup_of(dist, fmt)
    assert len(re.findall(r'class="csl-entry"', markup)) == 31


@pytest.mark.slow
def test_pdf_reference_list_has_every_entry(dist, texts):
    html = (dist / "article.html").read_text(encoding="utf-8")
    entries = re.findall(r'<div id="ref-[^"]+" class="csl-entry"[^>]*>(.*?)</div>',
                         html, re.S)
    assert len(entries) == 31
    # Compared without spaces: text extraction puts some where kerning is.
    references = "".join(texts["pdf"].split("References")[-1].split())
    for entry in entries:
        start = "".join(fold(html_text(entry)).split())[:40]
        assert start in references, f"PDF reference list lacks {start!r}"


@pytest.mark.slow
def test_html_links_entries_back_to_citations(dist):
    html = (dist / "article.html").read_text(encoding="utf-8")
    backlinks = re.findall(r'href="#(cite-\d+)"', html)
    assert len(backlinks) == 38
    assert all(f'id="{anchor}"' in html for anchor in backlinks)


@pytest.mark.slow
def test_html_is_one_semantic_file_with_scholarly_metadata(dist):
    html = (dist / "article.html").read_text(encoding="utf-8")
    for tag in ("<header", "<main", "<article", "<nav", "<section"):
        assert tag in html
    assert '<html lang="en-US"' in html
    # Nothing is fetched from elsewhere: no stylesheet, script or font URL.
    assert not re.search(r'<(?:link|script)[^>]+(?:href|src)="(?:https?:)?//', html)
    assert "url(http" not in html
    assert ('<meta name="citation_title" content="Breaking the Stalemate: '
            'Re-engaging North Korea">') in html
    assert [m for m in re.findall(r'name="citation_author" content="([^"]+)"', html)
            ] == list(AUTHORS)
    assert '"@type": "ScholarlyArticle"' in html


@pytest.mark.slow
def test_html_validates(dist, vnu):
    errors, warnings = vnu(dist / "article.html")
    assert errors == [] and warnings == []


@pytest.mark.slow
def test_epub_validates(dist, epubcheck):
    summary, output = epubcheck(dist / "article.epub")
    assert "0 fatals / 0 errors / 0 warnings" in summary, output


@pytest.mark.slow
def test_epub_metadata(dist):
    opf = next(body for name, body in epub_files(dist / "article.epub").items()
               if name.endswith(".opf"))
    assert "<dc:title" in opf and "Breaking the Stalemate" in opf
    assert all(f">{name}</dc:creator>" in opf for name in AUTHORS)
    assert "<dc:language>en-US</dc:language>" in opf
    # Stable: derived from title and authors, the same on every build.
    assert re.search(r"<dc:identifier[^>]*>urn:uuid:[0-9a-f-]{36}</dc:identifier>",
                     opf)


@pytest.mark.slow
def test_pdf_pages_metadata_and_bookmarks(dist):
    reader = PdfReader(dist / "article.pdf")
    # About 5,700 words at a journal's A4 measure.
    assert 8 <= len(reader.pages) <= 16
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4
    info = reader.metadata
    assert info.title == "Breaking the Stalemate: Re-engaging North Korea"
    assert info.author == "Waseem Ishaque, Mudassir Mukhtar"
    assert "Moon Jae-in" in info["/Keywords"]
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged
    titles = []

    def walk(outline):
        for item in outline:
            walk(item) if isinstance(item, list) else titles.append(item.title)

    walk(reader.outline)
    assert [fold(t) for t in titles] == [fold(h) for h in headings()] + ["References"]


@pytest.mark.slow
def test_pdf_uses_only_bundled_embedded_fonts(dist):
    families = bundled_families()
    fonts = pdf_fonts(dist / "article.pdf")
    assert fonts, "no fonts found"
    for name, embedded in fonts:
        assert embedded, f"{name} is not embedded"
        assert name.replace("-", "").startswith(tuple(families)), (
            f"{name} is not one of the bundled fonts {sorted(families)}")


@pytest.mark.slow
def test_progress_lines_and_quiet(tmp_path):
    result = run_build("html", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert re.search(r"HTML \(pandoc\)\s+\d+\.\d\d s", result.stderr)
    # Nothing changed: the second build says so and writes nothing.
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = run_build("html", "--out", str(tmp_path))
    assert again.returncode == 0 and "Nothing to do: html of" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert re.search(r"wrote .*article\.html \(\d+ KiB\)", result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "article.html"]
    quiet = run_build("-q", "html", "--out", str(tmp_path))
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.slow
def test_pdf_citations_link_to_their_entries(dist):
    reader = PdfReader(dist / "article.pdf")
    links = [annot.get_object() for page in reader.pages
             for annot in page.get("/Annots") or []]
    targets = [str(link["/Dest"]) for link in links
               if link.get("/Subtype") == "/Link" and "/Dest" in link]
    # 38 citations (one split over two lines makes two link areas), every
    # one of the 31 entries a destination that exists in the document.
    cited = [t for t in targets if t.startswith("ref-")]
    assert len(cited) >= 38 and len(set(cited)) == 31
    named = reader.trailer["/Root"]["/Names"]["/Dests"]["/Names"][::2]
    assert set(cited) <= set(named)


@pytest.mark.slow
def test_pdf_declares_what_pdf_ua_asks(dist):
    # veraPDF, the PDF/UA validator, is not available here; these are the
    # document-level requirements a checker looks at first.
    root = PdfReader(dist / "article.pdf").trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    assert "/StructTreeRoot" in root
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfuaid:part="1"' in xmp


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_straight_quotation_marks(dist, fmt):
    if fmt == "pdf":
        text = pdf_text(dist / "article.pdf", FURNITURE)
    elif fmt == "html":
        text = html_text((dist / "article.html").read_text(encoding="utf-8"))
    else:
        text = " ".join(html_text(body) for body in
                        epub_files(dist / "article.epub").values())
    # The article has no code: every " or ' a reader sees would be a
    # quotation mark or apostrophe the normaliser missed.
    found = [text[max(0, m.start() - 30):m.end() + 10]
             for m in re.finditer("[\"']", text)]
    assert found == []
    # The unbalanced marks print as the mark for their side.
    assert "United States” (Snyder, 2019)" in text
    assert "that “Games are a “precious opportunity” to seek" in text
    assert "the Korean peninsula” and that “the current" in text  # repaired
