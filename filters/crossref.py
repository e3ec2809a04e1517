"""Number figures, tables, equations, listings and sections, and resolve
the references to them, in the three syntaxes authors bring.

- Quarto: `{#fig-x}`, `{#tbl-x}`, `{#eq-x}`, `{#sec-x}`, `{#lst-x}` with
  `lst-cap`; references `@fig-x`, `[@fig-x; @fig-y]`.
- pandoc-crossref: `{#fig:x}`, … and `caption=` on a listing; references
  `@fig:x`, `[@fig:a; @fig:b]` ("Figures 1 and 2"), `-@fig:x` (the bare
  number), `@Fig:x` (the prefix capitalised).
- Open Journals (LaTeX, turned into Spans by the latex filter): `\\label{x}`
  in a caption, an equation or after a heading, `[]{label="x"}` in a
  caption; `\\ref{x}` (the number), `\\autoref{x}`/`\\cref{x}` ("Figure 1"),
  `\\Cref`, `\\eqref{x}` ("(1)"), `\\pageref{x}` (the number: pages exist in
  the PDF only).

The three may be mixed in one manuscript. A figure is a figure by what it
is, not by its id's prefix: `\\label{results}` on an image is a figure.

What it leaves in the AST, for every writer (pubbuild/formats.py turns
the marked pieces into Word fields and JATS labels):

- every captioned figure and table, and every listing, gets its caption
  label first: `Span.xref-label` ("Figure 1", attributes `xref-kind`,
  `xref-number`) then `Span.xref-delim` (": "); a figure div holding
  figures (subfigures) becomes a Figure of class `subfigures` whose inner
  figures are labelled "(a)", "(b)"… and referred to as "Figure 2b";
- a labelled display equation becomes `Span.equation#id` holding the Math
  and `Span.equation-number` "(1)"; its `xref-alt` ("Equation 1") goes
  into the formula's alt text;
- a referenced or `number-sections` manuscript gets section numbers in
  its headings (`Span.header-section-number`): "Section 2.1" must be
  findable;
- a reference becomes a `Link.xref` to `#id` whose last Str is the number
  (attributes `xref-kind`, `xref-id`, `xref-number`); the prefix word
  ("Figure ", joined by a no-break space) is inside the link for one
  target, before the links for a group ("Figures 1 and 2").

A Cite whose keys are all known ids is a cross-reference and never reaches
the citation checks; an id that is also a bibliography key is an error
naming both places; a Cite mixing the two is an error. A reference to an
unknown id (a Cite whose keys all have a cross-reference prefix, or a
LaTeX `\\ref`) is a warning (an error under `--strict`) naming the
nearest known ids, and prints as the id. Two targets with one id is an
error.

Metadata options, under `crossref:` (Quarto's names) or at the top level
(pandoc-crossref's names), all optional:

    fig-title / figureTitle     caption label, default by `lang`: Figure
    tbl-title / tableTitle      Table
    lst-title / listingTitle    Listing
    eq-title                    Equation (in an equation's alt text)
    fig-prefix / figPrefix      reference word; one, or [singular, plural]
    tbl-prefix / tblPrefix, eq-prefix / eqnPrefix, sec-prefix / secPrefix,
    lst-prefix / lstPrefix
    title-delim / titleDelim    between label and caption, default ":"
    lof / lot: true             a list of figures / tables at the start
    lof-title / lofTitle, lot-title / lotTitle

Languages with their own words: en (default), de, fr, es (`lang`).

Formats: all; after latex (it resolves the labels and references latex
makes) and before citations (a cross-reference is never a citation).
"""

from __future__ import annotations

import copy
import difflib
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/crossref.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context
from pubbuild.diagnostics import SourceText, display_path

NAME = "crossref"
KINDS = ("fig", "tbl", "eq", "sec", "lst")
NBSP = "\u00a0"

# A key that looks like a cross-reference (Quarto's `fig-x`, pandoc-crossref's
# `fig:x`): not looked up in the bibliography when it is none of its keys.
TYPED = re.compile(r"^(fig|tbl|eq|sec|lst|thm|lem|cor|prp|cnj|def|exm"
                   r"|exr|rem|sol)[-:]\S", re.IGNORECASE)
EQUATION_ID = re.compile(r"^\{#((?:eq)[-:][^\s}]+)\}$")

# The words per language: caption label, reference (singular, plural).
WORDS = {
    "en": {"fig": ("Figure", "Figures"), "tbl": ("Table", "Tables"),
           "eq": ("Equation", "Equations"), "sec": ("Section", "Sections"),
           "lst": ("Listing", "Listings"), "and": "and",
           "lof": "List of Figures", "lot": "List of Tables"},
    "de": {"fig": ("Abbildung", "Abbildungen"), "tbl": ("Tabelle", "Tabellen"),
           "eq": ("Gleichung", "Gleichungen"), "sec": ("Abschnitt", "Abschnitte"),
           "lst": ("Listing", "Listings"), "and": "und",
           "lof": "Abbildungsverzeichnis", "lot": "Tabellenverzeichnis"},
    "fr": {"fig": ("Figure", "Figures"), "tbl": ("Tableau", "Tableaux"),
           "eq": ("Équation", "Équations"), "sec": ("Section", "Sections"),
           "lst": ("Listing", "Listings"), "and": "et",
           "lof": "Table des figures", "lot": "Liste des tableaux"},
    "es": {"fig": ("Figura", "Figuras"), "tbl": ("Tabla", "Tablas"),
           "eq": ("Ecuación", "Ecuaciones"), "sec": ("Sección", "Secciones"),
           "lst": ("Listado", "Listados"), "and": "y",
           "lof": "Índice de figuras", "lot": "Índice de tablas"},
}
# Option names: Quarto's (under `crossref:`) -> pandoc-crossref's (top level).
OPTION_NAMES = {
    "fig-title": "figureTitle", "tbl-title": "tableTitle",
    "lst-title": "listingTitle", "eq-title": "equationTitle",
    "fig-prefix": "figPrefix", "tbl-prefix": "tblPrefix", "eq-prefix": "eqnPrefix",
    "sec-prefix": "secPrefix", "lst-prefix": "lstPrefix",
    "title-delim": "titleDelim", "lof-title": "lofTitle", "lot-title": "lotTitle",
}
DEFAULTS = {"title-delim": ":", "lof": False, "lot": False}
# LaTeX reference commands (from the latex filter) -> how they print.
COMMANDS = {"ref": "bare", "pageref": "bare", "eqref": "parenthesised",
            "autoref": "prefixed", "cref": "prefixed", "Cref": "capitalised",
            "Autoref": "capitalised", "nameref": "prefixed"}


@dataclass
class Target:
    """One numbered thing."""

    id: str
    kind: str     # one of KINDS
    number: str   # "2", "2b" (a subfigure), "3.1" (a section)
    line: int | None
    caption: list = field(default_factory=list)  # for the lists of figures
    referenced_at: list = field(default_factory=list)  # lines


@dataclass
class Targets:
    """What the filter found; `check` lists it."""

    by_id: dict[str, Target] = field(default_factory=dict)
    words: dict = field(default_factory=dict)
    sections_shown: bool = False

    def add(self, target: Target, reporter) -> None:
        first = self.by_id.get(target.id)
        if first is not None:
            where = f" (first at line {first.line})" if first.line else ""
            reporter.error(f"duplicate id {target.id!r}: a {_KIND_NAMES[target.kind]} "
                           f"and a {_KIND_NAMES[first.kind]}{where} share it",
                           target.line, source=NAME)
            return
        self.by_id[target.id] = target


_KIND_NAMES = {"fig": "figure", "tbl": "table", "eq": "equation",
               "sec": "section", "lst": "listing"}


# -- options -------------------------------------------------------------------

def _options(doc: pf.Doc) -> dict:
    """The words and options, from `lang`, `crossref:` and the top level;
    the options leave the metadata (they are not the article's)."""
    lang = str(doc.get_metadata("lang", default="en") or "en").lower()[:2]
    words = WORDS.get(lang, WORDS["en"])
    block = doc.get_metadata("crossref", default={}) or {}
    block = block if isinstance(block, dict) else {}
    chosen = dict(DEFAULTS)
    for quarto, camel in OPTION_NAMES.items():
        for value in (doc.get_metadata(camel, default=None), block.get(quarto),
                      block.get(camel)):
            if value is not None:
                chosen[quarto] = value
    for flag in ("lof", "lot"):
        value = block.get(flag, doc.get_metadata(flag, default=None))
        if value is not None:
            chosen[flag] = value in (True, "true", "yes")
    for key in ("crossref", *OPTION_NAMES.values(), "lof", "lot"):
        if key in doc.metadata:
            del doc.metadata[key]
    resolved = {"delim": str(chosen["title-delim"]), "and": words["and"],
                "lof": chosen["lof"], "lot": chosen["lot"],
                "lof-title": str(chosen.get("lof-title", words["lof"])),
                "lot-title": str(chosen.get("lot-title", words["lot"]))}
    for kind in KINDS:
        singular, plural = words[kind]
        resolved[f"{kind}-title"] = str(chosen.get(f"{kind}-title", singular))
        prefix = chosen.get(f"{kind}-prefix")
        if isinstance(prefix, list) and prefix:
            resolved[f"{kind}-prefix"] = (str(prefix[0]), str(prefix[-1]))
        elif prefix is not None:
            resolved[f"{kind}-prefix"] = (str(prefix), str(prefix))
        else:
            resolved[f"{kind}-prefix"] = (singular, plural)
    return resolved


# -- finding and numbering -----------------------------------------------------

def prepare(doc: pf.Doc) -> None:
    shared = context.of(doc)
    words = _options(doc)
    shared.options[NAME] = words
    shared.cross_references = Targets(words=words)
    if shared.reporter.source:
        shared.reporter.source.rewind()
    counters = dict.fromkeys(KINDS, 0)
    numbering = _Numbering(doc, shared, counters)
    doc.content = numbering.blocks(list(doc.content))
    numbering.sections(doc)
    _collisions(doc, shared)
    if shared.reporter.source:
        shared.reporter.source.rewind()
    _lists(doc, words, shared.cross_references)


class _Numbering:
    """One walk over the blocks in reading order: every target gets its id
    (from whichever syntax) and number, and its label in the caption."""

    def __init__(self, doc, shared, counters):
        self.doc = doc
        self.shared = shared
        self.words = shared.options[NAME]
        self.targets = shared.cross_references
        self.counters = counters

    def locate(self, ident: str) -> int | None:
        return self.shared.reporter.locate(
            f"#{ident}", f"\\label{{{ident}}}", f'label="{ident}"', ident)

    def blocks(self, blocks: list) -> list:
        out = []
        for block in blocks:
            if out and isinstance(out[-1], pf.Header) and _lone_label(block):
                # `# Method` then `\label{sec:method}` on the next line: the
                # heading's label, as LaTeX reads it.
                out[-1].content.append(block.content[0])
                self.header(out[-1], again=True)
                continue
            out.extend(self.block(block))
        return out

    def block(self, block) -> list:
        if isinstance(block, pf.Div) and _figure_id(block) and any(
                isinstance(child, pf.Figure) or _images_only(child)
                for child in block.content):
            return [self.figure_div(block)]
        if isinstance(block, pf.Div) and _kind_of(block.identifier) == "tbl" and (
                tables := [c for c in block.content if isinstance(c, pf.Table)]):
            tables[0].identifier = block.identifier  # Quarto's table div
            block.identifier = ""
            block.content = self.blocks(list(block.content))
            return [block] if block.attributes or block.classes else list(block.content)
        if isinstance(block, pf.Figure):
            self.figure(block)
            return [block]
        if isinstance(block, pf.Table):
            self.table(block)
            return [block]
        if isinstance(block, pf.CodeBlock) and (
                _kind_of(block.identifier) == "lst" or "lst-cap" in block.attributes
                or "caption" in block.attributes):
            return [self.listing(block)]
        if isinstance(block, pf.Header):
            self.header(block)
            return [block]
        if isinstance(block, pf.Para) and len(block.content) == 1 and isinstance(
                block.content[0], pf.Image) and _kind_of(
                    block.content[0].identifier) == "fig":
            # `![](map.png){#fig-map}`: no caption, so pandoc made no figure;
            # Quarto numbers it all the same.
            image = block.content[0]
            figure = pf.Figure(pf.Plain(image), identifier=image.identifier)
            image.identifier = ""
            self.figure(figure)
            return [figure]
        if isinstance(block, pf.Para | pf.Plain):
            block.content = self.equations(list(block.content))
            return [block]
        if isinstance(block, pf.Div | pf.BlockQuote):
            block.content = self.blocks(list(block.content))
        elif isinstance(block, pf.BulletList | pf.OrderedList):
            for item in block.content:
                item.content = self.blocks(list(item.content))
        elif isinstance(block, pf.DefinitionList):
            for item in block.content:
                for definition in item.definitions:
                    definition.content = self.blocks(list(definition.content))
        return [block]

    # Figures and tables ---------------------------------------------------

    def figure(self, figure: pf.Figure, parent: str | None = None,
               letter: str = "") -> None:
        ident = _take_label(figure) or figure.identifier
        figure.identifier = ident
        if not _caption_inlines(figure.caption) and not parent and not ident:
            return  # an image without caption: nothing to number
        if parent is None:
            self.counters["fig"] += 1
            number = str(self.counters["fig"])
            label = [pf.Str(self.words["fig-title"]), pf.Str(NBSP), pf.Str(number)]
        else:
            number = parent + letter
            label = [pf.Str(f"({letter})")]
        self.register(ident, "fig", number, figure.caption)
        _label_caption(figure.caption, label, "fig", number,
                       "" if parent else self.words["delim"])

    def figure_div(self, div: pf.Div) -> pf.Figure:
        """Quarto's and pandoc-crossref's figure div: images or figures and,
        last, a paragraph that is the whole figure's caption. One image is
        a figure with that caption; several are its subfigures."""
        content = list(div.content)
        caption_blocks = []
        if len(content) > 1 and isinstance(content[-1], pf.Para) \
                and not _images_only(content[-1]):
            caption_blocks = [pf.Plain(*content.pop().content)]
        parts: list = []
        for child in content:
            if _images_only(child):  # `![](a.png)`: no caption, so no Figure
                for image in (c for c in child.content if isinstance(c, pf.Image)):
                    parts.append(pf.Figure(pf.Plain(image),
                                           identifier=image.identifier))
                    image.identifier = ""
            else:
                parts.append(child)
        inner = [part for part in parts if isinstance(part, pf.Figure)]
        _describe(inner, caption_blocks)
        attributes = {"identifier": div.identifier, "classes": list(div.classes),
                      "attributes": dict(div.attributes)}
        if len(parts) == 1 and len(inner) == 1:  # one image: one figure
            figure = pf.Figure(*inner[0].content, caption=pf.Caption(
                *caption_blocks) if caption_blocks else inner[0].caption,
                **attributes)
            self.figure(figure)
            return figure
        self.counters["fig"] += 1
        number = str(self.counters["fig"])
        for index, child in enumerate(inner):
            self.figure(child, parent=number, letter=string.ascii_lowercase[index % 26])
        attributes["classes"].insert(0, "subfigures")
        outer = pf.Figure(*parts, caption=pf.Caption(*caption_blocks), **attributes)
        self.register(div.identifier, "fig", number, outer.caption)
        label = [pf.Str(self.words["fig-title"]), pf.Str(NBSP), pf.Str(number)]
        _label_caption(outer.caption, label, "fig", number, self.words["delim"])
        return outer

    def table(self, table: pf.Table) -> None:
        ident = _take_label(table) or table.identifier
        table.identifier = ident
        if not _caption_inlines(table.caption) and not ident:
            return  # neither caption nor id: nothing to number
        self.counters["tbl"] += 1
        number = str(self.counters["tbl"])
        self.register(ident, "tbl", number, table.caption)
        label = [pf.Str(self.words["tbl-title"]), pf.Str(NBSP), pf.Str(number)]
        _label_caption(table.caption, label, "tbl", number, self.words["delim"])

    def listing(self, code: pf.CodeBlock) -> pf.Div:
        ident = code.identifier
        caption = code.attributes.pop("lst-cap", None) or code.attributes.pop(
            "caption", "")
        code.identifier = ""
        self.counters["lst"] += 1
        number = str(self.counters["lst"])
        inlines = [pf.Span(pf.Str(self.words["lst-title"]), pf.Str(NBSP),
                           pf.Str(number), classes=["xref-label"],
                           attributes={"xref-kind": "lst", "xref-number": number})]
        if caption:
            inlines += [_delim(self.words["delim"]), *_words(caption)]
        self.register(ident, "lst", number, [pf.Plain(*_words(caption))])
        return pf.Div(pf.Para(*inlines), code, identifier=ident, classes=["listing"])

    # Headers and equations -----------------------------------------------

    def header(self, header: pf.Header, again: bool = False) -> None:
        label = _take_label(header)
        if label:
            if again:  # registered under its old id already: now the label's
                self.targets.by_id.pop(header.identifier, None)
            header.identifier = label
        if _kind_of(header.identifier) == "sec" or label:
            self.register(header.identifier, "sec", "", None)

    def equations(self, inlines: list) -> list:
        """`$$…$$ {#eq-x}` (the id is a Str after the math) and the latex
        filter's Span around a `\\label`ed formula: numbered equations."""
        out: list = []
        index = 0
        while index < len(inlines):
            item = inlines[index]
            if isinstance(item, pf.Math) and item.format == "DisplayMath":
                following = inlines[index + 1:index + 3]
                if following and isinstance(following[0], pf.Space):
                    following = following[1:]
                match = (EQUATION_ID.match(following[0].text) if following
                         and isinstance(following[0], pf.Str) else None)
                if match:
                    out.append(self.equation(item, match[1]))
                    index += 3 if isinstance(inlines[index + 1], pf.Space) else 2
                    continue
            if (isinstance(item, pf.Span) and item.identifier
                    and any(isinstance(c, pf.Math) and c.format == "DisplayMath"
                            for c in item.content)):
                math = next(c for c in item.content if isinstance(c, pf.Math))
                out.append(self.equation(math, item.identifier))
                index += 1
                continue
            out.append(item)
            index += 1
        return out

    def equation(self, math: pf.Math, ident: str) -> pf.Span:
        self.counters["eq"] += 1
        number = str(self.counters["eq"])
        self.register(ident, "eq", number, None)
        shown = pf.Span(pf.Str(f"({number})"), classes=["equation-number"])
        return pf.Span(math, shown,
                       identifier=ident, classes=["equation"],
                       attributes={"xref-kind": "eq", "xref-number": number,
                                   "xref-alt": f"{self.words['eq-title']} {number}"})

    def register(self, ident: str, kind: str, number: str, caption) -> None:
        if not ident:
            return
        caption_inlines = _caption_inlines(caption) if caption is not None else []
        self.targets.add(Target(ident, kind, number, self.locate(ident),
                                caption_inlines), self.shared.reporter)

    def sections(self, doc: pf.Doc) -> None:
        """Hierarchical numbers for the headings (not `.unnumbered`), shown
        when the manuscript asks (`number-sections`) or refers to one."""
        sections = [t for t in self.targets.by_id.values() if t.kind == "sec"]
        shown = bool(doc.get_metadata("number-sections", default=False))
        referred = sections and _mentions_sections(doc, self.targets)
        if not (shown or referred):
            return
        self.targets.sections_shown = True
        headers = [b for b in doc.content if isinstance(b, pf.Header)]
        top = min((h.level for h in headers), default=1)
        counts = [0] * 7
        by_header = {}
        for header in headers:
            if {"unnumbered", "-"} & set(header.classes):
                continue
            depth = header.level - top
            counts[depth] += 1
            counts[depth + 1:] = [0] * (6 - depth)
            number = ".".join(str(n) for n in counts[:depth + 1])
            by_header[header.identifier] = number
            header.content.insert(0, pf.Space())
            header.content.insert(0, pf.Span(pf.Str(number),
                                             classes=["header-section-number"]))
        for target in sections:
            target.number = by_header.get(target.id, "")
            if not target.number:
                self.shared.reporter.warning(
                    f"section {target.id!r} is unnumbered; references to it print "
                    "its id", target.line, source=NAME)


def _mentions_sections(doc, targets: Targets) -> bool:
    """Whether any reference names a section (a cheap look before action)."""
    found = False

    def look(elem, _doc):
        nonlocal found
        if isinstance(elem, pf.Cite):
            found |= any(_target_of(c.id, targets) is not None
                         and _target_of(c.id, targets).kind == "sec"
                         for c in elem.citations)
        elif isinstance(elem, pf.Span) and "xref-unresolved" in elem.classes:
            target = targets.by_id.get(elem.attributes.get("reference", ""))
            found |= target is not None and target.kind == "sec"
    doc.walk(look)
    return found


def _describe(figures: list, caption_blocks: list) -> None:
    """Images without alt text or caption of their own, in a figure div,
    described by the div's caption ("… (a)" for a subfigure): a PDF/UA
    figure must have a description."""
    if not caption_blocks:
        return
    described = pf.stringify(caption_blocks[0])
    for index, figure in enumerate(figures):
        letter = f" ({string.ascii_lowercase[index % 26]})" if len(figures) > 1 else ""
        for block in figure.content:
            for image in getattr(block, "content", []):
                if isinstance(image, pf.Image) and not image.content \
                        and not image.attributes.get("alt"):
                    image.attributes["alt"] = described + letter


def _lone_label(block) -> bool:
    """A paragraph that is only a `\\label{x}` (an empty Span with an id)."""
    return isinstance(block, pf.Para) and len(block.content) == 1 and isinstance(
        block.content[0], pf.Span) and not block.content[0].content and bool(
        block.content[0].identifier or block.content[0].attributes.get("label"))


def _images_only(block) -> bool:
    """A paragraph of images and nothing else (pandoc makes no Figure of
    an image without caption, nor of several images on a line)."""
    return isinstance(block, pf.Para) and any(
        isinstance(item, pf.Image) for item in block.content) and all(
        isinstance(item, pf.Image | pf.Space | pf.SoftBreak) for item in block.content)


def _figure_id(div: pf.Div) -> bool:
    return _kind_of(div.identifier) == "fig"


def _kind_of(ident: str) -> str | None:
    match = re.match(r"^(fig|tbl|eq|sec|lst)[-:]", ident)
    return match[1] if match else None


def _take_label(elem) -> str:
    """The id a `\\label{x}` (an empty Span with id x, from the latex filter)
    or `[]{label="x"}` gives the element it stands in; the Span removed,
    also from an image's alt text (which would repeat the id)."""
    found = []

    def take(item, _doc):
        if isinstance(item, pf.Span) and not item.content and (
                item.identifier or item.attributes.get("label")):
            found.append(item.identifier or item.attributes["label"])
            return []
        return None
    elem.walk(take)
    if found:  # "Residuals \label{x}": no space left where the label stood
        elem.walk(_strip_trailing_space)
    return found[0] if found else ""


def _strip_trailing_space(item, _doc):
    content = getattr(item, "content", None)
    if isinstance(item, pf.Inline | pf.Plain | pf.Para | pf.Header) and \
            content is not None and not isinstance(item, pf.Link):
        while len(content) and isinstance(content[-1], pf.Space | pf.SoftBreak):
            content.pop()
    return None


def _caption_inlines(caption) -> list:
    if caption is None:
        return []
    blocks = caption.content if isinstance(caption, pf.Caption) else caption
    for block in blocks:
        if isinstance(block, pf.Plain | pf.Para):
            return list(block.content)
    return []


def _delim(delim: str) -> pf.Span:
    return pf.Span(pf.Str(delim), pf.Space(), classes=["xref-delim"])


def _label_caption(caption: pf.Caption, label: list, kind: str, number: str,
                   delim: str) -> None:
    span = pf.Span(*label, classes=["xref-label"],
                   attributes={"xref-kind": kind, "xref-number": number})
    parts = [span, _delim(delim)] if delim else [span, pf.Space()]
    for block in caption.content:
        if isinstance(block, pf.Plain | pf.Para):
            if not block.content:
                parts = [span]
            block.content = [*parts, *block.content]
            return
    caption.content.insert(0, pf.Plain(span))


def _words(text: str) -> list:
    out: list = []
    for word in text.split():
        if out:
            out.append(pf.Space())
        out.append(pf.Str(word))
    return out


def _lists(doc: pf.Doc, words: dict, targets: Targets) -> None:
    """`lof: true`, `lot: true`: lists of figures and tables at the start."""
    blocks = []
    for kind, flag in (("fig", "lof"), ("tbl", "lot")):
        if not words[flag]:
            continue
        entries = [t for t in targets.by_id.values()
                   if t.kind == kind and t.number.isdigit()]
        rows = [pf.Plain(pf.Link(pf.Str(words[f"{kind}-title"]), pf.Str(NBSP),
                                 pf.Str(t.number), url=f"#{t.id}"),
                         *_caption_text(t.caption)) for t in entries]
        blocks.append(pf.Div(
            pf.Header(pf.Str(words[f"{flag}-title"]), level=_top_level(doc),
                      identifier=f"list-of-{'figures' if kind == 'fig' else 'tables'}",
                      classes=["unnumbered", "unlisted"]),
            *(pf.Div(row, classes=["entry"]) for row in rows),
            classes=[flag]))
    doc.content = [*blocks, *doc.content]


def _caption_text(inlines: list) -> list:
    """A caption without its label and notes, for a list entry."""
    kept = [item for item in inlines if not (isinstance(item, pf.Span) and (
        {"xref-label", "xref-delim"} & set(item.classes)))]
    kept = [item for item in kept if not isinstance(item, pf.Note)]
    return [pf.Str(":"), pf.Space(), *_copy(kept)] if kept else []


def _copy(inlines: list) -> list:
    # Not through the parent: a plain deepcopy would copy the whole document.
    return [copy.deepcopy(item, {id(item.parent): None}) for item in inlines]


def _top_level(doc: pf.Doc) -> int:
    return min((b.level for b in doc.content if isinstance(b, pf.Header)), default=1)


# -- references ------------------------------------------------------------------

def _target_of(key: str, targets: Targets) -> Target | None:
    """The target a key names; `Fig:x` names `fig:x` (capitalised prefix)."""
    if key in targets.by_id:
        return targets.by_id[key]
    lowered = key[:1].lower() + key[1:]
    return targets.by_id.get(lowered)


def action(elem, doc):
    if isinstance(elem, pf.Cite):
        return _cite(elem, doc)
    if isinstance(elem, pf.Span) and "xref-unresolved" in elem.classes and \
            elem.attributes.get("reference-type") in COMMANDS:
        return _command(elem, doc)
    return None


def _cite(cite: pf.Cite, doc):
    shared = doc.context
    targets: Targets = shared.cross_references
    keys = [citation.id for citation in cite.citations]
    found = [_target_of(key, targets) for key in keys]
    index = shared.index
    in_bib = [index is not None and key in index for key in keys]
    if any(target is not None and bib for target, bib in zip(found, in_bib,
                                                             strict=True)):
        return []  # said once, where the id is (_collisions)
    if not any(found) and not all(TYPED.match(key) and not bib
                                  for key, bib in zip(keys, in_bib, strict=True)):
        return None  # a citation
    line = shared.reporter.locate(*(f"@{key}" for key in keys))
    if any(found) and not all(found):
        others = [key for key, target in zip(keys, found, strict=True) if not target]
        if all(TYPED.match(key) for key in others) and not any(in_bib):
            return _unknown(cite, keys, doc, line)
        shared.reporter.error(
            f"[{'; '.join('@' + k for k in keys)}] mixes cross-references and "
            "citations; write them in separate brackets", line, source=NAME)
        return []
    if not all(found):
        return _unknown(cite, keys, doc, line)
    for target in found:
        target.referenced_at.append(line)
    first = cite.citations[0]
    style = "bare" if first.mode == "SuppressAuthor" else (
        "capitalised" if keys[0][:1].isupper() else "prefixed")
    inlines = render(found, style, shared.options[NAME])
    prefix = list(first.prefix)
    suffix = list(cite.citations[-1].suffix)
    if prefix:
        prefix.append(pf.Space())
    return [*prefix, *inlines, *suffix]


def _command(span: pf.Span, doc):
    targets: Targets = doc.context.cross_references
    label = span.attributes["reference"]
    line = doc.context.reporter.locate(f"{{{label}}}", label)
    target = targets.by_id.get(label)
    if target is None:
        return _unknown(span, [label], doc, line)
    target.referenced_at.append(line)
    return render([target], COMMANDS[span.attributes["reference-type"]],
                  doc.context.options[NAME])


def _unknown(elem, keys: list[str], doc, line):
    targets: Targets = doc.context.cross_references
    missing = [key for key in keys if _target_of(key, targets) is None]
    near = sorted({name for key in missing for name in difflib.get_close_matches(
        key, list(targets.by_id), n=3, cutoff=0.5)})
    known = list(targets.by_id)
    if near:
        hint = f"; nearest ids: {', '.join(near)}"
    elif known:
        hint = f"; known ids: {', '.join(known[:5])}{' …' if len(known) > 5 else ''}"
    else:
        hint = "; no figure, table, equation, listing or section has an id"
    doc.context.reporter.warning(
        f"cross-reference to unknown id {', '.join(missing)} (it prints as the "
        f"id){hint}", line, source=NAME)
    shown: list = []
    for key in keys:
        if shown:
            shown += [pf.Str(";"), pf.Space()]
        target = _target_of(key, targets)
        shown += render([target], "prefixed", doc.context.options[NAME]) \
            if target else [pf.Str(f"??{key}")]
    return pf.Span(*shown, classes=["xref-unresolved"],
                   attributes={"reference": " ".join(keys)})


def render(targets: list[Target], style: str, words: dict) -> list:
    """The reference: "Figure 1", "Figures 1 and 2", "Figure 1 and
    Table 2", "1" (bare), "(1)" (parenthesised), each number a link."""
    groups: list[list[Target]] = []
    for target in targets:
        if groups and groups[-1][0].kind == target.kind:
            groups[-1].append(target)
        else:
            groups.append([target])
    out: list = []
    for position, group in enumerate(groups):
        if position:
            out += _joiner(position, len(groups), words)
        out += _group(group, style if position == 0 else
                      ("prefixed" if style == "capitalised" else style), words)
    return out


def _group(group: list[Target], style: str, words: dict) -> list:
    singular, plural = words[f"{group[0].kind}-prefix"]
    word = singular if len(group) == 1 else plural
    if style == "capitalised":
        word = word[:1].upper() + word[1:]
    links = []
    for target in group:
        number = target.number or target.id
        text = f"({number})" if style == "parenthesised" else number
        links.append(pf.Link(pf.Str(text), url=f"#{target.id}", classes=["xref"],
                             attributes={"xref-kind": target.kind,
                                         "xref-id": target.id,
                                         "xref-number": number}))
    if style in ("bare", "parenthesised"):
        return _join(links, words)
    if len(links) == 1:  # the word inside the link: "Figure 1" is the target
        link = links[0]
        link.content.insert(0, pf.Str(word + NBSP))
        return [link]
    return [pf.Str(word + NBSP), *_join(links, words)]


def _join(items: list, words: dict) -> list:
    out: list = []
    for position, item in enumerate(items):
        if position:
            out += _joiner(position, len(items), words)
        out.append(item)
    return out


def _joiner(position: int, count: int, words: dict) -> list:
    if position == count - 1:
        return [pf.Space(), pf.Str(words["and"]), pf.Space()]
    return [pf.Str(","), pf.Space()]


def _collisions(doc, shared) -> None:
    """An id that is also a bibliography key: `@x` could mean either."""
    if shared.index is None:
        return
    for target in shared.cross_references.by_id.values():
        if target.id in shared.index:
            shared.reporter.error(
                f"id {target.id!r} of a {_KIND_NAMES[target.kind]} is also a key "
                f"in the bibliography ({_bib_place(doc, target.id)}), so @{target.id} "
                "could mean either; rename one", target.line, source=NAME)


def _bib_place(doc, key: str) -> str:
    """Where a bibliography key is defined: file:line, for the message."""
    bibs = doc.get_metadata("bibliography", default=[]) or []
    for path in [bibs] if isinstance(bibs, str) else bibs:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = doc.context.folder / candidate
        try:
            source = SourceText(candidate, candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        line = source.locate("{" + key + ",")
        if line:
            return f"{display_path(candidate)}:{line}"
    return "the bibliography"


def finalize(doc: pf.Doc) -> None:
    if doc.context.reporter.source:  # the next filter searches from the top
        doc.context.reporter.source.rewind()
    if doc.context.reporter.echo and doc.context.reporter.errors:
        sys.exit(1)


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()

