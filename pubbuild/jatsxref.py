"""JATS labels, typed xrefs and ids for what filters/crossref.py numbered.

pandoc's `jats_publishing` writer keeps the crossref filter's marks as
`<named-content>` inside the captions, titles and paragraphs; JATS wants
them as structure. Two small passes around that writer make it so:

- `prepare` (on the writer's private copy of the AST): every `Link.xref`
  gets the JATS `ref-type` of its target's element (pandoc writes the
  attribute as it is), and a listing's div becomes a figure div holding a
  caption div and the code, which pandoc writes as `<fig><caption>`;
- `finish` (on the written XML, one lxml pass):
  - a caption label becomes the `<label>` of its `<fig>`, `<fig-group>`
    (subfigures: inner `<fig>`s labelled "(a)", "(b)"), `<table-wrap>` or
    listing (`<fig fig-type="listing">`), the delimiter after it is
    dropped (JATS renderers print their own), and a table's id moves from
    `<table>` to its `<table-wrap>`, the element a reference points to;
  - a numbered equation's `<named-content>` gives way to its
    `<disp-formula>`, which takes the id and the shown number as
    `<label>(1)</label>`;
  - a section number becomes the `<label>` of its `<sec>` (dropped from a
    title that is not a section's).

Ids stay as pandoc escapes them (`fig:a` is `figU003Aa`, in `id` and
`rid` alike), so every reference still names its target. A document
without these marks comes out byte for byte as pandoc wrote it.

This module must not know how the numbers were found or worded (that is
filters/crossref.py), nor how the JATS is validated or packaged.
"""

from __future__ import annotations

import re

import panflute as pf

# filters/crossref.py's kinds -> JATS @ref-type (a closed list in JATS 1.2
# Publishing); a listing is a <fig fig-type="listing">, so "fig".
REF_TYPES = {"fig": "fig", "tbl": "table", "eq": "disp-formula", "sec": "sec",
             "lst": "fig"}
# How the marks arrive in pandoc's JATS: a Span's class as content-type.
LABEL, DELIM = "xref-label", "xref-delim"
EQUATION, EQUATION_NUMBER = "equation", "equation-number"
SECTION_NUMBER = "header-section-number"
_MARKS = tuple(f'content-type="{name}"'.encode()
               for name in (LABEL, EQUATION, SECTION_NUMBER))
_ROOT = re.compile(rb"<article[\s>]")


# -- before pandoc ---------------------------------------------------------------

def prepare(doc: pf.Doc) -> pf.Doc:
    """The AST for pandoc's JATS writer (a private copy, changed in place)."""
    return doc.walk(_prepare)


def _prepare(elem, _doc):
    if isinstance(elem, pf.Link) and "xref" in elem.classes:
        ref_type = REF_TYPES.get(elem.attributes.get("xref-kind", ""))
        if ref_type:
            elem.attributes["ref-type"] = ref_type
    elif isinstance(elem, pf.Div) and _is_listing(elem):
        caption, *rest = elem.content
        elem.classes = ["fig"]
        elem.attributes = {}
        elem.content = [pf.Div(caption, classes=["caption"]), *rest]
    return None


def _is_listing(div: pf.Div) -> bool:
    """The crossref filter's listing: a labelled paragraph, then the code."""
    if "listing" not in div.classes or len(div.content) < 2:
        return False
    first = div.content[0]
    return (isinstance(first, pf.Para) and bool(first.content)
            and isinstance(first.content[0], pf.Span)
            and LABEL in first.content[0].classes)


# -- after pandoc ----------------------------------------------------------------

def finish(xml: bytes) -> bytes:
    """The written JATS, with labels, ids on the referenced elements and
    (from `prepare`) typed xrefs."""
    if not any(mark in xml for mark in _MARKS):
        return xml
    from lxml import etree

    start = _ROOT.search(xml)
    if start is None:
        return xml
    parser = etree.XMLParser(load_dtd=False, no_network=True,
                             resolve_entities=False, strip_cdata=False,
                             remove_blank_text=False)
    root = etree.fromstring(xml, parser)
    for mark in _named(root, LABEL):
        _caption_label(mark)
    for mark in _named(root, EQUATION):
        _equation(mark)
    for mark in _named(root, SECTION_NUMBER):
        _section_number(mark)
    # The prolog (declaration, DOCTYPE) as pandoc wrote it.
    return xml[:start.start()] + etree.tostring(
        root, encoding="utf-8", xml_declaration=False) + b"\n"


def _named(root, content_type: str) -> list:
    # A list: the passes move and remove what they find.
    return [e for e in root.iter("named-content")
            if e.get("content-type") == content_type]


def _caption_label(mark) -> None:
    """`<caption><p><named-content xref-label>Figure 1</…><named-content
    xref-delim>: </…>Text` -> `<label>Figure 1</label><caption><p>Text`."""
    paragraph = mark.getparent()
    caption = paragraph.getparent()
    owner = caption.getparent() if caption is not None else None
    if (paragraph.tag != "p" or caption.tag != "caption" or owner is None
            or owner.tag not in ("fig", "fig-group", "table-wrap")
            or _before(mark) or owner.find("label") is not None):
        return  # not where the crossref filter puts a label: left alone
    label = _label_from(mark)
    _insert_before(caption, label)
    following = mark.getnext()
    if following is not None and following.get("content-type") == DELIM \
            and following.tag == "named-content":
        _remove(following)
    _remove(mark)
    paragraph.text = (paragraph.text or "").lstrip() or None
    if _is_empty(paragraph):
        _remove(paragraph)
        if _is_empty(caption):
            _remove(caption)
    if owner.tag == "table-wrap":
        _table_id(owner)
    elif owner.tag == "fig" and _holds_only_code(owner):
        owner.set("fig-type", "listing")


def _table_id(wrap) -> None:
    """The id pandoc puts on `<table>` belongs on the `<table-wrap>`, which
    holds the label and caption a reference means."""
    table = wrap.find("table")
    if table is not None and table.get("id") and not wrap.get("id"):
        wrap.set("id", table.attrib.pop("id"))


def _holds_only_code(fig) -> bool:
    content = [c for c in fig if c.tag not in ("label", "caption")]
    return bool(content) and all(c.tag == "code" for c in content)


def _equation(mark) -> None:
    """`<named-content equation id><disp-formula>…</disp-formula><named-content
    equation-number>(1)</…></…>` -> `<disp-formula id><label>(1)</label>…`."""
    formula = mark.find("disp-formula")
    if formula is None:
        return
    number = next((c for c in mark if c.tag == "named-content"
                   and c.get("content-type") == EQUATION_NUMBER), None)
    if mark.get("id") and not formula.get("id"):
        formula.set("id", mark.get("id"))
    if number is not None:
        label = _label_from(number)
        label.tail = formula.text
        formula.text = None
        formula.insert(0, label)
    formula.tail = mark.tail
    mark.getparent().replace(mark, formula)


def _section_number(mark) -> None:
    """The number before a heading's text: its section's `<label>`."""
    title = mark.getparent()
    section = title.getparent()
    first = not _before(mark)
    if (first and title.tag == "title" and section is not None
            and section.tag == "sec" and section.find("label") is None):
        _insert_before(title, _label_from(mark))
    _remove(mark)
    if first and title.text is not None:
        title.text = title.text.lstrip() or None


# -- tree helpers ----------------------------------------------------------------

def _label_from(mark):
    label = mark.makeelement("label", {})
    label.text = mark.text
    for child in list(mark):
        label.append(child)  # emphasis in a label word, if any
    if len(label):
        label[-1].tail = (label[-1].tail or "").rstrip() or None
    else:
        label.text = (label.text or "").strip()
    return label


def _before(mark) -> bool:
    """Whether anything but white space precedes `mark` in its parent."""
    parent = mark.getparent()
    return (mark.getprevious() is not None
            or bool((parent.text or "").strip()))


def _insert_before(anchor, element) -> None:
    """`element` just before `anchor`, indented as `anchor` is."""
    previous = anchor.getprevious()
    parent = anchor.getparent()
    space = previous.tail if previous is not None else parent.text
    anchor.addprevious(element)
    element.tail = space if space and not space.strip() else None


def _remove(element) -> None:
    """`element` out of the tree, the text after it kept in place."""
    parent = element.getparent()
    previous = element.getprevious()
    tail = element.tail or ""
    before = (previous.tail if previous is not None else parent.text) or ""
    # Between indented elements, one indentation stays, not two.
    joined = tail if tail and not (before + tail).strip() else before + tail
    if previous is not None:
        previous.tail = joined or None
    else:
        parent.text = joined or None
    parent.remove(element)


def _is_empty(element) -> bool:
    return not len(element) and not "".join(element.itertext()).strip()
