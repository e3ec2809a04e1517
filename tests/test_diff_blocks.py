"""Tracked changes in the diff's Word file for every kind of block: inserted
and deleted tables, lists, code and figures are tracked as Word tracks
them (runs, paragraph marks, table rows), so that accepting every change
gives NEW and rejecting every change gives OLD."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import ROOT, run_build
from pubbuild import docxtrack, pandoc

FIXTURE = ROOT / "tests" / "manuscripts" / "diff_blocks"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def docx(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("diff-blocks")
    result = run_build("diff", "--files", str(FIXTURE / "old.md"),
                       str(FIXTURE / "new.md"), "--out", str(out),
                       "--author", "Reviewer Two", "--date", "2026-03-01T10:00:00Z")
    assert result.returncode == 0, result.stderr
    return out / "diff" / "new-diff.docx"


def document(path: Path):
    with zipfile.ZipFile(path) as source:
        return etree.fromstring(source.read("word/document.xml"))


def ours(name: str, *, code: bool = True) -> list[str]:
    """The manuscript's text as pandoc's plain writer gives it, one line a
    non-empty line, from the body on."""
    import panflute as pf

    from pubbuild import pipeline

    doc = pipeline.run_filters(pipeline.read(FIXTURE / name), without=("backlinks",))
    if not code:
        doc = doc.walk(lambda e, _d: [] if isinstance(e, pf.CodeBlock) else None)
    out, _ = pandoc.run(["-f", "json", "-t", "plain", "--wrap=none"],
                        pandoc.to_json(doc))
    return body(out)


def body(text: str) -> list[str]:
    """Non-empty lines, whitespace normalised, from the first heading on;
    without a table's rules, which depend on its column widths, and a
    caption's id, which the Word file keeps as a bookmark."""
    lines = [" ".join(re.sub(r" \{#[^}]*\}$", "", line).split())
             for line in text.splitlines() if line.strip(" -")]
    return lines[lines.index("Counts"):]


def words(lines: list[str]) -> list[str]:
    return re.findall(r"\w+", " ".join(lines))


def resolved(path: Path, how: str) -> bytes:
    """The .docx with every change accepted (or rejected) as Word does it:
    what is inserted (deleted) goes, with its paragraphs and table rows;
    what is deleted (inserted) stays, untracked. A paragraph whose mark
    goes must have nothing left in it."""
    root = document(path)
    gone, kept = (f"{W}del", f"{W}ins") if how == "accept" else (f"{W}ins", f"{W}del")
    marks = (f"{W}rPr", f"{W}trPr")   # a paragraph mark's, a row's
    paragraphs = [p for p in root.iter(f"{W}p") if p.find(f"{W}pPr/{W}rPr/{gone}")
                  is not None]
    for mark in [m for m in root.iter(gone) if m.getparent().tag not in marks]:
        mark.getparent().remove(mark)
    for paragraph in paragraphs:
        assert paragraph.find(f".//{W}r") is None, etree.tostring(paragraph)
        paragraph.getparent().remove(paragraph)
    for row in [r for r in root.iter(f"{W}tr")
                if r.find(f"{W}trPr/{gone}") is not None]:
        row.getparent().remove(row)
    for table in [t for t in root.iter(f"{W}tbl") if t.find(f"{W}tr") is None]:
        table.getparent().remove(table)
    for mark in list(root.iter(kept)):
        parent = mark.getparent()
        if parent.tag not in marks:
            for text in mark.iter(f"{W}delText", f"{W}delInstrText"):
                text.tag = f"{W}t" if text.tag == f"{W}delText" else f"{W}instrText"
            for child in list(mark):
                mark.addprevious(child)
        parent.remove(mark)
    return _with_document(path, root)


def _with_document(path: Path, root) -> bytes:
    from pubbuild import docxfields

    return docxfields.replace_members(path.read_bytes(), {
        "word/document.xml": etree.tostring(root, xml_declaration=True,
                                            encoding="UTF-8", standalone=True)})


def plain(data: bytes, *args: str) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "in.docx")
        path.write_bytes(data)
        out, _ = pandoc.run([str(path), *args, "-t", "plain", "--wrap=none"])
    return body(out)


# -- accept all gives NEW, reject all gives OLD --------------------------------

@pytest.mark.slow
@pytest.mark.parametrize(("how", "name"), [("accept", "new.md"), ("reject", "old.md")])
def test_resolving_every_change_as_word_does_gives_that_version(docx, how, name):
    """Line for line, tables, lists, code and figures included."""
    assert plain(resolved(docx, how)) == ours(name)


@pytest.mark.slow
@pytest.mark.parametrize(("how", "name"), [("accept", "new.md"), ("reject", "old.md")])
def test_pandoc_reading_the_changes_gives_that_version(docx, how, name):
    """pandoc's own reader (`--track-changes`), word for word. It keeps
    what Word removes with its tracked paragraph marks and rows, empty
    (table rows, the numbers of list items), reads a tracked figure caption
    as a paragraph of its own and no tracked text in code: those are left
    out here (the test above has them)."""
    lines = [line for line in plain(docx.read_bytes(), f"--track-changes={how}")
             if not re.fullmatch(r"\d+\.|Figure \d+: .*", line)]
    assert words(lines) == words(ours(name, code=False))


# -- the XML -------------------------------------------------------------------

def blocks(root, style: str) -> list:
    return [p for p in root.iter(f"{W}p")
            if p.find(f"{W}pPr/{W}pStyle[@{W}val='{style}']") is not None]


def tracked(paragraph, kind: str) -> bool:
    """The paragraph mark and every run of `paragraph` are tracked as `kind`."""
    runs = list(paragraph.iter(f"{W}r"))
    return (paragraph.find(f"{W}pPr/{W}rPr/{W}{kind}") is not None and bool(runs)
            and all(run.getparent().tag == f"{W}{kind}" for run in runs))


def text(elem, tag: str = "t") -> str:
    return "".join(t.text or "" for t in elem.iter(f"{W}{tag}"))


@pytest.mark.slow
def test_tables_are_tracked_row_by_row_and_cell_by_cell(docx):
    root = document(docx)
    changed, *tables = root.iter(f"{W}tbl")
    # A cell edited: one table, the cell's text tracked, not its rows.
    assert changed.find(f".//{W}trPr/{W}ins") is None
    assert changed.find(f".//{W}trPr/{W}del") is None
    assert [(text(m, "delText"), text(m)) for m in changed.iter(f"{W}del", f"{W}ins")
            ] == [("520", ""), ("", "560")]
    # Inserted and deleted whole: every row, paragraph and run tracked.
    kinds = []
    for table in tables:
        rows = table.findall(f"{W}tr")
        marks = {m.tag for row in rows for m in row.find(f"{W}trPr")
                 if m.tag in (f"{W}ins", f"{W}del")}
        assert len(marks) == 1 and all(row.find(f"{W}trPr") is not None for row in rows)
        kind = marks.pop()[len(W):]
        assert all(tracked(p, kind) for p in table.iter(f"{W}p"))
        kinds.append((kind, text(table, "t" if kind == "ins" else "delText")))
    assert kinds == [("ins", "DayRunnersSaturday7Sunday9"),
                     ("del", "SiteCyclistsNorth12South30")]
    captions = blocks(root, "TableCaption")
    assert [(tracked(p, "ins"), tracked(p, "del")) for p in captions] == [
        (False, False), (True, False), (False, True)]
    # A caption number: a SEQ field in the inserted table, plain text in
    # the deleted one (docxfields); either way tracked.
    assert "SEQ Table" in text(captions[1], "instrText")
    assert text(captions[2], "delText").startswith("Table\u00a02:")


@pytest.mark.slow
def test_lists_code_and_figures_are_tracked(docx):
    root = document(docx)
    items = [p for p in root.iter(f"{W}p") if p.find(f"{W}pPr/{W}numPr") is not None]
    assert [(text(p) or text(p, "delText"), tracked(p, "ins"), tracked(p, "del"))
            for p in items] == [
        ("Wipe the lens.", True, False), ("Replace the battery.", True, False),
        ("Mount the counter on the railing.", False, True),
        ("Check the clock every week.", False, True)]
    code = blocks(root, "SourceCode")
    assert [(tracked(p, "ins"), tracked(p, "del")) for p in code] == [
        (True, False), (False, True)]
    assert text(code[0]) == "counter --dump > counts.csv"
    assert text(code[1], "delText") == "count = read_counter()" and not text(code[1])
    figures = blocks(root, "CaptionedFigure")
    assert [(tracked(p, "ins"), tracked(p, "del")) for p in figures] == [
        (True, False), (False, True)]
    for figure in figures:   # the picture's own run
        assert figure.find(f".//{W}drawing/../..").tag in (f"{W}ins", f"{W}del")
    captions = blocks(root, "ImageCaption")
    assert [(tracked(p, "ins"), tracked(p, "del")) for p in captions] == [
        (True, False), (False, True)]


@pytest.mark.slow
def test_every_mark_has_a_unique_id_an_author_and_a_date(docx):
    root = document(docx)
    marks = list(root.iter(f"{W}ins", f"{W}del"))
    assert len(marks) > 40
    ids = [m.get(f"{W}id") for m in marks]
    assert all(i and i.isdigit() for i in ids) and len(ids) == len(set(ids))
    assert {(m.get(f"{W}author"), m.get(f"{W}date")) for m in marks} == {
        ("Reviewer Two", "2026-03-01T10:00:00Z")}
    assert not list(root.iter(f"{W}t")) or all(
        t.getparent().getparent().tag != f"{W}del" for t in root.iter(f"{W}t"))
    assert not [pi for pi in root.iter(etree.PI)]   # no markers left


def test_a_marked_region_is_tracked_and_its_markers_removed():
    """`docxtrack.track` on its own: a deleted table between markers."""
    xml = (f'<w:document xmlns:w="{W[1:-1]}"><w:body>'
           + docxtrack.begin("deletion", "A & B", "2026-01-02T00:00:00Z")
           + "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>"
           "</w:tbl>" + docxtrack.end()
           + "<w:p><w:r><w:t>kept</w:t></w:r></w:p></w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("word/document.xml", xml)
    with zipfile.ZipFile(io.BytesIO(docxtrack.track(out.getvalue()))) as source:
        result = source.read("word/document.xml").decode("utf-8")
    assert "pubbuild-track" not in result
    assert '<w:trPr><w:del w:author="A &amp; B" w:date="2026-01-02T00:00:00Z"' in result
    assert '<w:pPr><w:rPr><w:del w:author="A &amp; B"' in result
    assert '<w:del w:author="A &amp; B" w:date="2026-01-02T00:00:00Z" w:id="3">' \
           '<w:r><w:delText>x</w:delText></w:r></w:del>' in result
    assert "<w:p><w:r><w:t>kept</w:t></w:r></w:p>" in result
