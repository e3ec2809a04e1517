"""Word fields for the numbers filters/crossref.py wrote, so that Word's
"Update fields" (and LibreOffice, which recomputes on load) keeps them.

Before pandoc's DOCX writer (`prepare`, on a private copy of the AST):

- a caption number (figure, table, listing) becomes a field
  `SEQ <label> \\* ARABIC` whose cached result is the number crossref
  computed, inside a bookmark `_Ref_<id>`. The identifier is the caption's
  own label word ("Figure", "Abbildung", "Supplementary_Figure"), because
  that is what Word's Insert Caption writes: a caption the author adds in
  Word continues the same sequence, and Insert Table of Figures finds ours
  under the label it shows. Where a label is no identifier Word accepts, or
  two kinds share a word, the kind's English name is used instead;
- a subfigure's "(a)" stays text: its letter is its place among its
  siblings and never changes when figures are renumbered; a reference
  "Figure 2b" is a REF to the parent figure's number followed by "b";
- a numbered equation becomes one paragraph: TAB, the formula (an inline
  m:oMath, which can share a line with text where an m:oMathPara cannot),
  TAB, "(", `SEQ Equation`, ")". `finish` gives the paragraph a centre tab
  stop at the middle of the text column and a right one at its edge;
- a referenced section's number (plain text, Word does not number our
  headings) gets a bookmark;
- a reference becomes `REF <bookmark> \\h` (a field, hyperlinked) whose
  cached result is the number; "Figure ", "(" and ")" stay plain text.

Every SEQ field's cached number is what Word's recount gives (captions are
numbered in reading order, subfigures and deleted text are not counted),
so updating fields changes nothing the reader sees. Deleted text of a
tracked-changes diff keeps its numbers as plain text: it is the old
version's numbering, and a field there would be counted by Word.

Fields are complex fields (w:fldChar begin/separate/end), which Word writes
and LibreOffice imports (SEQ as number ranges, REF as bookmark references);
not marked dirty, since Word then asks the reader whether to update.

After the writer (`finish`, on the .docx bytes): the bookmarks get their
w:id (pandoc numbers its own; ours carry a placeholder until then) and the
equation paragraphs their tab stops, computed from the page size, margins
and columns of the section they are in (the submission reference document
sets A4; pandoc's default sets none, and Word then uses US Letter). A
document without any of crossref's marks comes out byte for byte as
pandoc wrote it.

This module must not know the manuscript's syntax (Quarto, pandoc-crossref,
LaTeX): it reads only the marks crossref leaves. Nor anything of the other
formats.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import panflute as pf

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = f"{{{W_NS}}}"
NBSP = "\u00a0"

# The SEQ identifier of a kind whose label cannot be one.
FALLBACK = {"fig": "Figure", "tbl": "Table", "lst": "Listing", "eq": "Equation"}
CAPTIONED = ("fig", "tbl", "lst")
# Word: a bookmark or SEQ name starts with a letter (a bookmark may start
# with "_", which hides it like Word's own cross-reference bookmarks), has
# only letters, digits and "_", and at most 40 characters.
LONGEST = 40
BOOKMARK_PREFIX = "_Ref_"
# Bookmark ids until `finish` numbers them after pandoc's own.
PLACEHOLDER = "pubbuild-"
# Marks an equation paragraph for `finish`, which removes it: an empty
# bookmark, since pandoc passes it through and any reader accepts it.
EQUATION_MARK = "_pubbuild_equation"
# Text of a tracked-changes diff that is the old version's only.
DELETED = {"deletion", "block-deletion", "moved-from"}


@dataclass
class Anchor:
    """A bookmark around a target's number, and the number it holds."""

    bookmark: str
    number: str


@dataclass
class Fields:
    """What one `prepare` run found and made."""

    referenced: set = field(default_factory=set)        # ids references name
    subfigures: dict = field(default_factory=dict)      # id -> (parent id, letter)
    sequences: dict = field(default_factory=dict)       # kind -> SEQ identifier
    anchors: dict = field(default_factory=dict)         # id -> Anchor
    names: set = field(default_factory=set)             # bookmark names given
    bookmarks: int = 0                                  # placeholders given

    def bookmark(self, ident: str, number: str, inlines: list) -> list:
        """`inlines` inside a new bookmark named after `ident`, which
        references to `ident` (showing `number`) will name."""
        if not ident or ident in self.anchors:
            return inlines
        name = self._name(ident)
        self.anchors[ident] = Anchor(name, number)
        self.bookmarks += 1
        mark = f"{PLACEHOLDER}{self.bookmarks}"
        return [_raw(f'<w:bookmarkStart w:id="{mark}" w:name={quoteattr(name)}/>'),
                *inlines, _raw(f'<w:bookmarkEnd w:id="{mark}"/>')]

    def _name(self, ident: str) -> str:
        """`_Ref_` and the id in the letters Word allows; cut to 40, and a
        number added where two ids come out alike ("fig-a", "fig:a"). Given
        in document order, so the same document gets the same names."""
        base = BOOKMARK_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", ident)
        name, count = base[:LONGEST], 1
        while name in self.names:
            count += 1
            suffix = f"_{count}"
            name = base[:LONGEST - len(suffix)] + suffix
        self.names.add(name)
        return name


# -- before the writer -------------------------------------------------------

def prepare(doc: pf.Doc) -> pf.Doc:
    """The AST for pandoc's DOCX writer (a private copy), with fields."""
    fields = Fields()
    if not _survey(doc, fields):
        return doc  # nothing numbered: the writer sees what it always saw
    doc.walk(lambda elem, _doc: _target(elem, fields))
    doc.walk(lambda elem, _doc: _reference(elem, fields))
    return doc


def _survey(doc: pf.Doc, fields: Fields) -> bool:
    """Which ids are referenced, which figures are subfigures, and each
    kind's SEQ identifier; whether there is anything to do."""
    labels: dict[str, str] = {}
    found = False

    def look(elem, _doc):
        nonlocal found
        if isinstance(elem, pf.Link) and "xref" in elem.classes:
            found = True
            fields.referenced.add(elem.attributes.get("xref-id", ""))
        elif isinstance(elem, pf.Span) and "xref-label" in elem.classes:
            found = True
            kind = elem.attributes.get("xref-kind", "")
            label = _label_word(elem)
            if kind in CAPTIONED and label is not None:
                labels.setdefault(kind, label)
        elif isinstance(elem, pf.Span) and "equation" in elem.classes:
            found = True
            number = elem.attributes.get("xref-number", "")
            alt = elem.attributes.get("xref-alt", "")
            if number and alt.endswith(number):
                labels.setdefault("eq", alt[:-len(number)].strip())
        elif isinstance(elem, pf.Figure) and "subfigures" in elem.classes:
            parent = _label_of(elem.caption)
            for inner in elem.content:
                own = _label_of(inner.caption) if isinstance(inner, pf.Figure) else None
                if parent is None or own is None or not inner.identifier:
                    continue
                number, parent_number = (label.attributes.get("xref-number", "")
                                         for label in (own, parent))
                if number.startswith(parent_number) and number != parent_number:
                    fields.subfigures[inner.identifier] = (
                        elem.identifier, number[len(parent_number):])
    doc.walk(look)
    for kind in (*CAPTIONED, "eq"):
        # Word writes a label with spaces with "_" ("Supplementary_Figure").
        label = re.sub(r"\s+", "_", labels.get(kind, "").strip())
        candidates = [label, FALLBACK[kind], f"{FALLBACK[kind]}_{kind}"]
        fields.sequences[kind] = next(
            name for name in candidates if re.fullmatch(r"[^\W\d_]\w{0,39}", name)
            and name not in fields.sequences.values())
    return found


def _target(elem, fields: Fields):
    """A caption label, an equation or a section number: its number a SEQ
    field (sections: kept as text) inside a bookmark."""
    if _deleted(elem):
        return None
    if isinstance(elem, pf.Span) and "xref-label" in elem.classes:
        kind = elem.attributes.get("xref-kind", "")
        number = elem.attributes.get("xref-number", "")
        last = elem.content[-1] if elem.content else None
        if kind not in CAPTIONED or not isinstance(last, pf.Str) or last.text != number:
            return None  # a subfigure's "(a)", or a label we do not know
        seq = _field(f"SEQ {fields.sequences[kind]} \\* ARABIC", [pf.Str(number)])
        elem.content = [*elem.content[:-1],
                        *fields.bookmark(_owner_id(elem, kind), number, seq)]
        return None
    if isinstance(elem, pf.Span) and "equation" in elem.classes:
        return _equation(elem, fields)
    if isinstance(elem, pf.Para | pf.Plain):
        return _alone(elem)
    if isinstance(elem, pf.Header) and elem.identifier in fields.referenced and (
            elem.content and isinstance(elem.content[0], pf.Span)
            and "header-section-number" in elem.content[0].classes):
        span = elem.content[0]
        number = pf.stringify(span)
        span.content = fields.bookmark(elem.identifier, number, list(span.content))
    return None


def _equation(span: pf.Span, fields: Fields):
    """TAB, the formula inline, TAB, "(", the SEQ field, ")"; the paragraph
    marked for `finish`, which sets the tab stops."""
    math = next((item for item in span.content if isinstance(item, pf.Math)), None)
    number = span.attributes.get("xref-number", "")
    if math is None or not number:
        return None
    seq = _field(f"SEQ {fields.sequences['eq']} \\* ARABIC", [pf.Str(number)])
    tab = _raw("<w:r><w:tab/></w:r>")
    fields.bookmarks += 1
    mark = f"{PLACEHOLDER}{fields.bookmarks}"
    span.content = [_raw(f'<w:bookmarkStart w:id="{mark}" w:name="{EQUATION_MARK}"/>'
                         f'<w:bookmarkEnd w:id="{mark}"/>'), tab,
                    pf.Math(math.text, format="InlineMath"), tab, pf.Str("("),
                    *fields.bookmark(span.identifier, number, seq), pf.Str(")")]
    return None


def _alone(block):
    """A paragraph with a numbered equation and text around it, split so
    that the equation has its line to itself (as pandoc does for an
    unnumbered display formula)."""
    parts: list[list] = [[]]
    for item in block.content:
        if isinstance(item, pf.Span) and "equation" in item.classes:
            parts += [[item], []]
        else:
            parts[-1].append(item)
    if len(parts) == 1:
        return None
    blocks = []
    for part in parts:
        while part and isinstance(part[0], pf.Space | pf.SoftBreak | pf.LineBreak):
            part.pop(0)
        while part and isinstance(part[-1], pf.Space | pf.SoftBreak | pf.LineBreak):
            part.pop()
        if part:
            blocks.append(type(block)(*part))
    return blocks if len(blocks) > 1 else None


def _reference(elem, fields: Fields):
    """A Link.xref: its prefix as text, its number a REF field."""
    if not (isinstance(elem, pf.Link) and "xref" in elem.classes) or _deleted(elem):
        return None
    ident = elem.attributes.get("xref-id", "")
    number = elem.attributes.get("xref-number", "")
    last = elem.content[-1] if elem.content else None
    if not isinstance(last, pf.Str):
        return None
    letter = ""
    anchor = fields.anchors.get(ident)
    if ident in fields.subfigures:
        parent, letter = fields.subfigures[ident]
        anchor = fields.anchors.get(parent)
    if anchor is None or anchor.number + letter != number or number not in last.text:
        return None  # a number no bookmark holds: the link stays as it was
    before, _, after = last.text.partition(number)
    ref = _field(f"REF {anchor.bookmark} \\h", [pf.Str(anchor.number)])
    shown = [pf.Str(before)] if before else []
    shown += ref + [pf.Str(text) for text in (letter, after) if text]
    return [*elem.content[:-1], *shown]


def _field(instruction: str, result: list) -> list:
    """A complex field: begin, its instruction, separate, the cached result
    (pandoc writes it as the text around it is written), end."""
    return [_raw('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'),
            _raw(f'<w:r><w:instrText xml:space="preserve"> {escape(instruction)} '
                 "</w:instrText></w:r>"),
            _raw('<w:r><w:fldChar w:fldCharType="separate"/></w:r>'),
            *result,
            _raw('<w:r><w:fldChar w:fldCharType="end"/></w:r>')]


def _raw(xml: str) -> pf.RawInline:
    return pf.RawInline(xml, format="openxml")


def _label_word(label: pf.Span) -> str | None:
    """"Figure" in "Figure 1": the label's text before its number."""
    if not label.content or not isinstance(label.content[-1], pf.Str):
        return None
    words = "".join(pf.stringify(item) for item in label.content[:-1])
    return words.replace(NBSP, " ").strip() or None


def _label_of(caption) -> pf.Span | None:
    for block in caption.content if caption is not None else []:
        if isinstance(block, pf.Plain | pf.Para):
            first = block.content[0] if block.content else None
            if isinstance(first, pf.Span) and "xref-label" in first.classes:
                return first
            return None
    return None


def _owner_id(label: pf.Span, kind: str) -> str:
    """The id of the figure, table or listing a caption label belongs to."""
    owner = {"fig": pf.Figure, "tbl": pf.Table, "lst": pf.Div}[kind]
    elem = label.parent
    while elem is not None and not isinstance(elem, owner):
        elem = elem.parent
    return elem.identifier if elem is not None else ""


def _deleted(elem) -> bool:
    while elem is not None:
        if isinstance(elem, pf.Span | pf.Div) and DELETED & set(elem.classes):
            return True
        elem = elem.parent
    return False


# -- after the writer ----------------------------------------------------------

def finish(data: bytes) -> bytes:
    """The written .docx, repaired where pandoc's writer cannot say it:
    bookmark ids, and the tab stops of the equation paragraphs."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        document = source.read("word/document.xml")
    if f'w:id="{PLACEHOLDER}'.encode() not in document:
        return data  # `prepare` made nothing: the bytes pandoc wrote
    from lxml import etree

    root = etree.fromstring(document)
    for paragraph in _equation_paragraphs(root):
        _tab_stops(paragraph)
    _number_bookmarks(root)
    return replace_members(data, {"word/document.xml": etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=True)})


def paragraph_properties(paragraph):
    """A w:p's w:pPr, made (first, where the schema wants it) if missing."""
    from lxml import etree

    properties = paragraph.find(f"{W}pPr")
    if properties is None:
        properties = etree.Element(f"{W}pPr")
        paragraph.insert(0, properties)
    return properties


def replace_members(data: bytes, members: dict[str, bytes]) -> bytes:
    """The zip `data` with `members` (name -> bytes) in place of its own:
    every entry rewritten in its order with its own ZipInfo (time,
    compression), so equal input gives equal bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        infos = source.infolist()
        contents = {info.filename: source.read(info) for info in infos}
    contents.update(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in infos:
            target.writestr(info, contents[info.filename])
    return out.getvalue()


def _number_bookmarks(root) -> None:
    """Our bookmarks' placeholder ids become numbers after every id pandoc
    (and the tracked changes) used: Word wants them unique."""
    from lxml import etree

    ids = [element.get(f"{W}id", "") for element in root.iter(etree.Element)]
    next_id = 1 + max((int(i) for i in ids if i.isdigit()), default=0)
    given: dict[str, str] = {}
    for element in root.iter(f"{W}bookmarkStart", f"{W}bookmarkEnd"):
        mark = element.get(f"{W}id", "")
        if mark.startswith(PLACEHOLDER):
            if mark not in given:
                given[mark] = str(next_id)
                next_id += 1
            element.set(f"{W}id", given[mark])


def _equation_paragraphs(root) -> list:
    """The paragraphs `prepare` marked as numbered equations, unmarked.
    (Whitespace is all the text WordprocessingML has between elements, so
    nothing is lost with a removed element's tail.)"""
    marks = [mark for mark in root.iter(f"{W}bookmarkStart")
             if mark.get(f"{W}name") == EQUATION_MARK]
    ids = {mark.get(f"{W}id") for mark in marks}
    paragraphs = [next(mark.iterancestors(f"{W}p"), None) for mark in marks]
    ends = [end for end in root.iter(f"{W}bookmarkEnd") if end.get(f"{W}id") in ids]
    for end in ends:
        end.getparent().remove(end)
    for mark in marks:
        mark.getparent().remove(mark)
    return [paragraph for paragraph in paragraphs if paragraph is not None]


# The children of w:pPr that come before w:tabs (ECMA-376, CT_PPrBase).
_BEFORE_TABS = {f"{W}{name}" for name in (
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr",
    "widowControl", "numPr", "suppressLineNumbers", "pBdr", "shd")}
# Word's page when a section does not say (US Letter, 1 inch margins), twips.
_DEFAULT_PAGE = {"width": 12240, "left": 1440, "right": 1440}


def _tab_stops(paragraph) -> None:
    """A centre tab stop in the middle of the text column, a right one at
    its edge (positions from the left margin, in twips)."""
    from lxml import etree

    width = _column_width(paragraph)
    properties = paragraph_properties(paragraph)
    tabs = properties.find(f"{W}tabs")
    if tabs is None:
        tabs = etree.Element(f"{W}tabs")
        position = 0
        for index, child in enumerate(properties):
            if child.tag in _BEFORE_TABS:
                position = index + 1
        properties.insert(position, tabs)
    for kind, where in (("center", width // 2), ("right", width)):
        stop = etree.SubElement(tabs, f"{W}tab")
        stop.set(f"{W}val", kind)
        stop.set(f"{W}pos", str(where))


def _column_width(paragraph) -> int:
    """The text width of the paragraph's section, or of one of its columns."""
    own = paragraph.find(f"{W}pPr/{W}sectPr")
    following = paragraph.xpath("following::w:sectPr[1]", namespaces={"w": W_NS})
    section = own if own is not None else (following[0] if following else None)

    def twips(path: str, name: str, default: int) -> int:
        element = section.find(path) if section is not None else None
        value = element.get(f"{W}{name}", "") if element is not None else ""
        return int(value) if value.lstrip("-").isdigit() else default

    width = (twips(f"{W}pgSz", "w", _DEFAULT_PAGE["width"])
             - twips(f"{W}pgMar", "left", _DEFAULT_PAGE["left"])
             - twips(f"{W}pgMar", "right", _DEFAULT_PAGE["right"])
             - twips(f"{W}pgMar", "gutter", 0))
    columns = twips(f"{W}cols", "num", 1)
    if columns > 1:
        space = twips(f"{W}cols", "space", 720)
        width = (width - space * (columns - 1)) // columns
    return max(width, 0)
