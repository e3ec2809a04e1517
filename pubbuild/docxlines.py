"""Where each line of a Word file falls: its page and its line number.

Word and LibreOffice number a document's lines (`w:lnNumType`) when they
lay it out, so no part of the .docx says on which page and line a passage
is. This module models that layout inside the project: it reads
word/document.xml, styles.xml, numbering.xml and footnotes.xml, resolves
every body paragraph's properties (docDefaults, table style, the basedOn
chain of its paragraph style, direct properties; run styles and direct run
properties), and writes the body as HTML whose CSS says the same thing.
WeasyPrint, with the bundled Liberation Serif (Times New Roman's metrics),
breaks the lines on one endless page of the text's width; `paginate` then
sets those lines on pages as LibreOffice does, and numbers them.

What is modelled: page size and margins (the last `w:sectPr`); font size,
bold, italic, superscript and subscript runs, caps; line spacing (auto as a
multiple of the font's single line, for Times New Roman ascent + descent +
line gap = 2355/2048 em; exact; at least); a line fits on a page if its
text does (the leading of double spacing may hang below the margin);
spacing before and after (the larger of the two, not their sum; contextual
spacing; none before a paragraph at the top of a page but the first);
indents and alignment; keep with next (the chain of kept paragraphs
must start on the page with the next one's first lines: two, or all of
a paragraph too short to leave two on each page), keep lines together,
widow and orphan control (two lines, LibreOffice's default where the file
says nothing); page breaks (as a break before the paragraph); list labels
from numbering.xml (a bullet as its level writes it, a symbol font's as
U+2022); tables (cell margins, the table style's paragraph spacing, the
grid's column widths; a row is never split); images by their extent;
footnotes, which take their lines' room at the foot of the page of their
call. No line break after a slash (LibreOffice breaks URLs at hyphens, not
at slashes), but one after a hyphen before a digit ("77-|10"); a word
with slashes longer than a line (a URL) starts a line and is broken after
the last slash that fits, as LibreOffice breaks it (a second layout, for
the documents that have one); any other word longer than a line is
broken where it overflows. Formulas (OMML) as
LibreOffice's formula objects: unbreakable, with a margin either side,
spaced relations, italic variables, scripts, large operators with limits
and fractions stacked, and the height they reach above the font's ascent
or below its descent added to their line (estimated geometry, to a point
or two). Lines in tables, in paragraphs with suppressLineNumbers and in
footnotes are not numbered (number 0).

What is not: Word's own line-breaking and justification rules (the model
breaks lines as Unicode line breaking does, close to LibreOffice), where
exactly an overlong word without slashes is cut, hyphenation, kerning,
the footnote
separator's exact height (NOTE_SEPARATOR is an estimate), footnotes that
continue onto the next page, floating objects and text wrapping, columns,
several sections, headers or footers taller than the margin, fields'
computed text, formulas' exact geometry (matrices, equation arrays,
accents and radicals are laid out as their text at the font's height),
tracked deletions (shown, as LibreOffice shows them), and fonts other than
Times New Roman (an error: the model would be a guess).

This module must not know about manuscripts.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from pubbuild.diagnostics import BuildError
from pubbuild.paths import FONTS

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
# Times New Roman's (and Liberation Serif's) single line: the OS/2 table's
# winAscent + winDescent + hhea lineGap over the em, 2048 units.
SINGLE = (1825 + 443 + 87) / 2048
ASCENT = 1825 / 2048  # above the baseline
DESCENT = (443 + 87) / 2048  # below it, the line gap included
# Fonts the model has metrics for: Liberation Serif is metric-compatible.
MODELLED = {"times new roman": "Liberation Serif", "times": "Liberation Serif",
            "liberation serif": "Liberation Serif"}
FACES = (("Regular", "normal", "normal"), ("Bold", "bold", "normal"),
         ("Italic", "normal", "italic"), ("BoldItalic", "bold", "italic"))
TWIP = 1 / 20  # points


@dataclass(frozen=True)
class Line:
    page: int     # 1-based page of the DOCX
    number: int   # its number as Word's line numbering counts it on that
                  # page (restarting each page); 0 for lines Word does not
                  # number (table cells, suppressLineNumbers, footnotes)
    text: str     # the line's text as laid out


def lines(docx: bytes) -> list[Line]:
    """Every line of the document body in reading order."""
    model = _model(docx)
    return paginate(measure(model), model.height)


@dataclass
class _Block:
    """A paragraph or table of the body, with what pagination needs."""
    index: int
    style: str | None
    before: int  # twips
    after: int
    contextual: bool
    keep_next: bool
    keep_lines: bool
    widows: bool  # widow and orphan control: two lines at least
    page_break: bool
    counted: bool = True
    factor: float = 1.0  # auto line spacing: the multiple of a single line
    table: bool = False
    # Filled by `measure`: each line (or table row) as
    # (height, height that must fit on the page, text, footnote keys, counted).
    lines: list = field(default_factory=list)


@dataclass
class _Model:
    html: str
    blocks: list[_Block]
    height: float  # the page's text area, in points
    notes: dict = field(default_factory=dict)  # key -> [(height, text)]


PX = 0.75  # points in a CSS pixel


def measure(model: _Model, again: bool = True) -> _Model:
    """The model's lines, broken by WeasyPrint on one endless page: each
    block's line heights and texts, each footnote's lines."""
    from pubbuild import pdf

    pdf.only_bundled_fonts()  # before WeasyPrint (and fontconfig) start
    import weasyprint
    from weasyprint.formatting_structure import boxes
    from weasyprint.text.fonts import FontConfiguration

    document = weasyprint.HTML(string=model.html, base_url=f"{FONTS}/").render(
        font_config=FontConfiguration())
    if len(document.pages) != 1:
        raise BuildError("the Word file is too long for its line model")
    by_index = {block.index: block for block in model.blocks}

    def walk(box, block, note):
        element = getattr(box, "element", None)
        if element is not None and getattr(box, "element_tag", None) in (
                "p", "table", "div"):
            if element.get("data-block") is not None and block is None:
                block = by_index[int(element.get("data-block"))]
                if block.table:
                    rows(box, block)
                    return
            if element.get("data-note") is not None and note is None:
                note = model.notes.setdefault(element.get("data-note"), [])
        if isinstance(box, boxes.LineBox):
            text = _text(box)
            height = box.height * PX
            fit = height / block.factor if block is not None and \
                block.factor > 1 else height
            # A formula taller or deeper than the font makes the line so
            # much taller; line spacing adds to it as to any line.
            extra = _math_extra(box)
            height, fit = height + extra, fit + extra
            if note is not None:
                factor = float(box.element.get("data-factor") or 1)
                note.append((height, height / factor if factor > 1 else height,
                             text))
            elif block is not None:
                block.lines.append((height, fit, text, _refs(box), block.counted))
            return
        for child in getattr(box, "children", ()):
            walk(child, block, note)

    def rows(table, block):
        for row in _descendants(table, boxes.TableRowBox):
            texts = []
            refs = []
            for line in _descendants(row, boxes.LineBox):
                texts.append(_text(line))
                refs.extend(_refs(line))
            height = row.margin_height() * PX
            block.lines.append((height, height, texts, refs, False))

    overlong = _overlong(document) if again else {}
    if overlong:
        # LibreOffice starts a word longer than a line on a line of its own
        # and breaks it after the last slash that fits, where the first
        # layout cut it where it overflowed: lay out again so.
        return measure(_Model(_slash_breaks(model.html, overlong),
                              [_Block(**{**b.__dict__, "lines": []})
                               for b in model.blocks], model.height, {}),
                       again=False)
    walk(document.pages[0]._page_box, None, None)
    return model


def _overlong(document) -> dict[int, bool]:
    """The words with slashes (by their rank among `data-slashed` spans)
    that the layout cut because they are longer than a line: for each,
    whether it starts its paragraph's first line."""
    from weasyprint.formatting_structure import boxes

    seen: dict[int, list] = {}
    ranks: dict = {}

    def spans(box):
        if isinstance(box, boxes.InlineBox):
            element = box.element
            if element is not None and element.get("data-slashed") == "":
                yield element, _text(box)
                return
        for child in getattr(box, "children", ()):
            yield from spans(child)

    for rank_in_block, line in _lines_with_blocks(document.pages[0]._page_box):
        for element, text in spans(line):
            rank = ranks.setdefault(element, len(ranks))
            seen.setdefault(rank, []).append((rank_in_block, text))
    # Cut where it overflowed: a part but the last that does not end where a
    # break is allowed (a hyphen).
    return {rank: parts[0][0] == 0 for rank, parts in seen.items()
            if any(not text.rstrip("\u200b").endswith("-")
                   for _, text in parts[:-1])}


def _lines_with_blocks(root):
    """(rank of the line in its paragraph, line box) of every line."""
    from weasyprint.formatting_structure import boxes

    def walk(box, counter):
        if isinstance(box, boxes.LineBox):
            yield counter[0], box
            counter[0] += 1
            return
        if isinstance(box, boxes.BlockBox) and any(
                isinstance(child, boxes.LineBox) for child in box.children):
            counter = [0]
        for child in getattr(box, "children", ()):
            yield from walk(child, counter)

    yield from walk(root, [0])


def _slash_breaks(markup: str, overlong: dict[int, bool]) -> str:
    """`markup` with each overlong word (by rank) on a new line, breakable
    after its slashes."""
    rank = -1

    def rewrite(match) -> str:
        nonlocal rank
        rank += 1
        if rank not in overlong:
            return match.group(0)
        start = "" if overlong[rank] else "<br>"
        return (f'{start}<span data-slashed="broken">'
                f'{match.group(1).replace(chr(0x2060), "")}</span>')

    return re.sub(r'<span data-slashed="">(.*?)</span>', rewrite, markup)

def _math_extra(line) -> float:
    """How much the formulas on a line reach above the font's ascent and
    below its descent (and line gap), in points."""
    above = below = 0.0

    def walk(box):
        nonlocal above, below
        element = getattr(box, "element", None)
        if element is not None and element.get("data-asc") is not None:
            size = float(element.get("data-size"))
            above = max(above, float(element.get("data-asc")) - ASCENT * size)
            below = max(below, float(element.get("data-desc")) - DESCENT * size)
            return
        for child in getattr(box, "children", ()):
            walk(child)

    walk(line)
    return above + below


def _descendants(box, kind):
    if isinstance(box, kind):
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _descendants(child, kind)


def _refs(line) -> list[str]:
    """The footnotes called from a line."""
    found = []

    def walk(box):
        element = getattr(box, "element", None)
        key = element.get("data-note") if element is not None else None
        if key and "fn" in (element.get("class") or "") and key not in found:
            found.append(key)
        for child in getattr(box, "children", ()):
            walk(child)

    walk(line)
    return found


def _text(box) -> str:
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.TextBox):
        return box.text.replace("\u2060", "").replace("\u200b", "")
    return "".join(_text(child) for child in getattr(box, "children", ()))


# What LibreOffice puts between the text and the footnotes (the
# separator's line and the space around it), in points: an estimate, which
# one measured page bounds between 0 and 9.
NOTE_SEPARATOR = 4.0


class _Page:
    """The page being filled: where the text is, what the footnotes take."""

    def __init__(self, limit: float, first: bool = False):
        self.limit = limit
        self.y = 0.0          # the text's height so far, in points
        self.notes = 0.0      # the footnotes' height (separator included)
        self.slack = 0.0      # the last footnote line's room that need not fit
        self.after = 0.0      # the space after the last paragraph, pending
        self.top = True       # nothing on it yet
        self.first = first    # the document's first page
        self.lines: list = []  # (text, counted); counted None for footnotes

    def gap(self, block: _Block) -> float:
        """The space before `block`: none at the top of a page (but the
        first), else the larger of its space before and the space after the
        one before it (LibreOffice does not add the two)."""
        if self.top:
            return block.before / 20 if self.first else 0.0
        return max(block.before / 20, self.after)

    def notes_for(self, refs, notes) -> tuple[float, float]:
        """The footnotes' height and slack if the notes `refs` join them."""
        height, slack = self.notes, self.slack
        for key in refs:
            for line_height, fit, _ in notes.get(key, []):
                if height == 0:
                    height = NOTE_SEPARATOR
                height += line_height
                slack = line_height - fit
        return height, slack

    def fits(self, y: float, entry, notes) -> bool:
        """Whether a line whose top is at `y` fits: the part of it that must
        fit (its text, not the leading double spacing adds below), with the
        footnotes it calls."""
        height, slack = self.notes_for(entry[3], notes)
        return y + entry[1] + height - slack <= self.limit + 0.01

    def place(self, entry, notes) -> None:
        self.notes, self.slack = self.notes_for(entry[3], notes)
        self.y += entry[0]
        self.top = False
        texts = entry[2] if isinstance(entry[2], list) else [entry[2]]
        self.lines.extend((text, entry[4]) for text in texts)
        for key in entry[3]:
            self.lines.extend((text, None) for _, _, text in notes.get(key, []))


def paginate(model: _Model, height: float) -> list[Line]:
    """The measured blocks set on pages of `height` points as LibreOffice
    sets them, and their lines numbered."""
    pages = [_Page(height, first=True)]
    notes = model.notes

    def fitting(block, start) -> int:
        """How many of the block's lines from `start` fit on this page."""
        page = pages[-1]
        y = page.y + (page.gap(block) if start == 0 else 0)
        saved = page.notes, page.slack
        count = 0
        for entry in block.lines[start:]:
            if not page.fits(y, entry, notes):
                break
            page.notes, page.slack = page.notes_for(entry[3], notes)
            y += entry[0]
            count += 1
        page.notes, page.slack = saved
        return count

    blocks = [block for block in model.blocks if block.lines]
    for index, block in enumerate(blocks):
        page = pages[-1]
        if block.page_break and not page.top:
            pages.append(page := _Page(height))
        # Keep with next, keep lines together: the chain of blocks kept
        # together must start here, or all go to the next page.
        if not page.top and (block.keep_next or block.keep_lines) \
                and not _chain_fits(blocks, index, page):
            pages.append(page := _Page(height))
        start = 0
        while start < len(block.lines):
            page = pages[-1]
            count = fitting(block, start)
            rest = len(block.lines) - start
            if start == 0:
                page.y += page.gap(block)
            if count >= rest:
                for entry in block.lines[start:]:
                    page.place(entry, notes)
                break
            if block.widows and not block.table:
                if start == 0 and count < 2:
                    count = 0  # an orphan: the paragraph starts on the next page
                elif rest - count < 2 and count > 0:
                    count = max(0, rest - 2)  # a widow: take a line along
                    if start == 0 and count < 2:
                        count = 0
            if block.keep_lines:
                count = 0
            if count == 0 and page.top:
                count = max(1, fitting(block, start))  # too big for a page
            for entry in block.lines[start:start + count]:
                page.place(entry, notes)
            start += count
            pages.append(_Page(height))
        pages[-1].after = block.after / 20
    found: list[Line] = []
    for number, page in enumerate(pages, start=1):
        counter = 0
        below = []
        for text, counted in page.lines:
            if counted is None:
                below.append(Line(number, 0, text))
                continue
            counter += 1 if counted else 0
            found.append(Line(number, counter if counted else 0, text))
        found.extend(below)
    return found


def _chain_fits(blocks, index, page: _Page) -> bool:
    """Whether the blocks kept together from `index` can start on `page`:
    each that keeps with the next wholly, then the first lines of the next
    (two with widow control; all of it if it keeps its lines together)."""
    y = page.y + page.notes - page.slack
    after = page.after
    for n, block in enumerate(blocks[index:]):
        y += max(block.before / 20, after) if n or not page.top else 0
        last = not block.keep_next or index + n == len(blocks) - 1
        if block.keep_lines or not last:
            take = len(block.lines)
        elif block.widows and not block.table:
            # Two lines at least, and two left for the next page: a
            # paragraph of three lines or fewer goes whole.
            take = 2 if len(block.lines) >= 4 else len(block.lines)
        else:
            take = 1
        y += sum(entry[0] for entry in block.lines[:take - 1])
        y += block.lines[take - 1][1]
        if last or y > page.limit + 0.01:
            return y <= page.limit + 0.01
        y += block.lines[take - 1][0] - block.lines[take - 1][1]
        after = block.after / 20
    return True


# ---------------------------------------------------------------- the model


@dataclass
class _Props:
    """Resolved paragraph and run properties, in twips and half-points."""
    before: int = 0
    after: int = 0
    before_auto: bool = False
    line: int = 240
    rule: str = "auto"
    left: int = 0
    right: int = 0
    first: int = 0  # first line indent; negative for hanging
    jc: str = "left"
    keep_next: bool = False
    keep_lines: bool = False
    widows: bool | None = None  # None: LibreOffice's default, 2 lines
    page_break: bool = False
    no_numbers: bool = False
    contextual: bool = False
    num: tuple[str, int] | None = None
    run: dict = field(default_factory=dict)


def _val(element, default: str | None = None) -> str | None:
    return element.get(W + "val", default) if element is not None else default


def _on(element) -> bool | None:
    """A toggle property: None if absent, else its value."""
    if element is None:
        return None
    return _val(element, "true") not in ("0", "false", "off")


def _int(element, name: str) -> int | None:
    value = element.get(W + name) if element is not None else None
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _apply_ppr(props: _Props, ppr) -> None:
    if ppr is None:
        return
    spacing = ppr.find(W + "spacing")
    if spacing is not None:
        for name, attr in (("before", "before"), ("after", "after"), ("line", "line")):
            value = _int(spacing, attr)
            if value is not None:
                setattr(props, name, value)
        if spacing.get(W + "beforeAutospacing") in ("1", "true"):
            props.before, props.before_auto = 280, True
        if spacing.get(W + "lineRule"):
            props.rule = spacing.get(W + "lineRule")
    ind = ppr.find(W + "ind")
    if ind is not None:
        for name, attrs in (("left", ("left", "start")), ("right", ("right", "end"))):
            for attr in attrs:
                value = _int(ind, attr)
                if value is not None:
                    setattr(props, name, value)
        if _int(ind, "firstLine") is not None:
            props.first = _int(ind, "firstLine")
        if _int(ind, "hanging") is not None:
            props.first = -_int(ind, "hanging")
    jc = ppr.find(W + "jc")
    if jc is not None:
        props.jc = _val(jc, "left")
    for name, tag in (("keep_next", "keepNext"), ("keep_lines", "keepLines"),
                      ("widows", "widowControl"), ("page_break", "pageBreakBefore"),
                      ("no_numbers", "suppressLineNumbers"),
                      ("contextual", "contextualSpacing")):
        value = _on(ppr.find(W + tag))
        if value is not None:
            setattr(props, name, value)
    numpr = ppr.find(W + "numPr")
    if numpr is not None:
        num_id = _val(numpr.find(W + "numId"))
        level = int(_val(numpr.find(W + "ilvl"), "0") or 0)
        if num_id is not None:
            props.num = None if num_id == "0" else (num_id, level)
        elif props.num is not None:
            props.num = (props.num[0], level)


def _apply_rpr(run: dict, rpr) -> None:
    if rpr is None:
        return
    size = rpr.find(W + "sz")
    if size is not None and _int(size, "val") is not None:
        run["size"] = _int(size, "val")
    for name, tag in (("bold", "b"), ("italic", "i"), ("caps", "caps"),
                      ("small_caps", "smallCaps"), ("hidden", "vanish"),
                      ("strike", "strike")):
        value = _on(rpr.find(W + tag))
        if value is not None:
            run[name] = value
    align = rpr.find(W + "vertAlign")
    if align is not None:
        run["valign"] = _val(align, "baseline")
    fonts = rpr.find(W + "rFonts")
    if fonts is not None:
        face = fonts.get(W + "ascii") or fonts.get(W + "hAnsi")
        if face:
            run["font"] = face
        elif fonts.get(W + "asciiTheme") or fonts.get(W + "hAnsiTheme"):
            run["font"] = "(theme font " + (fonts.get(W + "asciiTheme")
                                            or fonts.get(W + "hAnsiTheme")) + ")"
    spacing = rpr.find(W + "spacing")
    if spacing is not None and _int(spacing, "val"):
        run["letter"] = _int(spacing, "val")


class _Styles:
    """styles.xml: defaults and styles by id, resolved through basedOn."""

    def __init__(self, xml: bytes | None):
        self.styles: dict[str, ElementTree.Element] = {}
        self.default_para: str | None = None
        self.ppr_default = self.rpr_default = None
        if xml is None:
            return
        root = ElementTree.fromstring(xml)
        defaults = root.find(W + "docDefaults")
        if defaults is not None:
            self.ppr_default = defaults.find(f"{W}pPrDefault/{W}pPr")
            self.rpr_default = defaults.find(f"{W}rPrDefault/{W}rPr")
        for style in root.iter(W + "style"):
            style_id = style.get(W + "styleId")
            self.styles[style_id] = style
            if (style.get(W + "type") == "paragraph"
                    and style.get(W + "default") in ("1", "true")):
                self.default_para = style_id

    def chain(self, style_id: str | None) -> list:
        """The style and the styles it is based on, the most basic first."""
        found, seen = [], set()
        while style_id and style_id in self.styles and style_id not in seen:
            seen.add(style_id)
            found.append(self.styles[style_id])
            style_id = _val(self.styles[style_id].find(W + "basedOn"))
        return found[::-1]

    def paragraph(self, style_id: str | None, table_style: str | None) -> _Props:
        props = _Props()
        _apply_ppr(props, self.ppr_default)
        _apply_rpr(props.run, self.rpr_default)
        if table_style is not None:
            for style in self.chain(table_style):
                _apply_ppr(props, style.find(W + "pPr"))
                _apply_rpr(props.run, style.find(W + "rPr"))
        for style in self.chain(style_id or self.default_para):
            _apply_ppr(props, style.find(W + "pPr"))
            _apply_rpr(props.run, style.find(W + "rPr"))
        return props

    def run(self, base: dict, style_id: str | None) -> dict:
        run = dict(base)
        for style in self.chain(style_id):
            _apply_rpr(run, style.find(W + "rPr"))
        return run


class _Numbering:
    """numbering.xml: each list level's label and indents, and the counters."""

    def __init__(self, xml: bytes | None):
        self.abstract: dict[str, dict[int, ElementTree.Element]] = {}
        self.nums: dict[str, str] = {}
        self.counters: dict[str, list[int]] = {}
        if xml is None:
            return
        root = ElementTree.fromstring(xml)
        for abstract in root.iter(W + "abstractNum"):
            levels = {int(lvl.get(W + "ilvl", "0")): lvl
                      for lvl in abstract.iter(W + "lvl")}
            self.abstract[abstract.get(W + "abstractNumId")] = levels
        for num in root.iter(W + "num"):
            self.nums[num.get(W + "numId")] = _val(num.find(W + "abstractNumId"))

    def level(self, num: tuple[str, int]):
        return self.abstract.get(self.nums.get(num[0], ""), {}).get(num[1])

    def label(self, num: tuple[str, int]) -> str:
        """The label of the next item of list `num`, counting it."""
        levels = self.abstract.get(self.nums.get(num[0], ""), {})
        key = self.nums.get(num[0], "")
        counts = self.counters.setdefault(key, [0] * 10)
        level = num[1]
        counts[level] += 1
        for deeper in range(level + 1, len(counts)):
            counts[deeper] = 0
        lvl = levels.get(level)
        if lvl is None:
            return ""
        text = _val(lvl.find(W + "lvlText"), "") or ""

        def number(match):
            index = int(match.group(1)) - 1
            sub = levels.get(index)
            start = int(_val(sub.find(W + "start"), "1") or 1) if sub is not None else 1
            fmt = (_val(sub.find(W + "numFmt"), "decimal") if sub is not None
                   else "decimal")
            return _format(counts[index] + start - 1, fmt)

        return re.sub(r"%(\d)", number, text)


def _format(value: int, fmt: str | None) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        while value > 0:
            value, rest = divmod(value - 1, 26)
            letters = chr(97 + rest) + letters
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in ("lowerRoman", "upperRoman"):
        numerals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"),
                    (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"),
                    (5, "v"), (4, "iv"), (1, "i")]
        out = ""
        for amount, numeral in numerals:
            while value >= amount:
                out, value = out + numeral, value - amount
        return out.upper() if fmt == "upperRoman" else out
    if fmt == "bullet":
        return ""
    return str(value)


class _Writer:
    """The body of document.xml as HTML: one block per paragraph or table."""

    def __init__(self, members: dict[str, bytes]):
        self.styles = _Styles(members.get("word/styles.xml"))
        self.numbering = _Numbering(members.get("word/numbering.xml"))
        self.notes: dict[str, ElementTree.Element] = {}
        if "word/footnotes.xml" in members:
            for note in ElementTree.fromstring(members["word/footnotes.xml"]).iter(
                    W + "footnote"):
                self.notes[note.get(W + "id")] = note
        self.note_count = 0
        # The previous paragraph: (style, its index in `after`, contextual).
        self.previous: _Block | None = None
        self.blocks: list[_Block] = []  # the body's paragraphs and tables
        self.note_html: list[str] = []

    def body(self, body) -> str:
        return "".join(self.block(child, None) for child in body)

    def block(self, element, table_style: str | None) -> str:
        tag = element.tag
        if tag == W + "p":
            return self.paragraph(element, table_style)
        if tag == W + "tbl":
            return self.table(element)
        if tag in (W + "sdt", W + "customXml", W + "ins", W + "smartTag"):
            content = element.find(W + "sdtContent")
            inner = content if content is not None else element
            return "".join(self.block(child, table_style) for child in inner)
        return ""

    def paragraph(self, p, table_style: str | None, note: bool = False) -> str:
        ppr = p.find(W + "pPr")
        style_id = _val(ppr.find(W + "pStyle")) if ppr is not None else None
        props = self.styles.paragraph(style_id, table_style)
        _apply_ppr(props, ppr)
        mark = dict(props.run)
        if ppr is not None:
            _apply_rpr(mark, ppr.find(W + "rPr"))
        self._check_font(mark)
        size = mark.get("size", 20) / 2
        label = ""
        if props.num is not None:
            lvl = self.numbering.level(props.num)
            if lvl is not None:
                level_props = _Props(left=props.left, right=props.right,
                                     first=props.first)
                _apply_ppr(level_props, lvl.find(W + "pPr"))
                # The paragraph's own indents win over the list level's.
                direct = _Props(left=-1, right=-1, first=-99999)
                _apply_ppr(direct, ppr)
                props.left = level_props.left if direct.left == -1 else direct.left
                props.first = (level_props.first if direct.first == -99999
                               else direct.first)
                text = self.numbering.label(props.num)
                label_run = dict(mark)
                _apply_rpr(label_run, lvl.find(W + "rPr"))
                if _val(lvl.find(W + "numFmt")) == "bullet":
                    # The bullet as the level writes it ("o" in Courier New
                    # for the second level), or a bullet for a symbol font's
                    # private-use character; its width is the tab's anyway.
                    text = _val(lvl.find(W + "lvlText"), "") or ""
                    if not text.strip() or any(
                            "\ue000" <= c <= "\uf8ff" for c in text):
                        text = "\u2022"
                    label_run.pop("font", None)
                suffix = _val(lvl.find(W + "suff"), "tab")
                label = self._label(text, label_run, props, suffix)
        content = self.runs(p, props.run, note)
        # A page break in the paragraph: modelled as one before it (pandoc
        # writes a page break as a paragraph of its own).
        broken = '<br class="page">' in content
        if not content.strip() and not label:
            content = "\u00a0"  # an empty paragraph is still a line
        before, after = props.before, props.after
        previous = self.previous
        same = previous is not None and previous.style == style_id
        if same and props.contextual:
            before = 0
        if same and previous.contextual:  # the previous one's space after goes
            previous.after = 0
        factor = props.line / 240 if props.rule == "auto" else 1.0
        block = _Block(len(self.blocks), style_id, before, after, props.contextual,
                       props.keep_next, props.keep_lines,
                       props.widows is not False, props.page_break or broken,
                       counted=not (props.no_numbers or table_style or note),
                       factor=factor)
        if table_style is None and not note:
            self.blocks.append(block)
            self.previous = block
        css = [f"font-size:{_pt(size * 20)}"]
        if props.rule == "auto":
            css.append(f"line-height:{props.line / 240 * SINGLE:.6f}")
        elif props.rule == "exact":
            css.append(f"line-height:{_pt(props.line)}")
        else:  # atLeast: the larger of the two
            natural = size * SINGLE * 20
            css.append(f"line-height:{_pt(max(props.line, natural))}")
        if table_style is not None:  # inside a cell, CSS does the spacing
            if before:
                css.append(f"margin-top:{_pt(before)}")
            if after:
                css.append(f"padding-bottom:{_pt(after)}")
        if props.left or props.first < 0:
            css.append(f"padding-left:{_pt(props.left)}")
        if props.right:
            css.append(f"padding-right:{_pt(props.right)}")
        if props.first:
            css.append(f"text-indent:{_pt(props.first)}")
        css.append("text-align:" + {"center": "center", "right": "right",
                                    "end": "right", "both": "justify",
                                    "distribute": "justify"}.get(props.jc, "left"))
        css.extend(_run_css(mark, {}))
        ident = (f' data-block="{block.index}"' if table_style is None and not note
                 else "")
        return (f'<p{ident} data-factor="{factor:g}" style="{";".join(css)}">'
                f"{label}{content}</p>")

    def _label(self, text: str, run: dict, props: _Props, suffix: str) -> str:
        css = _run_css(run, {})
        if suffix == "tab":
            hanging = -props.first if props.first < 0 else 0
            # The tab after the label reaches the hanging indent, or the
            # next default tab stop (half an inch) if the label is wider.
            css.append(f"display:inline-block;text-indent:0;min-width:{_pt(hanging)}"
                       if hanging else "display:inline-block;text-indent:0;"
                       f"min-width:{_pt(720)}")
        elif suffix == "space":
            text += " "
        return f'<span style="{";".join(css)}">{html.escape(text)}</span>'

    def _check_font(self, run: dict) -> None:
        face = run.get("font")
        if face is not None and face.lower() not in MODELLED:
            raise BuildError(f"the Word file's font {face!r} cannot be modelled "
                             "(only Times New Roman, with the bundled Liberation "
                             "Serif's metrics): its line numbers would be a guess")

    def runs(self, parent, base: dict, note: bool) -> str:
        out = []
        for child in parent:
            tag = child.tag
            if tag == W + "r":
                out.append(self.run(child, base, note))
            elif tag in (W + "hyperlink", W + "ins", W + "del", W + "smartTag",
                         W + "customXml", W + "fldSimple", W + "moveTo",
                         W + "moveFrom"):
                out.append(self.runs(child, base, note))
            elif tag == W + "sdt":
                content = child.find(W + "sdtContent")
                if content is not None:
                    out.append(self.runs(content, base, note))
            elif tag in (M + "oMath", M + "oMathPara"):
                inner, asc, desc = _math(child)
                size = base.get("size", 20) / 2
                # The formula as one object: its text (limits and fractions
                # stacked) for its width; its height above and below the
                # baseline for the line's (see `measure`).
                out.append(f'<span class="math" data-asc="{asc * size:.3f}" '
                           f'data-desc="{desc * size:.3f}" data-size="{size:g}" '
                           f'style="white-space:nowrap;padding:0 {MATH_MARGIN}em">'
                           f"{inner}</span>")
        return "".join(out)

    def run(self, r, base: dict, note: bool) -> str:
        rpr = r.find(W + "rPr")
        style_id = _val(rpr.find(W + "rStyle")) if rpr is not None else None
        props = self.styles.run(base, style_id)
        _apply_rpr(props, rpr)
        if props.get("hidden"):
            return ""
        parts = []
        for child in r:
            tag = child.tag
            if tag in (W + "t", W + "delText"):
                # LibreOffice does not break a line after a slash (URLs).
                parts.append(_breaks(html.escape(child.text or "")))
            elif tag == W + "tab":
                parts.append('<span style="display:inline-block;width:36pt"></span>')
            elif tag in (W + "br", W + "cr"):
                kind = child.get(W + "type")
                parts.append('<br class="page">' if kind == "page" else "<br>")
            elif tag == W + "noBreakHyphen":
                parts.append("\u2011")
            elif tag == W + "softHyphen":
                parts.append("\u00ad")
            elif tag == W + "sym":
                parts.append("\u25a1")
            elif tag == W + "footnoteReference" and not note:
                parts.append(self.footnote(child.get(W + "id"), props))
            elif tag == W + "footnoteRef":
                parts.append(str(self.note_count))
            elif tag == W + "drawing":
                parts.append(_drawing(child))
        if not parts:
            return ""
        if props.get("font"):
            self._check_font(props)
        text = "".join(parts)
        if props.get("caps"):
            text = text.upper()
        return f'<span style="{";".join(_run_css(props, base))}">{text}</span>'

    def footnote(self, note_id: str | None, run: dict) -> str:
        self.note_count += 1
        note = self.notes.get(note_id or "")
        key = f"n{self.note_count}"
        mark = (f'<span class="fn" data-note="{key}" '
                f'style="{";".join(_run_css(run, {}))}">{self.note_count}</span>')
        if note is not None:
            saved, self.previous = self.previous, None
            body = "".join(self.paragraph(p, None, note=True)
                           for p in note.iter(W + "p"))
            self.previous = saved
            self.note_html.append(f'<div data-note="{key}">{body}</div>')
        return mark

    def table(self, tbl) -> str:
        tblpr = tbl.find(W + "tblPr")
        style_id = _val(tblpr.find(W + "tblStyle")) if tblpr is not None else None
        if style_id is None:
            default = [s for s, e in self.styles.styles.items()
                       if e.get(W + "type") == "table"
                       and e.get(W + "default") in ("1", "true")]
            style_id = default[0] if default else None
        margins = {"left": 108, "right": 108, "top": 0, "bottom": 0}
        sources = [s.find(W + "tblPr") for s in self.styles.chain(style_id)]
        for source in [*sources, tblpr]:
            mar = source.find(W + "tblCellMar") if source is not None else None
            if mar is not None:
                for side in margins:
                    edge = mar.find(W + side) or mar.find(
                        W + {"left": "start", "right": "end"}.get(side, side))
                    if edge is not None and _int(edge, "w") is not None:
                        margins[side] = _int(edge, "w")
        grid = [_int(col, "w") or 0 for col in tbl.iter(W + "gridCol")]
        cols = "".join(f'<col style="width:{_pt(w)}">' for w in grid)
        width = f"width:{_pt(sum(grid))};" if grid and all(grid) else ""
        rows = []
        block = _Block(len(self.blocks), style_id, 0, 0, False, False, False, True,
                       False, counted=False, factor=1.0, table=True)
        self.blocks.append(block)
        self.previous = None
        for tr in tbl.findall(W + "tr"):
            cells = []
            for tc in tr.findall(W + "tc"):
                tcpr = tc.find(W + "tcPr")
                span = _int(tcpr.find(W + "gridSpan"), "val") if tcpr is not None \
                    and tcpr.find(W + "gridSpan") is not None else None
                inner = "".join(self.block(child, style_id) for child in tc
                                if child.tag != W + "tcPr")
                pad = (f"padding:{_pt(margins['top'])} {_pt(margins['right'])} "
                       f"{_pt(margins['bottom'])} {_pt(margins['left'])}")
                spans = f' colspan="{span}"' if span and span > 1 else ""
                cells.append(f'<td{spans} style="{pad}">{inner}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        self.previous = block
        return (f'<table data-block="{block.index}" style="{width}">{cols}'
                f'{"".join(rows)}</table>')


# A formula's geometry as LibreOffice's formula objects have it, in ems of
# the text: scripts at 60 % shifted a quarter em; a large operator at
# 146 % with its limits under and over it; a fraction's numerator and
# denominator above and below the axis; relations spaced; a margin either
# side of the object. Measured on LibreOffice's PDFs to
# a point or two; an estimate, like NOTE_SEPARATOR.
SCRIPT, SHIFT_DOWN, SHIFT_UP = 0.6, 0.25, 0.35
OPERATOR = 1.4575
OPERATOR_UP, OPERATOR_DOWN = 0.06 + OPERATOR * 1825 / 2048, 0.255
LIMIT_GAP = 0.433
OPERATOR_SPACE = 0.17
MATH_MARGIN = 0.125  # the object's own margin, left and right
NUMERATOR_UP, DENOMINATOR_DOWN = 0.56, 0.69
STACK = "display:inline-block;line-height:0;text-align:center;vertical-align:baseline"


def _math(element) -> tuple[str, float, float]:
    """An OMML element as HTML, with its height above and below the
    baseline in ems."""
    tag = element.tag

    def part(name):
        child = element.find(M + name)
        return _math(child) if child is not None else ("", 0.0, 0.0)

    def small(piece):
        return f'<span style="font-size:{SCRIPT * 100:g}%;line-height:0">{piece}</span>'

    if tag == M + "r":
        text = html.escape("".join(t.text or "" for t in element.iter(M + "t")))
        # Relations and operators with a thin space on either side;
        # variables (not plain text) in italic.
        text = re.sub("([=+\u2212<>\u2260\u2264\u2265])",
                      f'<span style="padding:0 {OPERATOR_SPACE}em">\\1</span>', text)
        plain = _val(element.find(f"{M}rPr/{M}sty")) == "p"
        if not plain and text:
            text = f'<span style="font-style:italic">{text}</span>'
        return text, ASCENT, DESCENT
    if tag in (M + "sSub", M + "sSup", M + "sSubSup"):
        base, asc, desc = part("e")
        sub, sub_asc, sub_desc = part("sub")
        sup, sup_asc, _ = part("sup")
        if sub:
            desc = max(desc, SHIFT_DOWN + SCRIPT * sub_desc)
        if sup:
            asc = max(asc, SHIFT_UP + SCRIPT * sup_asc)
        if sub and sup:
            return (f'{base}<span style="{STACK}"><span style="display:block">'
                    f'{small(sup)}</span><span style="display:block">{small(sub)}'
                    "</span></span>", asc, desc)
        return base + small(sub or sup), asc, desc
    if tag == M + "nary":
        props = element.find(M + "naryPr")
        char = _val(props.find(M + "chr"), "\u222b") if props is not None else "\u222b"
        hidden = {name: _on(props.find(M + name + "Hide")) if props is not None
                  else None for name in ("sub", "sup")}
        below = props is not None and _val(props.find(M + "limLoc")) == "undOvr"
        base, asc, desc = part("e")
        sub, _, sub_desc = part("sub") if not hidden["sub"] else ("", 0, 0)
        sup, sup_asc, _ = part("sup") if not hidden["sup"] else ("", 0, 0)
        asc, desc = max(asc, OPERATOR_UP), max(desc, OPERATOR_DOWN)
        if below:
            if sub:
                desc = max(desc, OPERATOR_DOWN + LIMIT_GAP + SCRIPT * sub_desc)
            if sup:
                asc = max(asc, OPERATOR_UP - 0.05 + SCRIPT * sup_asc)
        else:
            if sub:
                desc = max(desc, OPERATOR_DOWN + SHIFT_DOWN)
            if sup:
                asc = max(asc, OPERATOR_UP + SHIFT_UP)
        limits = "".join(f'<span style="display:block">{small(x)}</span>'
                         for x in (sub, sup) if x)
        operator = (f'<span style="display:block;font-size:{OPERATOR * 100:g}%">'
                    f"{html.escape(char)}</span>")
        return f'<span style="{STACK}">{operator}{limits}</span>{base}', asc, desc
    if tag == M + "f":
        num, num_asc, _ = part("num")
        den, _, den_desc = part("den")
        return (f'<span style="{STACK}"><span style="display:block">{num}</span>'
                f'<span style="display:block">{den}</span></span>',
                NUMERATOR_UP + num_asc, DENOMINATOR_DOWN + den_desc)
    if tag == M + "d":
        props = element.find(M + "dPr")

        def char(name, default):
            found = props.find(M + name) if props is not None else None
            return _val(found, default) if found is not None else default

        parts = [_math(e) for e in element.findall(M + "e")]
        inner = html.escape(char("sepChr", "|")).join(p[0] for p in parts)
        return (html.escape(char("begChr", "(")) + inner
                + html.escape(char("endChr", ")")),
                max([ASCENT, *(p[1] for p in parts)]),
                max([DESCENT, *(p[2] for p in parts)]))
    if tag == M + "rad":
        base, asc, desc = part("e")
        return "\u221a" + base, asc + 0.1, desc
    if tag.endswith("Pr"):
        return "", 0.0, 0.0
    parts = [_math(child) for child in element]
    return ("".join(p[0] for p in parts), max([0.0, *(p[1] for p in parts)]),
            max([0.0, *(p[2] for p in parts)]))


def _breaks(text: str) -> str:
    """`text` with LibreOffice's break opportunities where Unicode's differ:
    none after a slash (LibreOffice breaks URLs at hyphens, not at slashes),
    one after a hyphen before a digit ("77-" "10"). A word with slashes is
    marked (`data-slashed`): if it is longer than a line, `measure` lays it
    out again as LibreOffice sets it, from a line's start and broken after
    the last slash that fits."""
    def word(match) -> str:
        token = match.group(0).replace("/", "/\u2060")
        return f'<span data-slashed="">{token}</span>' if "/" in match.group(0) \
            else token

    text = re.sub(r"[^\s<>]+", word, text)
    return re.sub(r"-(?=\d)", "-\u200b", text)


def _drawing(drawing) -> str:
    extent = next(drawing.iter(WP + "extent"), None)
    if extent is None:
        return ""
    emu_per_pt = 12700
    width = int(extent.get("cx", "0")) / emu_per_pt
    height = int(extent.get("cy", "0")) / emu_per_pt
    return (f'<span style="display:inline-block;width:{width:.2f}pt;'
            f'height:{height:.2f}pt;line-height:0"></span>')


def _pt(twips: float) -> str:
    return f"{twips * TWIP:.3f}pt"


def _run_css(run: dict, base: dict) -> list[str]:
    css = []
    size = run.get("size", 20) / 2
    valign = run.get("valign")
    if valign in ("superscript", "subscript"):
        # Word sets them about two thirds of the size, and the raised text
        # does not make the line taller.
        css.append(f"font-size:{size * 2 / 3:.3f}pt;line-height:0;vertical-align:"
                   + ("super" if valign == "superscript" else "sub"))
    elif run.get("size") != base.get("size") or not base:
        css.append(f"font-size:{size:.3f}pt")
    css.append("font-weight:" + ("bold" if run.get("bold") else "normal"))
    css.append("font-style:" + ("italic" if run.get("italic") else "normal"))
    if run.get("small_caps"):
        css.append("font-variant:small-caps")
    if run.get("letter"):
        css.append(f"letter-spacing:{_pt(run['letter'])}")
    return css


def _model(docx: bytes) -> _Model:
    """The model of `docx`: HTML and CSS whose lines break as Word's, on one
    endless page, and the blocks to paginate."""
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as archive:
            members = {name: archive.read(name) for name in archive.namelist()
                       if name in ("word/document.xml", "word/styles.xml",
                                   "word/numbering.xml", "word/footnotes.xml")}
    except zipfile.BadZipFile:
        raise BuildError("not a Word file (not a zip archive)") from None
    if "word/document.xml" not in members:
        raise BuildError("not a Word file: no word/document.xml")
    body = ElementTree.fromstring(members["word/document.xml"]).find(W + "body")
    sections = list(body.iter(W + "sectPr"))
    width, height, margins = _page(sections[-1] if sections else None)
    writer = _Writer(members)
    content = writer.body(body)
    notes = "".join(writer.note_html)
    faces = "".join(
        f'@font-face{{font-family:"{family}";src:url("LiberationSerif-{file}.ttf");'
        f"font-weight:{weight};font-style:{style}}}"
        for family in ("Times New Roman", "Times", "Liberation Serif")
        for file, weight, style in FACES)
    text_width = width - margins[1] - margins[3]
    css = (faces
           + f"@page{{size:{text_width:.3f}pt 14000pt;margin:0}}"
           + 'html{font-family:"Times New Roman";font-kerning:none;'
           "font-variant-ligatures:none;hyphens:manual;"
           "overflow-wrap:break-word}"
           "body{margin:0}p{margin:0;padding:0}"
           "table{border-collapse:collapse;border-spacing:0}td{vertical-align:top}")
    html_text = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                 f"<style>{css}</style></head><body>{content}{notes}</body></html>")
    return _Model(html_text, writer.blocks, height - margins[0] - margins[2])


def _page(sectpr) -> tuple[float, float, tuple[float, float, float, float]]:
    """The page's width and height and its margins (top, right, bottom,
    left), in points."""
    size = sectpr.find(W + "pgSz") if sectpr is not None else None
    margin = sectpr.find(W + "pgMar") if sectpr is not None else None
    width = _int(size, "w") or 12240
    height = _int(size, "h") or 15840
    if size is not None and size.get(W + "orient") == "landscape" and width < height:
        width, height = height, width
    sides = [abs(_int(margin, side) or 1440) if margin is not None else 1440
             for side in ("top", "right", "bottom", "left")]
    sides[3] += (_int(margin, "gutter") or 0) if margin is not None else 0
    return width / 20, height / 20, tuple(s / 20 for s in sides)
