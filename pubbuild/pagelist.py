"""The EPUB's page list: where the PDF's pages start, marked in the EPUB.

The PDF is laid out first. `page_starts` reads, from WeasyPrint's laid-out
document, where each page starts in terms the EPUB's XHTML has too: the
block of text (paragraph, heading, list item, table cell, caption ...) it
starts in, and how many characters of that block the earlier pages hold.
Both files come from the same AST, but by two writers (the print HTML and
pandoc's EPUB writer) that wrap, number and place some things differently,
so a block is found again by its text (its first characters, and which
block with that text it is), never by its position: the title page, a
figure moved by the page make-up, footnotes (in place in the print, at the
end in the EPUB) and the reference list all fall out of a count by
position. Characters are counted without white space, an image or formula
counts as one, and what only one side has is left out of both counts
(footnotes, and everything CSS generates).

`mark` then puts one `doc-pagebreak` marker per page into the EPUB's
chapter files, a `page-list` nav into its navigation document and the
pagination source into its package, and zips it again as pandoc did
(same entries in the same order, same dates, the mimetype first and
stored), so that two builds stay byte for byte the same.

This module must not know about pandoc, the manuscript or the other
formats; of WeasyPrint it knows only the boxes of a laid-out document.
"""

from __future__ import annotations

import html
import io
import posixpath
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements that start a block of text; the text of every other element
# belongs to the nearest block around it.
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd",
    "details", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li",
    "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul"})
# One unit each, whatever is inside: the PDF's formulas are images, the
# EPUB's MathML.
ATOMS = frozenset({"img", "svg", "math"})
ATOM = "\ufffc"
NOT_TEXT = frozenset({"head", "script", "style", "template"})
# Characters neither side shows as one: soft hyphens, zero-width spaces.
INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
# What a line may end in before a break that is no space.
BREAKS_AFTER = frozenset("-\u2010\u2011\u2013\u2014/")
# A block is known by this many of its first characters (and its rank
# among the blocks that start the same way): enough to tell paragraphs
# apart, short enough that a difference at a block's end (a back-link
# only one side has) does not hide it.
KEY_LENGTH = 48


@dataclass(frozen=True)
class PageStart:
    """Where page `page` of the PDF starts."""

    page: int
    key: str     # the first KEY_LENGTH units of the block it starts in
    rank: int    # which of the blocks with that key (0: the first)
    offset: int  # the block's units on the pages before


def units(text: str) -> str:
    """The characters of `text` that count (no white space, nothing invisible)."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in INVISIBLE)


def _skipped(tag: str, attrs: dict) -> bool:
    """Text only one of the two files has in the flow: footnotes (a span
    in the print, a note at the end of the EPUB, and its reference)."""
    classes = (attrs.get("class") or "").split()
    return (tag in NOT_TEXT or bool({"footnote", "footnote-ref", "footnotes"}
                                     & set(classes))
            or attrs.get("role") in ("doc-noteref", "doc-endnotes", "doc-footnote")
            or "footnote" in (attrs.get("epub:type") or "").split())


# -- the PDF's side: WeasyPrint's boxes ------------------------------------

def page_starts(document) -> list[PageStart]:
    """Where each page of a laid-out WeasyPrint document starts (a page
    with no text or image of its own is left out)."""
    root = document.pages[0]._page_box.children[0].element
    parents = {child: parent for parent in root.iter() for child in parent}
    own, texts = _tree_units(root)
    keys = _ranked({block: text[:KEY_LENGTH] for block, text in texts.items()})
    laid: dict = {}  # units of each block on the pages so far
    starts = []
    for number, page in enumerate(document.pages, 1):
        first = None
        for element, count, ends_hyphenated in _laid_units(page):
            block = _block(element, parents)
            done = laid.get(block, 0)
            text = own.get(block, "")
            if text and done >= len(text):
                continue  # laid out again: a table's header, repeated
            # A hyphen WeasyPrint added at a line's end is not in the text.
            if ends_hyphenated and text[done + count - 1:done + count] not in (
                    BREAKS_AFTER):
                count -= 1
            if first is None and block in keys and count > 0:
                first = PageStart(number, *keys[block], done)
            laid[block] = done + count
        if first is not None:
            starts.append(first)
    return starts


def _laid_units(page):
    """(element, units, ends in a hyphen) of each text and image box in
    the page's flow, in order; footnotes (set in the page's footnote area)
    and generated content (`::before`, `::marker`, the footnote call) are
    not part of the flow's text."""
    from weasyprint.formatting_structure import boxes

    flow = page._page_box.children[0]
    for box in flow.descendants():
        if "::" in (box.element_tag or "") or box.element is None:
            continue
        if isinstance(box, boxes.TextBox):
            count = len(units(box.text))
            if count:
                yield box.element, count, box.text.rstrip()[-1:] in BREAKS_AFTER
        elif isinstance(box, boxes.ReplacedBox):
            yield box.element, 1, False


def _local(tag) -> str:
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _block(element, parents):
    """The block a laid-out element's text belongs to."""
    while element is not None and _local(element.tag) not in BLOCKS:
        element = parents.get(element)
    return element


def _tree_units(root) -> tuple[dict, dict]:
    """Each block element of an ElementTree (WeasyPrint's parsed print HTML)
    with the units of its own text, and with its key text, in document
    order."""

    def visit(element, block):
        tag = _local(element.tag)
        attrs = {_local(name) if name.startswith("{") else name: value
                 for name, value in element.attrib.items()}
        if _skipped(tag, attrs):
            return
        if tag in ATOMS:
            own[block] += ATOM
            keys[block] += _atom_key(attrs)
            return
        if tag in BLOCKS:
            block = element
            own.setdefault(block, "")
            keys.setdefault(block, "")
        own[block] += units(element.text or "")
        keys[block] += units(element.text or "")
        for child in element:
            visit(child, block)
            own[block] += units(child.tail or "")
            keys[block] += units(child.tail or "")

    own: dict = {None: ""}
    keys: dict = {None: ""}
    visit(root, None)
    del own[None], keys[None]
    return own, keys


def _atom_key(attrs: dict) -> str:
    """An image or formula in a block's key: the same mark, with its alt
    text, in the print (an image) and the EPUB (an image, or MathML)."""
    alt = attrs.get("alt") or attrs.get("alttext") or attrs.get("aria-label") or ""
    return ATOM + units(alt)[:KEY_LENGTH] + ATOM


def _ranked(keys: dict) -> dict:
    """Each item's (key, rank): rank n for the n-th item with that key."""
    seen: dict[str, int] = {}
    ranked = {}
    for item, key in keys.items():
        if key:
            ranked[item] = (key, seen.get(key, 0))
            seen[key] = seen.get(key, 0) + 1
    return ranked


# -- the EPUB's side: its XHTML --------------------------------------------

@dataclass
class _Block:
    tag: str
    role: str | None  # its ARIA role: a list item's marker goes inside it
    start: int        # where its start tag starts, in the file's text
    inside: int       # where its content starts (after the start tag)
    end: int = -1     # where its end tag starts
    text: str = ""    # its own units
    key: str = ""     # the same, an image or formula with its alt text
    # For each unit: where a marker before it goes, and whether a line
    # could break before it (after white space, a tag or a hyphen).
    places: list = None

    def __post_init__(self):
        self.places = []


class _Blocks(HTMLParser):
    """The blocks of an XHTML file, with the place of each unit of text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        # Where each line starts: HTMLParser gives (line, column), its
        # lines ended by "\n" only (not by splitlines' other breaks).
        self.lines = [0]
        for line in text.split("\n"):
            self.lines.append(self.lines[-1] + len(line) + 1)
        self.blocks: list[_Block] = []
        self.open: list[tuple[str, _Block | None]] = []  # (tag, block it opened)
        self.current: list[_Block] = []
        self.skipping = 0   # depth inside a skipped element or an atom
        self.gap: int | None = None  # where the tags before the next unit start
        self.space = True   # white space (or a block's start) since the last unit
        self.feed(text)
        self.close()

    def _at(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def _unit(self, char: str, where: int, breakable: bool, key: str = "") -> None:
        if not self.current:
            return
        block = self.current[-1]
        block.places.append((where if self.gap is None else self.gap, breakable))
        block.text += char
        block.key += key or char
        self.gap, self.space = None, False

    def handle_starttag(self, tag, attrs):
        self._start(tag, dict(attrs), closed=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, dict(attrs), closed=True)

    def _start(self, tag, attrs, *, closed):
        where = self._at()
        if self.skipping:
            self.skipping += 0 if closed else 1
            return
        if tag in ATOMS or _skipped(tag, attrs):
            if tag in ATOMS:
                self._unit(ATOM, where, True, _atom_key(attrs))
            self.skipping = 0 if closed else 1
            return
        if tag in BLOCKS:
            block = _Block(tag, attrs.get("role"), where,
                           where + len(self.get_starttag_text()))
            self.blocks.append(block)
            if not closed:
                self.current.append(block)
                self.open.append((tag, block))
            self.gap, self.space = None, True
            return
        if not closed:
            self.open.append((tag, None))
        if self.gap is None:
            self.gap = where

    def handle_endtag(self, tag):
        if self.skipping:
            self.skipping -= 1
            return
        while self.open:
            name, block = self.open.pop()
            if block is not None:
                block.end = self._at()
                self.current.remove(block)
                self.space = True
            if name == tag:
                break
        self.gap = None

    def handle_data(self, data):
        if self.skipping:
            return
        where = self._at()
        for index, char in enumerate(data):
            if char.isspace():
                self.space = True
            elif char not in INVISIBLE:
                before = self.current[-1].text[-1:] if self.current else ""
                self._unit(char, where + index,
                           self.space or before in BREAKS_AFTER)

    def handle_entityref(self, name):
        self._ref(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        self._ref(html.unescape(f"&#{name};"))

    def _ref(self, char: str) -> None:
        """An entity: one character, at the entity's place."""
        if self.skipping or not char or char.isspace() or char in INVISIBLE:
            self.space = self.space or char.isspace()
            return
        before = self.current[-1].text[-1:] if self.current else ""
        self._unit(char, self._at(), self.space or before in BREAKS_AFTER)


# -- the markers, the nav and the package ----------------------------------

OPF = "{http://www.idpf.org/2007/opf}"
# A page that starts at the start of one of these gets its marker before
# the element (between blocks); any other (a list item, a table cell, a
# caption, or any element with a role, such as a reference list's
# `listitem`) inside it, where only that element may stand.
MARK_BEFORE = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
                         "blockquote", "figure", "div", "dl"})


def mark(epub: bytes, starts: list[PageStart], *, source: str,
         also: tuple[tuple[str, str], ...] = ()) -> bytes:
    """`epub` with a page-break marker where each of `starts` is, a
    page-list nav, `source` (what the page numbers are the pages of) as the
    package's pageBreakSource, and the (property, value) metadata in
    `also`. A page whose block is not found (a block only the print has)
    is marked where the next page starts, so the list still has every page."""
    with zipfile.ZipFile(io.BytesIO(epub)) as book:
        infos = book.infolist()
        files = {info.filename: book.read(info) for info in infos}
    package = _package_path(files["META-INF/container.xml"])
    spine, nav = _spine(files[package], package)
    texts = {name: files[name].decode("utf-8") for name in spine}
    where = _places(texts, starts)
    prefix = _free_prefix(texts)
    marked = dict(files)
    for name, text in texts.items():
        inserts = sorted(where.get(name, []))
        if inserts:
            marked[name] = _inserted(text, [
                (offset, _marker(prefix, page)) for offset, page in inserts]).encode()
    pages = sorted((page, name) for name, inserts in where.items()
                   for _, page in inserts)
    marked[nav] = _with_page_list(marked[nav].decode("utf-8"), nav, pages,
                                  prefix).encode()
    meta = [("pageBreakSource", source), *also]
    marked[package] = _with_metadata(files[package].decode("utf-8"), meta).encode()
    return _zipped(infos, marked)


def _places(texts: dict[str, str], starts: list[PageStart]) -> dict:
    """{file: [(offset in its text, page)]} for the page starts."""
    found = {}
    seen: dict[str, int] = {}
    for name, text in texts.items():
        for block in _Blocks(text).blocks:
            key = block.key[:KEY_LENGTH]
            if key:
                found[(key, seen.get(key, 0))] = (name, block)
                seen[key] = seen.get(key, 0) + 1
    where: dict[str, list] = {}
    following = None
    for start in sorted(starts, key=lambda s: s.page, reverse=True):
        hit = found.get((start.key, start.rank))
        place = following if hit is None else (hit[0], _offset(hit[1], start.offset))
        if place is None:  # not found, and no page after it was
            last = list(texts)[-1]
            place = (last, texts[last].rindex("</body>"))
        where.setdefault(place[0], []).append((place[1], start.page))
        following = place
    return where


def _offset(block: _Block, units_before: int) -> int:
    """Where in the file the marker of a page that starts `units_before`
    units into `block` goes: before the first word that starts on the page
    (a word broken by a hyphen belongs to the page it starts on)."""
    if units_before == 0:
        before = block.tag in MARK_BEFORE and block.role is None
        return block.start if before else block.inside
    index = units_before
    while index < len(block.places) and not block.places[index][1]:
        index += 1
    return block.places[index][0] if index < len(block.places) else block.end


def _free_prefix(texts: dict[str, str]) -> str:
    """"page-", unless the book already has an id that starts so."""
    for prefix in ("page-", "pdf-page-", "pubbuild-page-"):
        if not any(f'id="{prefix}' in text for text in texts.values()):
            return prefix
    raise ValueError("no free id prefix for the page-break markers")


def _marker(prefix: str, page: int) -> str:
    return (f'<span epub:type="pagebreak" role="doc-pagebreak" '
            f'id="{prefix}{page}" aria-label="{page}"></span>')


def _inserted(text: str, inserts: list[tuple[int, str]]) -> str:
    """`text` with each (offset, markup) inserted; at one offset, in order."""
    out, last = [], 0
    for offset, markup in inserts:
        out += [text[last:offset], markup]
        last = offset
    return "".join(out) + text[last:]


def _with_page_list(nav: str, nav_name: str, pages: list[tuple[int, str]],
                    prefix: str) -> str:
    """The navigation document with a `page-list` nav after its others;
    hidden, as pandoc's landmarks are: reading systems offer it in their
    own "go to page" (EPUB 3.3, the page-list nav)."""
    folder = posixpath.dirname(nav_name)
    items = "".join(
        f'\n    <li><a href="{html.escape(posixpath.relpath(name, folder))}'
        f'#{prefix}{page}">{page}</a></li>' for page, name in pages)
    page_list = (f'<nav epub:type="page-list" role="doc-pagelist" id="page-list" '
                 f'hidden="hidden">\n  <ol>{items}\n  </ol>\n</nav>\n')
    end = nav.rindex("</body>")
    return nav[:end] + page_list + nav[end:]


def _with_metadata(package: str, meta: list[tuple[str, str]]) -> str:
    lines = "".join(f'    <meta property="{name}">{html.escape(value, quote=False)}'
                    f'</meta>\n' for name, value in meta)
    end = package.index("  </metadata>")
    return package[:end] + lines + package[end:]


def _package_path(container: bytes) -> str:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(container)
    rootfile = root.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}"
                         "rootfile")
    return rootfile.get("full-path")


def _spine(package: bytes, package_name: str) -> tuple[list[str], str]:
    """The zip names of the spine's documents, in reading order, and of the
    navigation document."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(package)
    folder = posixpath.dirname(package_name)
    items = {item.get("id"): item for item in root.iter(f"{OPF}item")}

    def path(item) -> str:
        return posixpath.normpath(posixpath.join(folder, item.get("href")))

    spine = [path(items[ref.get("idref")]) for ref in root.iter(f"{OPF}itemref")]
    nav = next(path(item) for item in items.values()
               if "nav" in (item.get("properties") or "").split())
    return spine, nav


def _zipped(infos: list[zipfile.ZipInfo], files: dict[str, bytes]) -> bytes:
    """The entries again, in their order, with their dates and compression
    (the mimetype stays first and stored, as EPUB requires)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for info in infos:
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            entry.create_system = info.create_system
            book.writestr(entry, files[info.filename])
    return out.getvalue()
