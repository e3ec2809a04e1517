"""PDF/UA-1 requirements of the PDF checked on the file, not on its claim.

pdfua 0.1.3 (the PyPI checker the tests also run) decides 16 of PDF/UA-1's
106 machine-checkable rules. These are the ones a reader of this project's
PDF depends on that it leaves out, or decides more weakly, read from the
file with pikepdf:

- `structure`   all page content is real content in the structure tree or
                an artifact (none tagged but left out of the tree), the
                ParentTree leads each page's content to the element holding
                it, and the tree reads the manuscript's running text in its
                order;
- `headings`    H1-H6 only, none empty, none skipping a level;
- `figures`     every Figure and Formula has /Alt with readable text;
- `tables`      Table > (THead|TBody|TFoot >) TR > TH|TD, a TH in every
                table with data, every TH with a /Scope, a TD's /Headers
                naming TH /IDs;
- `notes`       every Note with an /ID, no /ID on two elements;
- `lists`       L > LI > Lbl? LBody;
- `links`       every link annotation has /Contents, a /StructParent, and
                is the OBJR of a Link element of the tree; a page with
                annotations has /Tabs /S;
- `language`    /Lang on the catalog and well-formed wherever set; the
                words of another language inside an element of that /Lang;
- `title`       /Title, XMP dc:title the same, DisplayDocTitle true;
- `fonts`       every font embedded, with a ToUnicode map that gives text
                for every code the pages show;
- `text`        the text read from the tree, in its order, has every word
                of the manuscript's body (ligatures and hyphenated words
                included).

`check(pdf, body_words=..., placed_words=..., languages=...)` returns the
Problems; an empty list is a pass. This module must not know how the PDF
was made (WeasyPrint, the print HTML) or about the manuscript's format:
the caller gives the words.
"""

from __future__ import annotations

import collections
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

HEADINGS = ("/H1", "/H2", "/H3", "/H4", "/H5", "/H6")
# What may sit directly in what (ISO 32000-1 14.8.4.3, table 336).
TABLE_PARTS = {"/Table": {"/TR", "/THead", "/TBody", "/TFoot", "/Caption"},
               "/THead": {"/TR"}, "/TBody": {"/TR"}, "/TFoot": {"/TR"},
               "/TR": {"/TH", "/TD"}}
# A nested list sits in its parent list (WeasyPrint's tags; PDF 2.0 allows it).
LIST_PARTS = {"/L": {"/LI", "/L", "/Caption"}, "/LI": {"/Lbl", "/LBody"}}
SCOPES = {"/Row", "/Column", "/Both"}
# A BCP 47 tag as far as its shape goes: language, then subtags.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Hyphens a line break adds (CSS `hyphens: auto` draws U+2010).
_BREAK_HYPHENS = ("\u2010", "\u00ad")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Problem:
    """One requirement that does not hold: which, where, what."""

    requirement: str
    message: str
    page: int | None = None

    def __str__(self) -> str:
        where = f" (page {self.page})" if self.page else ""
        return f"{self.requirement}{where}: {self.message}"


@dataclass
class Element:
    """A structure element, with what the checks need of it."""

    role: str
    obj: pikepdf.Dictionary
    parent: Element | None
    page: int | None
    lang: str | None  # its own or inherited, else the catalog's
    kids: list[Element] = field(default_factory=list)
    content: list[tuple[int, int]] = field(default_factory=list)  # (page, MCID)
    annotations: list[pikepdf.Dictionary] = field(default_factory=list)


@dataclass
class Marked:
    """A marked-content sequence of a page: its tag, MCID and text (the tag
    None: text shown outside any sequence)."""

    tag: str | None
    mcid: int | None
    text: str = ""
    artifact: bool = False


def check(pdf: bytes | Path, body_words: Iterable[str] = (),
          placed_words: Iterable[str] = (),
          languages: dict[str, Iterable[str]] | None = None) -> list[Problem]:
    """Every problem found in `pdf`. `body_words`: the manuscript's running
    text, which the tagged text must give back in its order; `placed_words`:
    its words the layout places elsewhere (notes at the page foot, figures
    and tables moved), which must be there in any order; `languages`:
    language tag to words that must be read in that language."""
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    with pikepdf.open(io.BytesIO(data)) as document:
        reading = _Reading(document)
        problems = [*_title(document), *reading.structure(), *reading.headings(),
                    *reading.figures(), *reading.tables(), *reading.notes(),
                    *reading.lists(),
                    *reading.links(), *reading.language(languages or {}),
                    *reading.fonts(), *reading.words(body_words, placed_words)]
    return problems


def artifact_text(pdf: bytes | Path) -> dict[int, str]:
    """Each page's text marked as artifacts (running head, page number)."""
    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    with pikepdf.open(io.BytesIO(data)) as document:
        return {number: " ".join(marked.text for marked in sequences if marked.artifact)
                for number, sequences in _Reading(document).marked.items()}


def words(text: str) -> list[str]:
    """The words of `text` as the checks compare them (case folded)."""
    return [word.casefold() for word in _WORD.findall(text)]


# -- the document's title ------------------------------------------------------

def _title(document: pikepdf.Pdf) -> Iterator[Problem]:
    title = str(document.docinfo.get("/Title", "")).strip()
    if not title:
        yield Problem("title", "the document information has no /Title")
    with document.open_metadata(set_pikepdf_as_editor=False,
                                update_docinfo=False) as xmp:
        shown = xmp.get("dc:title")
    if not shown or str(shown).strip() != title:
        yield Problem("title", f"XMP dc:title {shown!r} is not the /Title {title!r}")
    preferences = document.Root.get("/ViewerPreferences", {})
    if preferences.get("/DisplayDocTitle") is not True:
        yield Problem("title", "/ViewerPreferences /DisplayDocTitle is not true: "
                               "the window shows the file name")


# -- the structure tree and the pages' content ---------------------------------

class _Reading:
    """The structure tree, walked once, and each page's marked content."""

    def __init__(self, document: pikepdf.Pdf):
        self.document = document
        self.pages = {page.objgen: number
                      for number, page in enumerate(document.pages, start=1)}
        self.lang = str(document.Root.get("/Lang", "")) or None
        self.elements: list[Element] = []
        root = document.Root.get("/StructTreeRoot")
        self.root = root
        if root is not None:
            for kid in _kids(root):
                self._walk(kid, None, None, self.lang)
        self.ids = collections.Counter(str(element.obj.ID) for element in self.elements
                                       if "/ID" in element.obj)
        self.fonts_seen: dict[tuple[int, int], _Font] = {}
        self.marked = {number: self._marked(page)
                       for number, page in enumerate(document.pages, start=1)}

    def _walk(self, node, parent: Element | None, page: int | None,
              lang: str | None) -> None:
        if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
            return
        if "/Pg" in node:
            page = self.pages.get(node.Pg.objgen, page)
        if "/Lang" in node:
            lang = str(node.Lang)
        element = Element(str(node.S), node, parent, page, lang)
        self.elements.append(element)
        if parent is not None:
            parent.kids.append(element)
        for kid in _kids(node):
            if isinstance(kid, int):
                element.content.append((page, kid))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                where = self.pages.get(kid.Pg.objgen, page) if "/Pg" in kid else page
                element.content.append((where, int(kid.MCID)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                element.annotations.append(kid.Obj)
            else:
                self._walk(kid, element, page, lang)

    def _marked(self, page: pikepdf.Page) -> list[Marked]:
        """The page's marked-content sequences in painting order, with their
        text; text shown outside any is one with the tag None."""
        out: list[Marked] = []
        stack: list[Marked] = []
        fonts = page.Resources.get("/Font", {})
        font = None
        for instruction in pikepdf.parse_content_stream(page):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                continue
            operands, operator = instruction.operands, str(instruction.operator)
            if operator in ("BDC", "BMC"):
                properties = operands[1] if len(operands) > 1 else None
                mcid = (int(properties.MCID)
                        if isinstance(properties, pikepdf.Dictionary)
                        and "/MCID" in properties else None)
                tag = str(operands[0])
                inside = bool(stack) and stack[-1].artifact
                stack.append(Marked(tag, mcid, artifact=inside or tag == "/Artifact"))
                out.append(stack[-1])
            elif operator == "EMC" and stack:
                stack.pop()
            elif operator == "Tf":
                font = self._font(fonts.get(str(operands[0])))
            elif operator in ("Tj", "TJ", "'", '"'):
                text = font.decode(operands[-1]) if font else ""
                if stack:
                    stack[-1].text += text
                else:
                    out.append(Marked(None, None, text))
        return out

    def _font(self, font) -> _Font | None:
        if not isinstance(font, pikepdf.Dictionary):
            return None
        key = font.objgen
        if key not in self.fonts_seen:
            self.fonts_seen[key] = _Font(font)
        return self.fonts_seen[key]

    # -- the checks --

    def structure(self) -> Iterator[Problem]:
        if self.root is None:
            yield Problem("structure", "no structure tree")
            return
        tagged = {spot for element in self.elements for spot in element.content}
        for number, sequences in self.marked.items():
            for marked in sequences:
                if marked.tag is None and marked.text.strip():
                    yield Problem("structure", f"text neither tagged nor an artifact: "
                                  f"{marked.text.strip()[:40]!r}", number)
                elif (marked.mcid is not None and not marked.artifact
                      and (number, marked.mcid) not in tagged):
                    yield Problem("structure", f"{marked.tag} content {marked.mcid} "
                                  f"is not in the structure tree nor an artifact: "
                                  f"{marked.text.strip()[:40]!r}", number)
        yield from self._parent_tree()

    def _parent_tree(self) -> Iterator[Problem]:
        """The ParentTree leads from each page's content to the element
        holding it (what a reader uses to go from the page to the tree)."""
        parents = _number_tree(self.root.get("/ParentTree"))
        holder = {spot: element.obj.objgen for element in self.elements
                  for spot in element.content}
        for number, page in enumerate(self.document.pages, start=1):
            if "/StructParents" not in page.obj:
                if any(m.mcid is not None for m in self.marked[number]):
                    yield Problem("structure", "a page with tagged content and no "
                                  "/StructParents", number)
                continue
            mapped = parents.get(int(page.obj.StructParents))
            mapped = list(mapped) if isinstance(mapped, pikepdf.Array) else []
            for marked in self.marked[number]:
                spot = (number, marked.mcid)
                if marked.mcid is None or spot not in holder:
                    continue
                owner = mapped[marked.mcid] if marked.mcid < len(mapped) else None
                if getattr(owner, "objgen", None) != holder[spot]:
                    yield Problem("structure", f"the ParentTree does not lead content "
                                  f"{marked.mcid} to the element holding it", number)

    def _text(self, spot: tuple[int, int]) -> str:
        for marked in self.marked.get(spot[0], ()):
            if marked.mcid == spot[1] and not marked.artifact:
                return marked.text
        return ""

    def _element_text(self, element: Element) -> str:
        own = "".join(self._text(spot) for spot in element.content)
        return own + "".join(self._element_text(kid) for kid in element.kids)

    def headings(self) -> Iterator[Problem]:
        level = 0
        for element in self.elements:
            if element.role == "/H":
                yield Problem("headings", "a generic /H heading", element.page)
            if element.role not in HEADINGS:
                continue
            text = " ".join(self._element_text(element).split())
            if not text:
                yield Problem("headings", f"empty {element.role}", element.page)
            number = int(element.role[2])
            if number > level + 1:
                yield Problem("headings", f"{element.role} {text[:40]!r} follows "
                              f"{'no heading' if not level else f'/H{level}'}: "
                              "a level skipped", element.page)
            level = number

    def figures(self) -> Iterator[Problem]:
        for element in self.elements:
            if element.role not in ("/Figure", "/Formula"):
                continue
            alt = str(element.obj.get("/Alt", element.obj.get("/ActualText", "")))
            if not words(alt):
                yield Problem("figures", f"{element.role} without readable /Alt "
                              f"({alt!r})", element.page)

    def tables(self) -> Iterator[Problem]:
        for element in self.elements:
            yield from _misplaced("tables", element, TABLE_PARTS)
            if element.role == "/Table":
                cells = [cell for cell in _descendants(element)
                         if cell.role in ("/TH", "/TD")]
                if any(c.role == "/TD" for c in cells) and not any(
                        c.role == "/TH" for c in cells):
                    yield Problem("tables", "a table with data cells and no TH",
                                  element.page)
            scope = _attribute(element.obj, "/Scope")
            if element.role == "/TH" and str(scope) not in SCOPES:
                yield Problem("tables", f"TH {self._element_text(element)[:30]!r} "
                              "without /Scope", element.page)
            headers = _attribute(element.obj, "/Headers")
            if element.role == "/TD" and headers is not None:
                for name in map(str, headers):
                    if name not in self.ids:
                        yield Problem("tables", f"TD /Headers names {name!r}, which "
                                      "no TH has as its /ID", element.page)

    def notes(self) -> Iterator[Problem]:
        for element in self.elements:
            if element.role == "/Note" and "/ID" not in element.obj:
                yield Problem("notes", "a Note without /ID", element.page)
        for name, count in self.ids.items():
            if count > 1:
                yield Problem("notes", f"the /ID {name!r} is on {count} elements")

    def lists(self) -> Iterator[Problem]:
        for element in self.elements:
            yield from _misplaced("lists", element, LIST_PARTS)
            if element.role == "/LI" and "/LBody" not in {k.role for k in element.kids}:
                yield Problem("lists", "LI without LBody", element.page)
            if element.role == "/L" and "/LI" not in {k.role for k in element.kids}:
                yield Problem("lists", "L without LI", element.page)
            if element.role in ("/LI", "/Lbl", "/LBody"):
                want = "/L" if element.role == "/LI" else "/LI"
                if element.parent is None or element.parent.role != want:
                    yield Problem("lists", f"{element.role} outside {want}",
                                  element.page)

    def links(self) -> Iterator[Problem]:
        linked = {annotation.objgen: element for element in self.elements
                  for annotation in element.annotations}
        parents = _number_tree(self.root.get("/ParentTree")) if self.root else {}
        for number, page in enumerate(self.document.pages, start=1):
            if "/Annots" in page.obj and page.obj.get("/Tabs") != "/S":
                yield Problem("links", "a page with annotations has no /Tabs /S "
                              "(tab order by structure)", number)
            for annotation in page.obj.get("/Annots", ()):
                if annotation.get("/Subtype") != "/Link":
                    continue
                if not str(annotation.get("/Contents", "")).strip():
                    yield Problem("links", "a link annotation without /Contents",
                                  number)
                element = linked.get(annotation.objgen)
                if element is None or element.role != "/Link":
                    yield Problem("links", "a link annotation that is not the OBJR "
                                  "of a Link element in the tree", number)
                parent = parents.get(int(annotation.get("/StructParent", -1)))
                owner = getattr(parent, "objgen", None)
                if element is None or owner != element.obj.objgen:
                    yield Problem("links", "a link annotation whose /StructParent "
                                  "does not lead to its Link element", number)

    def language(self, languages: dict[str, Iterable[str]]) -> Iterator[Problem]:
        if not self.lang:
            yield Problem("language", "no /Lang on the catalog")
        for element in self.elements:
            lang = element.obj.get("/Lang")
            if lang is not None and not _LANGUAGE.match(str(lang)):
                yield Problem("language", f"{element.role} /Lang {str(lang)!r} is "
                              "not a language tag", element.page)
        spoken = collections.defaultdict(set)
        for element in self.elements:
            for spot in element.content:
                for word in words(self._text(spot)):
                    spoken[word].add((element.lang or "").casefold())
        for lang, expected in languages.items():
            for word in expected:
                for found in words(word):
                    if lang.casefold() not in spoken.get(found, set()):
                        read = sorted(spoken.get(found, ())) or "absent"
                        yield Problem("language", f"{word!r} is not read as {lang} "
                                      f"(read as {read})")

    def fonts(self) -> Iterator[Problem]:
        # Also the fonts the pages do not show directly (an SVG's text, in
        # its form XObject): embedded and mapped, their codes not counted.
        for item in self.document.objects:
            if isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/Font" \
                    and item.get("/Subtype") in ("/Type0", "/TrueType", "/Type1",
                                                 "/Type3"):
                self._font(item)
        for font in self.fonts_seen.values():
            yield from font.problems()

    def words(self, body_words: Iterable[str],
              placed_words: Iterable[str]) -> Iterator[Problem]:
        """Every word is in the tagged text, and the body's in their order."""
        body = [w for word in body_words for w in words(word)]
        wanted = collections.Counter(body)
        wanted.update(w for word in placed_words for w in words(word))
        if not wanted:
            return
        read = words(self.text())
        missing = wanted - collections.Counter(read)
        if missing:
            sample = ", ".join(sorted(missing)[:12])
            yield Problem("text", f"{sum(missing.values())} of the manuscript's "
                          f"{sum(wanted.values())} words are not in the tagged "
                          f"text: {sample}")
            return
        # The body's words are a subsequence of the text read in tree order
        # (the greedy match decides it): else the tree's order is not the text's.
        position = 0
        for word in read:
            if position < len(body) and word == body[position]:
                position += 1
        if position < len(body):
            context = " ".join(body[max(0, position - 5):position + 5])
            yield Problem("structure", f"reading order: the tree reads the body's "
                          f"words out of order at word {position} ({context!r})")

    def text(self) -> str:
        """The tagged text in the tree's order; a word hyphenated at a line
        end is joined again."""
        pieces = [self._text(spot) for element in self.elements
                  for spot in element.content]
        out = ""
        for piece in pieces:
            if out.rstrip(" ").endswith(_BREAK_HYPHENS):
                out = out.rstrip(" ")[:-1] + piece
            else:
                out += " " + piece
        return out


class _Font:
    """A font of the pages: its ToUnicode map and the codes shown in it."""

    def __init__(self, font: pikepdf.Dictionary):
        self.font = font
        self.name = str(font.get("/BaseFont", "?"))
        self.width = 2 if font.get("/Subtype") == "/Type0" else 1
        self.map = _to_unicode(font.get("/ToUnicode"))
        self.unmapped: set[int] = set()

    def decode(self, shown) -> str:
        strings = shown if isinstance(shown, pikepdf.Array) else [shown]
        out = []
        for string in strings:
            if not isinstance(string, pikepdf.String):
                continue
            data = bytes(string)
            for start in range(0, len(data) - self.width + 1, self.width):
                code = int.from_bytes(data[start:start + self.width], "big")
                text = self.map.get(code)
                if not text or "\ufffd" in text:
                    self.unmapped.add(code)
                out.append(text or "")
        return "".join(out)

    def problems(self) -> Iterator[Problem]:
        if "/ToUnicode" not in self.font:
            yield Problem("fonts", f"{self.name} has no ToUnicode map")
        elif self.unmapped:
            yield Problem("fonts", f"{self.name}: {len(self.unmapped)} glyph code(s) "
                          "shown with no text in ToUnicode")
        if self.font.get("/Subtype") == "/Type3":
            return
        descriptor = (self.font.DescendantFonts[0] if "/DescendantFonts" in self.font
                      else self.font).get("/FontDescriptor", {})
        if not {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()):
            yield Problem("fonts", f"{self.name} is not embedded")


# -- helpers ---------------------------------------------------------------------

def _kids(node) -> list:
    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _misplaced(check: str, element, parts: dict) -> Iterator[Problem]:
    """A kid whose role `parts` does not allow inside its parent's role
    (a TD in a Table, a P in an L)."""
    allowed = parts.get(element.role)
    if allowed is None:
        return
    for kid in element.kids:
        if kid.role not in allowed:
            yield Problem(check, f"{kid.role} inside {element.role}", kid.page)


def _descendants(element: Element) -> Iterator[Element]:
    for kid in element.kids:
        yield kid
        yield from _descendants(kid)


def _attribute(node: pikepdf.Dictionary, key: str):
    attributes = node.get("/A")
    attributes = (list(attributes) if isinstance(attributes, pikepdf.Array)
                  else [attributes])
    for attribute in attributes:
        if isinstance(attribute, pikepdf.Dictionary) and key in attribute:
            return attribute[key]
    return None


def _number_tree(tree) -> dict[int, object]:
    """A number tree's leaves (ISO 32000-1 7.9.7), /Nums and /Kids."""
    out: dict[int, object] = {}
    if not isinstance(tree, pikepdf.Dictionary):
        return out
    nums = list(tree.get("/Nums", ()))
    for key, value in zip(nums[::2], nums[1::2], strict=True):
        out[int(key)] = value
    for kid in tree.get("/Kids", ()):
        out.update(_number_tree(kid))
    return out


_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _to_unicode(stream) -> dict[int, str]:
    """A ToUnicode CMap's code-to-text map (its bfchar and bfrange)."""
    if not isinstance(stream, pikepdf.Stream):
        return {}
    data = stream.read_bytes()
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.DOTALL):
        values = _HEX.findall(block)
        for code, text in zip(values[::2], values[1::2], strict=True):
            out[int(code, 16)] = _utf16(text)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.DOTALL):
        for line in block.splitlines():
            values = _HEX.findall(line)
            if len(values) < 3:
                continue
            low, high = int(values[0], 16), int(values[1], 16)
            if b"[" in line:
                for code, text in zip(range(low, high + 1), values[2:], strict=False):
                    out[code] = _utf16(text)
            else:
                first = int(values[2], 16)
                for offset in range(high - low + 1):
                    out[low + offset] = chr(first + offset)
    return out


def _utf16(hex_text: bytes) -> str:
    return bytes.fromhex(hex_text.decode("ascii")).decode("utf-16-be", "replace")
