"""Page make-up in the PDF (the issue "Page make-up"): no page left more
than a third empty because a figure or table did not fit, no more than two
lines in a row ending in a hyphen, and nested quotations printed with the
marks of the document's language at both levels.

Build layer: real builds of small manuscripts written here (and of the
article, for the hyphens), read back as a reader sees them: the pages'
pixels, and the PDF's text."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2  # renders the pages (PDFium, from requirements.txt)
import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build, write_paper
from outputs import pdf_text

pytestmark = pytest.mark.slow

# The page (A4) and its text block, from styles/print.css's @page margins.
PAGE_MM, TOP_MM, BOTTOM_MM = 297, 25, 25

PROSE = ("the negotiators returned to the table with proposals that neither side "
         "had tested against the record of earlier rounds and the observers "
         "noted how the language of the communiqués shifted from week to week "
         "while the substance of the verification arrangements stayed where it "
         "had been since the first summit")


def _paragraph(seed: int, sentences: int = 5) -> str:
    """Invented prose, different for each seed (no real paper is copied)."""
    vocabulary = PROSE.split()
    out = []
    for n in range(sentences):
        start = (seed * 7 + n * 11) % len(vocabulary)
        words = (vocabulary[start:] + vocabulary[:start])[: 18 + (seed + n) % 9]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _svg(width_px: int, height_px: int) -> str:
    """A tall figure: dark enough to be seen where it ends on the page."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" '
            f'height="{height_px}" viewBox="0 0 {width_px} {height_px}">'
            f'<rect width="{width_px}" height="{height_px}" fill="#555"/></svg>\n')


def _table(rows: int, number: int) -> str:
    body = "\n".join(f"| {number}.{r} | Round {r} | {(r * 37) % 100} percent |"
                     for r in range(1, rows + 1))
    return (f"| Item | Round | Share |\n|---|---|---|\n{body}\n\n"
            f": Rounds of talks, part {number}.\n")


def _manuscript(folder: Path, body: str, lang: str = "en-US") -> Path:
    return write_paper(folder, f"---\ntitle: Make-up Test\nauthor:\n  - name: Kim Vu\n"
                               f"lang: {lang}\nbibliography: refs.bib\ncsl: apa.csl\n"
                               f"date: 2024-05-01\n---\n\n{body}")


def _build(path: Path, out: Path) -> Path:
    result = run_build("--manuscript", str(path), "--out", str(out), "pdf")
    assert result.returncode == 0, result.stderr
    return out / f"{path.stem}.pdf"


def _used_depths(pdf: Path) -> list[float]:
    """For each page, how far down its text block the ink goes (0 to 1):
    the last non-white pixel row between the top and bottom margins, so the
    running head and the page number do not count."""
    depths = []
    for page in pypdfium2.PdfDocument(pdf):
        image = page.render(scale=40 / 72, grayscale=True).to_pil().convert("L")
        width, height = image.size
        top = round(height * TOP_MM / PAGE_MM)
        bottom = round(height * (PAGE_MM - BOTTOM_MM) / PAGE_MM)
        inked = [y for y in range(top, bottom)
                 if image.crop((0, y, width, y + 1)).getextrema()[0] < 200]
        depths.append((max(inked) - top) / (bottom - top) if inked else 0.0)
    return depths


def test_no_page_is_left_a_third_empty_by_a_figure_or_table(tmp_path):
    # Tall figures and long tables after varying amounts of text, so that
    # several of them come near a page's foot where they cannot fit.
    parts = []
    for n in range(1, 7):
        parts += [_paragraph(n * 3 + k) for k in range(n % 3 + 2)]
        if n % 2:
            parts.append(f"![A tall figure, number {n}.](tall{n}.svg)")
            parts.append(_paragraph(100 + n))
        else:
            parts.append(_table(14 + 4 * n, n))
        parts += [_paragraph(200 + n * 5 + k) for k in range(3)]
    path = _manuscript(tmp_path / "paper", "# Results\n\n" + "\n\n".join(parts) + "\n")
    for n in range(1, 7, 2):
        (path.parent / f"tall{n}.svg").write_text(_svg(480, 520 + 30 * n))
    pdf = _build(path, tmp_path / "out")
    text = pdf_text(pdf)
    assert all(f"A tall figure, number {n}." in text for n in range(1, 7, 2)), \
        "a figure's caption is missing from the PDF"
    assert all(f"Rounds of talks, part {n}." in text for n in range(2, 7, 2))
    # A table broken across pages repeats its head: readers see the columns.
    assert text.count("Item Round Share") > 3, "no long table broke with its head"

    depths = _used_depths(pdf)
    assert len(depths) == len(PdfReader(pdf).pages) >= 4
    holes = {page: round(depth, 2) for page, depth in enumerate(depths[:-1], 1)
             if depth < 2 / 3}
    assert not holes, f"pages left more than a third empty (page: ink depth): {holes}"


def _hyphen_runs(pdf: Path) -> list[list[str]]:
    """Runs of three or more consecutive lines (on one page) ending in a
    hyphen: WeasyPrint's U+2010 or a typed hyphen."""
    runs = []
    for page in PdfReader(pdf).pages:
        run: list[str] = []
        for line in page.extract_text(extraction_mode="layout").splitlines():
            if not line.strip():
                continue
            if line.rstrip().endswith(("\u2010", "-")):
                run.append(line.strip()[-30:])
                if len(run) == 3:
                    runs.append(run)
            else:
                run = []
    return runs


def test_no_more_than_two_lines_in_a_row_end_in_a_hyphen(tmp_path):
    pdf = _build(ROOT / "manuscript" / "article.md", tmp_path / "out")
    lines = "\n".join(page.extract_text(extraction_mode="layout")
                      for page in PdfReader(pdf).pages).splitlines()
    hyphenated = [line for line in lines if line.rstrip().endswith("\u2010")]
    # Hyphenation itself is still on: the limit did not switch it off.
    assert len(hyphenated) > 10
    assert _hyphen_runs(pdf) == [], "three or more lines in a row end in a hyphen"
    # The article keeps its length (the limit moves words, not pages).
    assert len(PdfReader(pdf).pages) == 11


@pytest.mark.parametrize("lang, quoted", [
    ("en-US", "\u201cthe minister said \u2018never again\u2019 twice\u201d"),
    ("en-GB", "\u2018the minister said \u201cnever again\u201d twice\u2019"),
])
def test_a_nested_quotation_prints_both_levels_of_marks(tmp_path, lang, quoted):
    body = ("# Talks\n\n" + _paragraph(1) + ' She wrote "the minister said '
            "'never again' twice\" in her notes ([Vu, 2021](#)). "
            + _paragraph(2) + "\n")
    pdf = _build(_manuscript(tmp_path / "paper", body, lang), tmp_path / "out")
    text = pdf_text(pdf)
    assert quoted in text, re.findall(r".{12}minister said.{24}", text)
