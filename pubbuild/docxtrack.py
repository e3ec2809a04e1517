"""Tracked changes for whole blocks in a diff's word/document.xml.

Pandoc's DOCX writer tracks only inline Spans (`insertion` / `deletion`
with `author` and `date`); a table, a list, code or a figure inside an
inserted or deleted block comes out as plain, untracked content.
`compare.for_word` therefore brackets every inserted or deleted block
between two markers, raw OpenXML processing instructions that pandoc
writes as they are:

    <?pubbuild-track begin ins AUTHOR DATE?> ... <?pubbuild-track end?>

(`ins` or `del`; author and date %-quoted). `track` finds them again and
marks everything in between as Word marks an inserted or deleted block:

- every run (`w:r`) not yet tracked goes inside a `w:ins` / `w:del` (in a
  deletion its `w:t` becomes `w:delText`, its `w:instrText`
  `w:delInstrText`), a figure's drawing run too;
- every paragraph mark (`w:pPr/w:rPr/w:ins|w:del`), in table cells too, so
  that rejecting an insertion (or accepting a deletion) removes the
  paragraph, a list item, a line of a caption, instead of emptying it;
- every table row (`w:trPr/w:ins|w:del`), so that the table goes with its
  rows.

Then, for the paragraphs pandoc tracked itself, a paragraph whose whole
text is one insertion (or deletion) gets its paragraph mark tracked too,
and every `w:ins` / `w:del` its own `w:id` (pandoc repeats them, and Word
wants annotation ids unique). The markers are removed.
"""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote, unquote

from pubbuild import docxfields

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MARKER = "pubbuild-track"
KINDS = {"insertion": "ins", "deletion": "del"}


def begin(kind: str, author: str, date: str) -> str:
    """The raw OpenXML that opens a tracked region; `kind`: insertion or deletion."""
    return f"<?{MARKER} begin {KINDS[kind]} {quote(author)} {quote(date)}?>"


def end() -> str:
    """The raw OpenXML that closes the region `begin` opened."""
    return f"<?{MARKER} end?>"


def track(data: bytes) -> bytes:
    """The .docx `data` with its marked regions and whole paragraphs
    tracked, unique ids and no markers; the zip rewritten member by member
    with the same entry times (`docxfields.replace_members`)."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        root = etree.fromstring(source.read("word/document.xml"))
    _track_regions(root)
    _track_whole_paragraphs(root)
    next_id = 1 + max((int(e.get(f"{W}id")) for e in root.iter(etree.Element)
                       if e.tag not in (f"{W}ins", f"{W}del")
                       and e.get(f"{W}id", "").isdigit()), default=0)
    for mark in root.iter(f"{W}ins", f"{W}del"):
        mark.set(f"{W}id", str(next_id))
        next_id += 1
    return docxfields.replace_members(data, {"word/document.xml": etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=True)})


# -- the marked regions --------------------------------------------------------

def _track_regions(root) -> None:
    from lxml import etree

    markers = [pi for pi in root.iter(etree.PI) if pi.target == MARKER]
    for parent in dict.fromkeys(pi.getparent() for pi in markers):
        open_: list[tuple[str, str, str]] = []
        for child in list(parent):
            if getattr(child, "target", None) == MARKER:   # a marker
                words = (child.text or "").split()
                if words[:1] == ["begin"] and len(words) == 4:
                    open_.append((words[1], unquote(words[2]), unquote(words[3])))
                elif words[:1] == ["end"] and open_:
                    open_.pop()
                _remove(child)
            elif open_ and isinstance(child.tag, str):
                _track_subtree(child, *open_[-1])


def _remove(node) -> None:
    """Remove `node`, keeping the text that follows it (the indentation)."""
    parent = node.getparent()
    previous = node.getprevious()
    if node.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _track_subtree(elem, kind: str, author: str, date: str) -> None:
    from lxml import etree

    tag = f"{W}{kind}"
    paragraphs = list(elem.iter(f"{W}p"))
    rows = list(elem.iter(f"{W}tr"))
    runs = [run for run in elem.iter(f"{W}r") if not _tracked(run)]
    for paragraph in paragraphs:
        _mark_paragraph(paragraph, tag, author, date)
    for row in rows:
        properties = row.find(f"{W}trPr")
        if properties is None:
            properties = etree.Element(f"{W}trPr")
            before = row.find(f"{W}tblPrEx")
            if before is not None:
                before.addnext(properties)
            else:
                row.insert(0, properties)
        if properties.find(f"{W}ins") is None and properties.find(f"{W}del") is None:
            _mark(etree.SubElement(properties, tag), author, date)
    wrappers = []
    for run in runs:
        previous = run.getprevious()
        if wrappers and previous is wrappers[-1]:
            previous.append(run)   # consecutive runs share one mark
        else:
            wrappers.append(etree.Element(tag))
            _mark(wrappers[-1], author, date)
            run.addprevious(wrappers[-1])
            wrappers[-1].append(run)
        if kind == "del":
            for text in run.iter(f"{W}t", f"{W}instrText"):
                text.tag = f"{W}delText" if text.tag == f"{W}t" else f"{W}delInstrText"


def _tracked(run) -> bool:
    parent = run.getparent()
    while parent is not None:
        if parent.tag in (f"{W}ins", f"{W}del"):
            return True
        parent = parent.getparent()
    return False


def _mark(mark, author: str, date: str) -> None:
    mark.set(f"{W}author", author)
    if date:
        mark.set(f"{W}date", date)


def _mark_paragraph(paragraph, tag: str, author: str, date: str) -> None:
    """Track `paragraph`'s mark (w:pPr/w:rPr/w:ins|w:del), unless it is already."""
    from lxml import etree

    properties = docxfields.paragraph_properties(paragraph)
    run_properties = properties.find(f"{W}rPr")
    if run_properties is None:
        run_properties = etree.Element(f"{W}rPr")
        following = properties.find(f"{W}sectPr")
        if following is None:
            following = properties.find(f"{W}pPrChange")
        if following is None:
            properties.append(run_properties)
        else:
            following.addprevious(run_properties)
    if all(run_properties.find(f"{W}{k}") is None for k in ("ins", "del")):
        mark = etree.Element(tag)
        _mark(mark, author, date)
        run_properties.insert(0, mark)   # ins/del come first in a w:rPr


# -- paragraphs pandoc tracked -------------------------------------------------

def _track_whole_paragraphs(root) -> None:
    """A paragraph whose whole text is one insertion (or deletion) gets its
    paragraph mark tracked too, so that rejecting it in Word removes the
    paragraph instead of leaving an empty one."""
    for paragraph in root.iter(f"{W}p"):
        parts = [child for child in paragraph if isinstance(child.tag, str)
                 and child.tag not in (f"{W}pPr", f"{W}bookmarkStart",
                                       f"{W}bookmarkEnd")]
        kinds = {child.tag for child in parts}
        if len(kinds) != 1 or kinds.isdisjoint({f"{W}ins", f"{W}del"}):
            continue
        first = parts[0]
        _mark_paragraph(paragraph, first.tag, first.get(f"{W}author", ""),
                        first.get(f"{W}date", ""))
