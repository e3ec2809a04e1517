"""pubbuild.docxlines against LibreOffice: the same page and line number for
the same line.

The Word file is built as `submit` builds it (Times, 12 pt, double spaced,
line numbers restarting on each page) from tests/manuscripts/docxlines,
which has headings at three levels, a block quotation, two lists, a table,
a footnote and a reference list. LibreOffice converts it to PDF; the
numbers it prints in the left margin, with the text beside them, are what
the model must give. LibreOffice comes from tests/a11y_tools.soffice: found,
or installed, or the test fails with the command to run; never skipped.
"""

from __future__ import annotations

import collections
import datetime
import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import manuscripts
from pubbuild import docxlines
from pubbuild.diagnostics import BuildError
from pubbuild.paths import ROOT
from word_judge import first_word, libreoffice_pdf, numbered_lines

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
FIXTURE = ROOT / "tests" / "manuscripts" / "docxlines" / "paper.md"


def word_file(paper: Path) -> bytes:
    """The manuscript's DOCX as `submit` writes it, with line numbers."""
    from pubbuild import formats, pandoc, pipeline, wordref

    source = pipeline.read(paper)
    before = pipeline.run_filters(source, through_citeproc=False,
                                  without=("backlinks",))
    doc = pipeline.finish(pandoc.copy(before), source, without=("backlinks",))
    job = formats.Job(source.path, source.path.stem, source.reporter,
                      datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC))
    return formats.docx(doc, job, wordref.reference_docx(line_numbers=True))


def agreement(docx: bytes, tmp: Path):
    """(LibreOffice's numbered lines, the model's, those that disagree)."""
    judged = numbered_lines(libreoffice_pdf(docx, tmp))
    model = {(line.page, line.number): line for line in docxlines.lines(docx)
             if line.number}
    formulas = _display_formulas(docx)
    wrong = [(page, number, text, model.get((page, number)))
             for page, number, text in judged
             if (page, number) not in model
             or not _same_line(model[(page, number)].text, text, formulas)]
    return judged, model, wrong


def _same_line(model: str, judged: str, formulas: set[str]) -> bool:
    """Whether the model's line is LibreOffice's, by their first words. The
    PDF's text of a monospaced line may lose spaces ("returnmax(clock"), so
    the model's first words run together also match; a display formula,
    which LibreOffice draws as an object whose glyphs (limits, fractions,
    its symbol font) pypdf reads out of order, matches by its place alone."""
    squeezed = re.sub(r"[\s\u200b]", "", model)
    if any(formula in squeezed for formula in formulas):
        return True
    return first_word(judged) in (first_word(model), first_word(squeezed))


def _display_formulas(docx: bytes) -> set[str]:
    """The text of each formula that is a paragraph's content (beside tabs
    and its number), spaces left out."""
    body = ElementTree.fromstring(
        zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml"))
    found = set()
    for p in body.iter(W + "p"):
        maths = [child for child in p if child.tag in (M + "oMath", M + "oMathPara")]
        before = "".join(t.text or "" for child in p
                         if child.tag not in (M + "oMath", M + "oMathPara")
                         for t in child.iter(W + "t"))
        if maths and not before.strip("()0123456789 \t"):
            for math in maths:
                text = re.sub(r"[\s\u200b]", "",
                              "".join(t.text or "" for t in math.iter(M + "t")))
                if text:
                    found.add(text)
    return found


@pytest.mark.slow
def test_every_numbered_line_agrees_with_libreoffice(tmp_path):
    judged, model, wrong = agreement(word_file(FIXTURE), tmp_path)
    assert len(judged) > 60, "the fixture should run to several pages"
    assert max(page for page, _, _ in judged) >= 4
    assert not wrong, (f"{len(wrong)} of {len(judged)} lines differ, first: "
                       f"{wrong[:5]}")
    assert len(model) == len(judged)


@pytest.mark.slow
@pytest.mark.parametrize("paper", sorted(manuscripts().items()),
                         ids=lambda item: item[0])
def test_every_manuscript_agrees_with_libreoffice(paper, tmp_path):
    """Each test manuscript and the article, as `submit` writes them with
    line numbers: every line LibreOffice numbers has the model's page,
    number and first word."""
    _, path = paper
    judged, model, wrong = agreement(word_file(path), tmp_path)
    assert judged, "LibreOffice numbered no lines"
    assert not wrong, (f"{len(wrong)} of {len(judged)} lines differ, first: "
                       f"{wrong[:5]}")
    assert len(model) == len(judged)


@pytest.mark.slow
def test_lines_are_in_reading_order_and_numbered_from_one(tmp_path):
    lines = docxlines.lines(word_file(FIXTURE))
    assert [line.page for line in lines] == sorted(line.page for line in lines)
    by_page = collections.defaultdict(list)
    for line in lines:
        if line.number:
            by_page[line.page].append(line.number)
    assert all(numbers == list(range(1, len(numbers) + 1))
               for numbers in by_page.values())
    # The table's cells and the footnote are laid out but not numbered.
    unnumbered = " ".join(line.text for line in lines if not line.number)
    assert "1820–1849" in unnumbered and "exempt from dues" in unnumbered


def test_a_font_it_cannot_model_is_an_error():
    from pubbuild import wordref

    # Only the reference document's styles matter: its body is pandoc's sample.
    reference = wordref.reference_docx(line_numbers=True, font="Comic Neue")
    with pytest.raises(BuildError, match="Comic Neue"):
        docxlines.lines(reference)


def test_not_a_word_file_is_an_error():
    with pytest.raises(BuildError, match="not a Word file"):
        docxlines.lines(b"plain text")
