"""The Word file as assistive technology reads it (pubbuild/a11ydocx.py),
checked in its XML: the title in the Title style and the sections in
Heading 1..n with no level skipped; every picture described
(`wp:docPr/@descr`, and the picture's own `pic:cNvPr` the same, never its
source), a decorative one marked so; a table's header row repeated on each
page; the language in the document defaults and the core properties.

Over the article, every test manuscript, the anonymised submission, and
the fixture with the problems an author must fix (tests/a11y_fixtures/bad).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import panflute as pf
import pytest
from lxml import etree

from conftest import ROOT, finished, manuscripts
from pubbuild import a11ydocx, formats, pandoc

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = a11ydocx.WP
PIC = a11ydocx.PIC
BAD = ROOT / "tests" / "a11y_fixtures" / "bad" / "paper.md"
MANUSCRIPTS = list(manuscripts(revisions=True).values())


def word(paper: Path, anonymous: bool = False) -> tuple[bytes, str]:
    """The manuscript's Word file as `build.py docx` writes it (as `submit`
    anonymises it, if asked), and the manuscript's language."""
    doc, job = finished(paper, anonymous)
    return formats.word(doc, job), str(doc.get_metadata("lang"))


class Docx:
    """The parts of a .docx these tests read."""

    def __init__(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.document = etree.fromstring(archive.read("word/document.xml"))
            self.styles = etree.fromstring(archive.read("word/styles.xml"))
            self.core = etree.fromstring(archive.read("docProps/core.xml"))

    def paragraph_styles(self) -> list[str]:
        return [p.get(f"{W}val") for p in self.document.iter(f"{W}pStyle")
                if p.getparent().tag == f"{W}pPr"]

    def headings(self) -> list[int]:
        return [int(s[len("Heading"):]) for s in self.paragraph_styles()
                if a11ydocx.HEADING.fullmatch(s)]

    def pictures(self) -> list[tuple[str, bool]]:
        """(description, marked decorative) of each drawing, in order."""
        return [(pr.get("descr", ""), _decorative(pr))
                for pr in self.document.iter(f"{WP}docPr")]

    def header_rows(self) -> list[list[bool]]:
        """For each table, which rows repeat as header rows."""
        return [[row.find(f"{W}trPr/{W}tblHeader") is not None
                 for row in table.findall(f"{W}tr")]
                for table in self.document.iter(f"{W}tbl")]

    def languages(self) -> tuple[str | None, str | None]:
        lang = self.styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
        dc = self.core.find("{http://purl.org/dc/elements/1.1/}language")
        return (None if lang is None else lang.get(f"{W}val"),
                None if dc is None else dc.text)


def _decorative(properties) -> bool:
    return any(mark.get("val") == "1" for mark in properties.iter(
        f"{{{a11ydocx.DECORATIVE_NS}}}decorative"))


def assert_accessible(docx: Docx, lang: str, where: str) -> None:
    styles = docx.paragraph_styles()
    assert styles[0] == "Title", f"{where}: the title is not in the Title style"
    levels = docx.headings()
    assert levels and levels[0] == 1, f"{where}: sections open on Heading {levels[:1]}"
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"{where}: Heading {before} then Heading {after}"
    for properties in docx.document.iter(f"{WP}docPr"):
        described = properties.get("descr", "").strip()
        assert described or _decorative(properties), \
            f"{where}: picture {properties.get('id')} has no alt text"
        for picture in properties.getparent().iter(f"{PIC}cNvPr"):
            # pandoc writes the image's source here: a whole data: URL.
            assert picture.get("descr", "") == properties.get("descr"), \
                f"{where}: the picture's own description is not its alt text"
    for table, rows in zip(docx.document.iter(f"{W}tbl"), docx.header_rows(),
                           strict=True):
        look = table.find(f"{W}tblPr/{W}tblLook")
        has_header = look is not None and look.get(f"{W}firstRow") == "1"
        assert rows[1:] == [False] * (len(rows) - 1), f"{where}: body rows repeat"
        assert rows[0] == has_header, f"{where}: header row not repeated"
    assert docx.languages() == (lang, lang), f"{where}: language not {lang}"


# -- every manuscript --------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("paper", MANUSCRIPTS,
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_every_manuscript_reads_well_in_word(paper):
    data, lang = word(paper)
    assert_accessible(Docx(data), lang, str(paper.relative_to(ROOT)))


def test_sections_under_the_title_start_at_heading_1():
    # `##` sections (the title being the `#`), and citeproc's References a
    # `#`: pandoc would write Heading 2, 2, 1.
    data, lang = word(ROOT / "tests" / "manuscripts" / "second" / "paper.md")
    docx = Docx(data)
    assert docx.headings() == [1, 1, 1]
    assert_accessible(docx, lang, "second")
    assert lang == "en-GB"


def test_fig_alt_is_the_pictures_description():
    data, _ = word(ROOT / "tests" / "manuscripts" / "second" / "paper.md")
    # The manuscript's fig-alt, not the caption pandoc would repeat.
    assert Docx(data).pictures() == [
        ("A bar chart with four blue bars of heights 40, 90, 130 and 70.", False)]


@pytest.mark.slow
def test_the_anonymised_submission_reads_well_in_word():
    data, lang = word(ROOT / "manuscript" / "article.md", anonymous=True)
    docx = Docx(data)
    assert_accessible(docx, lang, "manuscript-anonymous.docx")
    assert docx.headings()[:6] == [1, 1, 1, 1, 1, 2]


# -- the fixture with the problems -------------------------------------------

@pytest.fixture(scope="module")
def bad() -> Docx:
    data, lang = word(BAD)
    assert lang == "en-GB"
    return Docx(data)


def test_bad_headings_renumbered_without_a_gap(bad):
    # #, ###, ##, ##, #####, and citeproc's # References.
    assert bad.headings() == [1, 2, 2, 2, 3, 1]


def test_bad_pictures_described_where_the_author_did(bad):
    assert bad.pictures() == [
        ("", False),  # inline, nothing in the brackets: check warns
        ("", False),  # alone, nothing in the brackets: check warns
        ("Weekly totals before and after the flood.", False),  # the caption
        ("Line chart of hourly counts: two peaks, at 8 and 17 h, the evening "
         "one higher.", False),  # fig-alt
        ("", True),  # {.decorative}
    ]
    # No marker left behind, and no source in a description.
    text = etree.tostring(bad.document).decode()
    assert a11ydocx.MARKER not in text and 'descr="data:' not in text


def test_bad_only_the_table_with_a_header_repeats_one(bad):
    assert bad.header_rows() == [[False, False], [True, False]]


def test_bad_language_from_the_front_matter(bad):
    assert bad.languages() == ("en-GB", "en-GB")


def test_same_bytes_from_two_builds():
    assert word(BAD)[0] == word(BAD)[0]


# -- finish and prepare on their own -----------------------------------------

DOCUMENT = (
    '<w:document xmlns:w="{w}"><w:body>'
    '<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr></w:p>'
    + "".join(f'<w:p><w:pPr><w:pStyle w:val="Heading{n}"/></w:pPr>'
              f'<w:r><w:rPr><w:rStyle w:val="Heading{n}Char"/></w:rPr></w:r></w:p>'
              for n in (2, 4, 3, 2, 1, 3))
    + "</w:body></w:document>").format(w=W[1:-1])


def zipped(document: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n, (name, text, method) in enumerate([
                ("[Content_Types].xml", "<Types/>", zipfile.ZIP_STORED),
                ("word/document.xml", document, zipfile.ZIP_DEFLATED),
                ("word/styles.xml", "<styles/>", zipfile.ZIP_DEFLATED),
                ("docProps/core.xml", "<core/>", zipfile.ZIP_DEFLATED)]):
            info = zipfile.ZipInfo(name, date_time=(2001, 2, 3, 4, 5, 6 + 2 * n))
            info.compress_type = method
            archive.writestr(info, text)
    return out.getvalue()


def test_finish_renumbers_headings_by_their_depth():
    docx = Docx(a11ydocx.finish(zipped(DOCUMENT)))
    # ## opens; #### under it is its child; ### closes it and is a child of
    # ##; ## a sibling of the first; # another top; ### its child.
    assert docx.headings() == [1, 2, 2, 1, 1, 2]
    # Only paragraph styles: the runs' character styles stay as they were.
    chars = [s.get(f"{W}val") for s in docx.document.iter(f"{W}rStyle")]
    assert chars == [f"Heading{n}Char" for n in (2, 4, 3, 2, 1, 3)]


def test_finish_keeps_the_zip_as_it_was_but_for_the_document():
    before = zipped(DOCUMENT)
    after = a11ydocx.finish(before)
    with zipfile.ZipFile(io.BytesIO(before)) as old, \
            zipfile.ZipFile(io.BytesIO(after)) as new:
        assert [(i.filename, i.date_time, i.compress_type) for i in old.infolist()] \
            == [(i.filename, i.date_time, i.compress_type) for i in new.infolist()]
        for name in ("[Content_Types].xml", "word/styles.xml", "docProps/core.xml"):
            assert old.read(name) == new.read(name)
        assert old.read("word/document.xml") != new.read("word/document.xml")
    assert a11ydocx.finish(after) == after  # nothing left to repair


def test_finish_returns_the_bytes_it_was_given_when_all_is_well():
    document = DOCUMENT.replace("Heading4", "Heading3")
    for n in (2, 3):
        document = document.replace(f'"Heading{n}"', f'"Heading{n - 1}"')
    data = zipped(document)
    assert Docx(data).headings() == [1, 2, 2, 1, 1, 2]
    assert a11ydocx.finish(data) is data


def _images(markdown: str) -> list[pf.Image]:
    doc = a11ydocx.prepare(pandoc.parse_markdown(markdown, Path("paper.md")))
    found = []
    doc.walk(lambda e, _d: found.append(e) if isinstance(e, pf.Image) else None)
    return found


def test_prepare_puts_each_description_where_the_writer_reads_it():
    images = _images(
        '![Caption.](a.png){alt="What it shows."}\n\n'
        "Inline ![](b.png) image.\n\n"
        "![](c.png){.decorative}\n")
    assert [pf.stringify(image) for image in images] == ["What it shows.", "", ""]
    assert [image.title for image in images] == ["", "", a11ydocx.MARKER]


def test_prepare_gives_a_captioned_figure_without_alt_its_caption():
    figure = pf.Figure(pf.Plain(pf.Image(url="a.png")),
                       caption=pf.Caption(pf.Plain(*pandoc.inlines("Nests by year."))))
    doc = a11ydocx.prepare(pf.Doc(figure))
    assert pf.stringify(doc.content[0].content[0].content[0]) == "Nests by year."
