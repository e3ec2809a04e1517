"""Accessibility repairs to the DOCX writer's output (pandoc's).

What pandoc's writer leaves out for assistive technology is added around
it: `prepare` readies the writer's private copy of the document, `finish`
takes the writer's bytes and returns them repaired.

- Alt text: pandoc writes an image's `wp:docPr/@descr` from the text in its
  brackets only. The author's own description (`fig-alt`, which the
  figures filter makes `alt`; the crossref filter's for a figure div) is
  put there instead, and an image in a captioned figure with none gets the
  caption, as pandoc gives an implicit figure. The picture's own
  `pic:cNvPr/@descr`, where pandoc writes the image's source (by then a
  whole data: URL, which a reader of that attribute would spell out), gets
  the same description. An image marked `{.decorative}` is marked
  decorative as Word 365 does (`adec:decorative` in the docPr), so a
  screen reader skips it rather than say "picture".
- Headings: a heading is never more than one level below the one before
  it. Pandoc maps `#` to Heading 1, `##` to Heading 2: a manuscript whose
  sections start at `##` (the title being the `#`, as Quarto has it) would
  open on Heading 2, and citeproc's "References" is a Heading 1 after them.
  Each heading is renumbered by its depth in the outline, so `##`,`##`,
  `#` become Heading 1 three times and `##` then `####` Heading 1, 2.

Already right in pandoc's output, and tested rather than repaired: the
title in the Title style, a table's header row repeated on each page
(`w:tblHeader`), the language (`w:lang` in the document defaults and
`dc:language`, from `lang`, which the pipeline defaults to en-US).

The zip is rewritten member by member with its own entry times
(`docxfields.replace_members`); bytes that need no repair are returned as
they came. This module must not know about the manuscript's own content.
"""

from __future__ import annotations

import io
import re
import zipfile

import panflute as pf

from pubbuild import a11ycheck, docxfields

W = docxfields.W
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
PIC = "{http://schemas.openxmlformats.org/drawingml/2006/picture}"
DECORATIVE_NS = "http://schemas.microsoft.com/office/drawing/2017/decorative"
# The extension Word 365 writes for "Mark as decorative"; other readers
# ignore an extension they do not know.
DECORATIVE_URI = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"
DECORATIVE = a11ycheck.DECORATIVE  # the class that marks an image
# Carried from `prepare` to `finish` as the image's title (pandoc writes it
# to docPr/@title) and removed there.
MARKER = "pubbuild-decorative"
HEADING = re.compile(r"Heading([1-9])")


# -- before the writer ---------------------------------------------------------

def prepare(doc: pf.Doc) -> pf.Doc:
    """Every image's description where pandoc's writer takes it from: the
    text in its brackets. `doc` is the writer's private copy."""
    doc.walk(_describe)
    return doc


def _describe(elem, _doc):
    if not isinstance(elem, pf.Image):
        return None
    if DECORATIVE in elem.classes:
        elem.content = []
        elem.title = MARKER
        return None
    # The bracket text is pandoc's already: only an `alt` attribute or,
    # failing both, the figure's caption goes in its place.
    alt = elem.attributes.get("alt", "").strip()
    if not alt and not pf.stringify(elem).strip():
        alt = a11ycheck.caption_text(elem)
    if alt:
        elem.content = [pf.Str(alt)]  # one Str: descr is its text as written
    return None


# -- after the writer ----------------------------------------------------------

def finish(data: bytes) -> bytes:
    """The written .docx with each picture described once, decorative
    images marked and no heading level skipped; `data` itself when there is
    nothing to repair."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        document = source.read("word/document.xml")
    root = etree.fromstring(document)
    changed = _mark_decorative(root)
    changed = _describe_pictures(root) or changed
    changed = _outline(root) or changed
    if not changed:
        return data
    return docxfields.replace_members(data, {"word/document.xml": etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=True)})


def _mark_decorative(root) -> bool:
    from lxml import etree

    marked = [pr for pr in root.iter(f"{WP}docPr") if pr.get("title") == MARKER]
    for properties in marked:
        properties.set("title", "")
        properties.set("descr", "")
        extensions = etree.SubElement(properties, f"{A}extLst")
        extension = etree.SubElement(extensions, f"{A}ext", uri=DECORATIVE_URI)
        etree.SubElement(extension, f"{{{DECORATIVE_NS}}}decorative",
                         nsmap={"adec": DECORATIVE_NS}, val="1")
    return bool(marked)


def _describe_pictures(root) -> bool:
    """Each picture's pic:cNvPr/@descr the drawing's own (docPr's)."""
    changed = False
    for properties in root.iter(f"{WP}docPr"):
        for picture in properties.getparent().iter(f"{PIC}cNvPr"):
            for name in ("descr", "title"):
                value = properties.get(name, "")
                if picture.get(name, "") == value:
                    continue
                if value:
                    picture.set(name, value)
                else:  # no attribute rather than an empty one, as pandoc's
                    del picture.attrib[name]
                changed = True
    return changed


def _outline(root) -> bool:
    """Renumber the Heading N styles of the body's paragraphs by their depth
    in the outline: the open sections' levels are a stack, and a heading
    closes those at its level or below."""
    styles = [style for style in root.iter(f"{W}pStyle")
              if style.getparent().tag == f"{W}pPr"
              and HEADING.fullmatch(style.get(f"{W}val", ""))]
    open_: list[int] = []
    changed = False
    for style in styles:
        level = int(HEADING.fullmatch(style.get(f"{W}val")).group(1))
        while open_ and open_[-1] >= level:
            open_.pop()
        open_.append(level)
        if len(open_) != level:
            style.set(f"{W}val", f"Heading{len(open_)}")
            changed = True
    return changed
