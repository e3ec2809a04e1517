"""The manuscript style of the Word files (pubbuild/wordref.py) as an
editorial office sees it: black headings sized by level, a body-size
abstract, a hanging reference list, single-spaced tables with a repeating
header row, plain captions; in `build.py docx`, the submission's DOCX and
the diff's DOCX alike. Read from the DOCX's own XML (no word processor)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_build
from pubbuild import wordref

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# CT_PPrBase's order for the elements the reference document sets: Word
# refuses a file whose elements are out of order.
PPR_ORDER = ["keepNext", "keepLines", "suppressLineNumbers", "spacing", "ind", "jc",
             "outlineLvl"]


def part(docx: bytes | Path, name: str) -> ET.Element:
    data = docx.read_bytes() if isinstance(docx, Path) else docx
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return ET.fromstring(archive.read(name))


class Styles:
    """word/styles.xml, with a style's properties as Word resolves them:
    the style, then what it is based on, then the document defaults."""

    def __init__(self, docx: bytes | Path):
        self.root = part(docx, "word/styles.xml")
        self.by_id = {style.get(f"{W}styleId"): style
                      for style in self.root.iter(f"{W}style")}

    def own(self, style_id: str, path: str) -> ET.Element | None:
        return self.by_id[style_id].find(path)

    def resolved(self, style_id: str | None, path: str) -> ET.Element | None:
        while style_id is not None:
            found = self.own(style_id, path)
            if found is not None:
                return found
            based = self.by_id[style_id].find(f"{W}basedOn")
            style_id = None if based is None else based.get(f"{W}val")
        kind = "pPr" if path.startswith(f"{W}pPr") else "rPr"
        return self.root.find(f"{W}docDefaults/{W}{kind}Default/{path}")

    def size_pt(self, style_id: str) -> float:
        return int(self.resolved(style_id, f"{W}rPr/{W}sz").get(f"{W}val")) / 2

    def on(self, style_id: str, flag: str) -> bool:
        """Bold, italic: set (and not switched off) anywhere up the chain."""
        found = self.resolved(style_id, f"{W}rPr/{W}{flag}")
        return found is not None and found.get(f"{W}val") not in ("0", "false")

    def spacing(self, style_id: str, attribute: str) -> str | None:
        """One attribute of w:spacing, resolved attribute by attribute."""
        while style_id is not None:
            found = self.own(style_id, f"{W}pPr/{W}spacing")
            if found is not None and found.get(f"{W}{attribute}") is not None:
                return found.get(f"{W}{attribute}")
            based = self.by_id[style_id].find(f"{W}basedOn")
            style_id = None if based is None else based.get(f"{W}val")
        default = self.root.find(f"{W}docDefaults/{W}pPrDefault/{W}pPr/{W}spacing")
        return None if default is None else default.get(f"{W}{attribute}")


@pytest.fixture(scope="module")
def reference() -> Styles:
    return Styles(wordref.reference_docx(line_numbers=True))


def assert_headings_black_and_sized(styles: Styles):
    # (size in pt, bold, italic) per level, as a journal sets its sections.
    expected = {1: (14, True, False), 2: (13, True, False), 3: (12, True, True),
                4: (12, False, True)}
    for level, (size, bold, italic) in expected.items():
        name = f"Heading{level}"
        assert (styles.size_pt(name), styles.on(name, "b"), styles.on(name, "i")) \
            == (size, bold, italic), f"level {level} heading set wrong"
    for level in range(1, 10):
        for name in (f"Heading{level}", f"Heading{level}Char"):
            color = styles.resolved(name, f"{W}rPr/{W}color")
            # pandoc's headings are blue (0F4761, a theme colour Word re-tints).
            assert color is not None and color.get(f"{W}val") == "000000", name
            assert color.get(f"{W}themeColor") is None, name


def test_headings_are_black_and_step_down_by_level(reference):
    assert_headings_black_and_sized(reference)
    # Still headings to Word: the navigation pane and a table of contents.
    for level in (1, 2, 3):
        outline = reference.own(f"Heading{level}", f"{W}pPr/{W}outlineLvl")
        assert outline is not None and outline.get(f"{W}val") == str(level - 1), \
            "not listed in Word's navigation pane"
        assert reference.own(f"Heading{level}", f"{W}pPr/{W}keepNext") is not None, \
            "a heading can be left alone at the foot of a page"


def test_the_title_is_bold_black_and_a_size_above_the_headings(reference):
    assert reference.size_pt("Title") == 16, "title in pandoc's 28 pt poster size"
    assert reference.on("Title", "b"), "title not bold"
    assert reference.size_pt("Title") > reference.size_pt("Heading1"), \
        "title no larger than a section heading"
    assert not reference.on("Author", "b"), "authors' names bold like the title"
    assert reference.size_pt("Author") == 12, "authors' names not at body size"


def test_the_abstract_is_body_size_under_a_bold_heading(reference):
    assert reference.size_pt("Abstract") == reference.size_pt("BodyText") == 12, \
        "abstract smaller than the text"
    assert reference.size_pt("AbstractTitle") == 12, "'Abstract' heading in small type"
    assert reference.on("AbstractTitle", "b"), "'Abstract' heading not bold"
    assert not reference.on("Abstract", "i"), "abstract in italics"


def test_reference_entries_hang_half_an_inch_with_space_between(reference):
    indent = reference.resolved("Bibliography", f"{W}pPr/{W}ind")
    assert indent is not None, "reference list without a hanging indent"
    # 0.5 in: the first line at the margin, the rest indented.
    assert indent.get(f"{W}hanging") == "720", "hanging indent not 0.5 in"
    assert indent.get(f"{W}left") == "720", "entries' first lines not at the margin"
    assert reference.spacing("Bibliography", "after") == "240", \
        "no space between reference entries"
    assert reference.spacing("Bibliography", "line") == "480", \
        "reference list no longer double spaced"


def test_table_cells_single_spaced_and_body_text_double(reference):
    # The table style's paragraph spacing reaches only paragraphs in tables,
    # where Word and LibreOffice put it above the document's defaults.
    table = reference.own("Table", f"{W}pPr/{W}spacing")
    assert table is not None and table.get(f"{W}line") == "240", \
        "table cells double spaced"
    # ...so no paragraph style on the way may set its own line spacing.
    assert reference.spacing("Compact", "line") == "480", "tight lists not double"
    assert all(reference.own(name, f"{W}pPr/{W}spacing") is None
               or reference.own(name, f"{W}pPr/{W}spacing").get(f"{W}line") is None
               for name in ("Compact", "BodyText", "Normal")), \
        "a cell's paragraph style overrides the table's single spacing"
    assert reference.spacing("BodyText", "line") == "480", "text not double spaced"


def test_captions_are_plain_roman_body_size(reference):
    for name in ("Caption", "ImageCaption", "TableCaption"):
        assert not reference.on(name, "i"), f"{name} still italic"
        assert reference.resolved(name, f"{W}rPr/{W}color") is None, f"{name} coloured"
        assert reference.size_pt(name) == 12, f"{name} not body size"
    # A table's caption stays on the page of its table.
    assert reference.own("TableCaption", f"{W}pPr/{W}keepNext") is not None, \
        "a table's caption can end a page without its table"


def test_properties_in_the_order_word_requires(reference):
    for style_id, style in reference.by_id.items():
        children = [child.tag.removeprefix(W) for child in style]
        kinds = [tag for tag in children if tag in ("pPr", "rPr", "tblPr")]
        assert kinds == sorted(kinds, key=["pPr", "rPr", "tblPr"].index), style_id
        ppr = style.find(f"{W}pPr")
        if ppr is not None:
            tags = [c.tag.removeprefix(W) for c in ppr if c.tag.removeprefix(W)
                    in PPR_ORDER]
            assert tags == sorted(tags, key=PPR_ORDER.index), style_id


def test_the_page_number_line_is_not_numbered():
    footer = part(wordref.reference_docx(line_numbers=True), "word/footer1.xml")
    ppr = footer.find(f"{W}p/{W}pPr")
    assert ppr.find(f"{W}suppressLineNumbers") is not None, \
        "the page number counted as a line of text"
    tags = [c.tag.removeprefix(W) for c in ppr]
    assert tags == sorted(tags, key=PPR_ORDER.index), "Word refuses the footer"


def assert_manuscript_style(docx: Path, line_numbers: bool):
    styles = Styles(docx)
    assert_headings_black_and_sized(styles)
    assert styles.size_pt("Abstract") == 12, "abstract smaller than the text"
    indent = styles.resolved("Bibliography", f"{W}pPr/{W}ind")
    assert indent is not None and indent.get(f"{W}hanging") == "720", \
        "reference list without a hanging indent"
    assert styles.spacing("BodyText", "line") == "480", "text not double spaced"
    fonts = {f.get(f"{W}ascii") for f in styles.root.iter(f"{W}rFonts")}
    assert fonts == {"Times New Roman"}, "not in the manuscript's Times"
    document = part(docx, "word/document.xml")
    numbered = document.find(f"{W}body/{W}sectPr/{W}lnNumType") is not None
    assert numbered == line_numbers, "line numbers missing" if line_numbers else \
        "line numbers in a file that should have none"
    return document


def shape(element: ET.Element) -> list:
    """An element's tags and attributes, whatever the whitespace around them."""
    return [(node.tag, sorted(node.attrib.items())) for node in element.iter()]


def used(document: ET.Element) -> set[str]:
    return {p.get(f"{W}val") for p in document.iter(f"{W}pStyle")}


@pytest.mark.slow
def test_build_docx_is_in_the_manuscript_style(tmp_path):
    result = run_build("--out", str(tmp_path), "docx")
    assert result.returncode == 0, result.stderr
    document = assert_manuscript_style(tmp_path / "article.docx", line_numbers=False)
    # The styles set above are the ones the article's paragraphs use.
    assert {"Heading1", "Heading2", "Heading3", "Abstract", "Bibliography"} \
        <= used(document), "the article's paragraphs do not use the styles"


@pytest.mark.slow
def test_a_table_repeats_its_header_row_in_single_spaced_cells(tmp_path):
    paper = ROOT / "tests" / "manuscripts" / "crossref" / "paper.md"
    result = run_build("--manuscript", str(paper), "--out", str(tmp_path), "docx")
    assert result.returncode == 0, result.stderr
    document = part(tmp_path / "paper.docx", "word/document.xml")
    table = document.find(f".//{W}tbl")
    assert table is not None, "the table is missing from the Word file"
    rows = table.findall(f"{W}tr")
    header = rows[0].find(f"{W}trPr/{W}tblHeader")
    # Repeated at the top of each page the table runs onto.
    assert header is not None and header.get(f"{W}val") in (None, "on", "true", "1"), \
        "the header row does not repeat on the next page"
    assert all(row.find(f"{W}trPr/{W}tblHeader") is None for row in rows[1:]), \
        "body rows repeated on every page"
    cell_styles = {p.get(f"{W}val") for p in table.iter(f"{W}pStyle")}
    # Compact sets no line spacing, so the table style's single spacing holds.
    assert cell_styles == {"Compact"}, "cells in a style that double-spaces them"
    assert {"TableCaption", "ImageCaption"} <= used(document), "captions unstyled"


@pytest.mark.slow
def test_submission_docx_is_in_the_manuscript_style(tmp_path):
    result = run_build("submit", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_manuscript_style(tmp_path / "submission" / "article.docx", line_numbers=True)


@pytest.mark.slow
def test_diff_docx_is_set_like_the_submission_with_line_numbers(tmp_path):
    fixture = ROOT / "tests" / "manuscripts" / "diff"
    result = run_build("diff", "--files", str(fixture / "old.md"),
                       str(fixture / "new.md"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    docx = tmp_path / "diff" / "new-diff.docx"
    document = assert_manuscript_style(docx, line_numbers=True)
    assert document.find(f".//{W}ins") is not None, "tracked changes lost"
    # The same styles as the submission's reference document.
    ours, submission = Styles(docx), Styles(wordref.reference_docx(line_numbers=True))
    for style_id in wordref.RESTYLE:
        assert shape(ours.by_id[style_id]) == shape(submission.by_id[style_id]), \
            f"{style_id} differs from the submission's"
