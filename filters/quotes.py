"""Make every quotation typographically right and report the broken ones.

Pandoc's smart extension pairs straight quotes ("...") into `Quoted`, not
always as the author meant, and leaves curly quotes typed by the author
(“...”) as plain characters. This filter undoes pandoc's pairing and pairs
every quotation mark itself, straight or curly, from the context of each
mark (what stands before and after it), so that after it runs:

- every balanced quotation is one `Quoted` element, nested quotations
  alternate levels (en-US: double outside, single inside);
- apostrophes stay apostrophes (Korea’s, don’t, ’90s, the Koreas’); a ’
  closes a quotation only when a ‘ is open;
- spacing is repaired where it is unambiguous: a missing space between a
  closing mark and the next word or citation, a missing space before an
  opening mark, and a space on the wrong side of a mark (`peninsula "and
  that "the` has its closing mark before the space, not after);
- a mark that pairs with nothing is not guessed at: it is printed as the
  typographic mark for its side and reported with file:line and the words
  around it. The source is never rewritten.

Scopes: a quotation must end in the paragraph (or heading, cell, caption)
where it starts, and before a parenthetical citation: "… in Japan”([Suzuki,
2018](#))" ends there, so a mark still open at a citation is unbalanced.
Code, math, raw HTML/LaTeX, URLs, attribute values and citations are never
looked into; emphasis, links and spans are paired inside themselves.

The style follows the document's `lang`: en-US “…” ‘…’ (also the default),
en-GB ‘…’ “…”, de „…“ ‚…‘, fr « … » (narrow no-break spaces) “…”. Where
pandoc's writers print the style's marks for `Quoted` (the English styles)
the quotations stay `Quoted`; otherwise (de, fr) the marks are written out.

Metadata options (under `quotes:`, removed from the output metadata):
    style: null      a style name (en-US, en-GB, de, fr); default from `lang`

Standalone: `pandoc -f markdown-smart --filter filters/quotes.py`. With
`smart` on, pandoc has paired the straight quotes and dropped spaces
before the filter sees them; it re-pairs them, but cannot undo that.

Formats: all; runs after the citation normaliser (citations are units it
does not look into) and before citeproc.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/quotes.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context

NAME = "quotes"
DEFAULTS = {"style": None}
UNBALANCED = "quotes:unbalanced"   # diagnostic sources, for the check report
REPAIRED = "quotes:spacing"

NNBSP = "\u202f"
# level 1 open/close, level 2 open/close
STYLES = {
    "en-US": ("“", "”", "‘", "’"),
    "en-GB": ("‘", "’", "“", "”"),
    "de": ("„", "“", "‚", "‘"),
    "fr": ("«" + NNBSP, NNBSP + "»", "“", "”"),
}
# Languages whose region does not change the marks.
LANGUAGE_DEFAULT = {"en": "en-US", "de": "de", "fr": "fr"}

DOUBLE, SINGLE = "double", "single"
DOUBLE_MARKS = '"“”„«»'
CITE, NOTE, OBJECT = "\ue010", "\ue011", "\ufffc"
# Inline containers whose text is paired inside them, as its own scope.
CONTAINERS = (pf.Emph, pf.Strong, pf.Underline, pf.Strikeout, pf.SmallCaps, pf.Span,
              pf.Link, pf.Image, pf.Superscript, pf.Subscript)
# What may stand before an opening mark, and after a closing one.
OPEN_BEFORE = "([{—–-/" + "\n"
CLOSE_AFTER = ".,;:!?)]}…—–-/" + CITE + NOTE


def prepare(doc: pf.Doc) -> None:
    options = dict(DEFAULTS)
    options.update(doc.get_metadata(NAME, default={}) or {})
    if NAME in doc.metadata:
        del doc.metadata[NAME]
    context.of(doc)
    if doc.context.reporter.source is not None:
        doc.context.reporter.source.rewind()
    style = options["style"] or doc.get_metadata("lang", default="en-US")
    doc.context.quote_style = resolve_style(str(style))
    doc.context.quotes_paired = 0


def resolve_style(name: str) -> str:
    if name in STYLES:
        return name
    return LANGUAGE_DEFAULT.get(name.split("-")[0].lower(), "en-US")


def action(elem, doc):
    # Blocks whose content is inline text; inline containers inside them
    # are handled from here, so each mark is seen once, in its scope.
    if isinstance(elem, pf.Para | pf.Plain | pf.Header):
        elem.content = pair(list(elem.content), doc)
    return None


def finalize(doc: pf.Doc) -> None:
    # Titles, keywords, author notes: every inline text of the metadata
    # (its blocks, like the abstract, were walked with the body).
    def meta_inlines(elem, _doc):
        if isinstance(elem, pf.MetaInlines):
            elem.content = pair(list(elem.content), doc)

    if doc.metadata:
        doc.metadata.walk(meta_inlines)
    if doc.context.quote_style not in ("en-US", "en-GB"):
        doc.walk(_write_out_marks)


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


# -- reading marks ---------------------------------------------------------

@dataclass
class Atom:
    """One piece of an inline list: text, a space, an object or a mark."""

    kind: str                      # "text", "space", "object", "mark"
    text: str = ""
    elem: pf.Element | None = None
    quote: str = ""                # for marks: DOUBLE or SINGLE
    side: str = ""                 # for marks: "open", "close" once decided
    partner: int | None = None     # index of the paired mark
    space_after: bool = False      # spacing repairs
    space_before: bool = False
    dropped: bool = False          # a space moved to the other side of a mark
    line: int | None = None        # where a reported mark is in the source

    @property
    def char(self) -> str:
        """This atom as one character of the context view."""
        if self.kind == "space":
            return " "
        if self.kind == "object":
            if isinstance(self.elem, pf.Cite) and _parenthetical(self.elem):
                return CITE
            return NOTE if isinstance(self.elem, pf.Note) else OBJECT
        return self.text[:1] if self.kind == "mark" else self.text


def atoms_of(inlines: list, doc: pf.Doc) -> list[Atom]:
    atoms: list[Atom] = []
    for elem in inlines:
        if isinstance(elem, pf.Str):
            _split_marks(elem.text, atoms)
        elif isinstance(elem, pf.Space | pf.SoftBreak | pf.LineBreak):
            atoms.append(Atom("space", elem=elem))
        elif isinstance(elem, pf.Quoted):
            # Undo pandoc's pairing: its marks are straight marks the author
            # typed, paired again below with the curly ones.
            kind = DOUBLE if elem.quote_type == "DoubleQuote" else SINGLE
            mark = '"' if kind == DOUBLE else "'"
            atoms.append(Atom("mark", mark, quote=kind))
            atoms.extend(atoms_of(list(elem.content), doc))
            atoms.append(Atom("mark", mark, quote=kind))
        else:
            if isinstance(elem, CONTAINERS):
                elem.content = pair(list(elem.content), doc)
            atoms.append(Atom("object", elem=elem))
    return atoms


def _split_marks(text: str, atoms: list[Atom]) -> None:
    word = []
    for index, char in enumerate(text):
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        kind = None
        if char in DOUBLE_MARKS:
            kind = DOUBLE
        elif char == "‘" or (char in "'’" and not (before.isalnum() and after.isalpha())
                             and not (not before and after.isdigit())):
            kind = SINGLE  # a candidate; an apostrophe unless a ‘ is open
        if kind is None:
            # A straight ' left in a word ("Korea's", "'90s") is an apostrophe.
            word.append("’" if char == "'" else char)
            continue
        if word:
            atoms.append(Atom("text", "".join(word)))
            word = []
        atoms.append(Atom("mark", char, quote=kind))
    if word:
        atoms.append(Atom("text", "".join(word)))


def _parenthetical(cite: pf.Cite) -> bool:
    return any(c.mode != "AuthorInText" for c in cite.citations)


# -- pairing ---------------------------------------------------------------

def pair(inlines: list, doc: pf.Doc) -> list:
    if not any(isinstance(elem, pf.Str | pf.Quoted) and _has_quote(elem)
               for elem in inlines) and not _has_container(inlines):
        return inlines  # nothing to pair or to curl: keep the list as it is
    atoms = atoms_of(inlines, doc)
    view = "".join(atom.char for atom in atoms)
    offsets, total = [], 0
    for atom in atoms:
        offsets.append(total)
        total += len(atom.char)
    stack: list[int] = []

    def unbalanced_all():
        while stack:
            _unbalanced(atoms, stack.pop(), doc)

    marks = [i for i, atom in enumerate(atoms) if atom.kind == "mark"]
    for index, atom in enumerate(atoms):
        if atom.kind == "object" and atom.char == CITE:
            unbalanced_all()  # a quotation ends before its citation
            continue
        if atom.kind != "mark":
            continue
        before, after, opening, closing = _sides(view, offsets[index])
        open_same = [i for i in stack if atoms[i].quote == atom.quote]
        if (atom.quote == SINGLE and atom.text in "'’" and not open_same
                and not (opening and not closing)):
            # An apostrophe after all ("the Koreas'", "States’").
            atom.kind, atom.quote, atom.text = "text", "", "’"
            continue
        if opening and not closing:
            following = _next_mark(atoms, marks, index, atom.quote)
            wrong_side = (open_same and before.isspace() and (
                following is None or _looks_opening(view, offsets[following])))
            if wrong_side:
                # `peninsula "and that "the`: this mark closes the quotation
                # and its space belongs after it.
                atom.space_after = True
                if index and atoms[index - 1].kind == "space":
                    atoms[index - 1].dropped = True
                _report(doc, REPAIRED, atoms, index,
                        "space on the wrong side of a closing mark, moved")
                _close(atoms, stack, index, doc)
            else:
                _open(atoms, stack, index)
        elif closing and not opening:
            if open_same:
                _close(atoms, stack, index, doc)
            else:
                atom.side = "close"
                _unbalanced(atoms, index, doc)
            if after == CITE or after.isalnum():
                atom.space_after = True
                _report(doc, REPAIRED, atoms, index,
                        "no space after the closing mark, added")
        else:
            # Letters (or spaces) on both sides: the open quotation decides.
            if open_same:
                _close(atoms, stack, index, doc)
                if after.isalnum():
                    atom.space_after = True
                    _report(doc, REPAIRED, atoms, index,
                            "no space after the closing mark, added")
            else:
                _open(atoms, stack, index)
                if before.isalnum():
                    atom.space_before = True
                    _report(doc, REPAIRED, atoms, index,
                            "no space before the opening mark, added")
    unbalanced_all()
    return _rebuild(atoms, doc)


def _has_quote(elem) -> bool:
    return isinstance(elem, pf.Quoted) or any(c in elem.text for c in "\"'“”‘’„«»")


def _has_container(inlines) -> bool:
    return any(isinstance(elem, CONTAINERS) for elem in inlines)


def _next_mark(atoms, marks, index, quote) -> int | None:
    for i in marks:
        if i > index and atoms[i].quote == quote and atoms[i].kind == "mark":
            if any(a.kind == "object" and a.char == CITE for a in atoms[index:i]):
                return None  # the next one is beyond a citation: another scope
            return i
    return None


def _sides(view: str, position: int) -> tuple[str, str, bool, bool]:
    """The characters around a mark, and whether they make it look like an
    opening mark (space or bracket before) and a closing one (space,
    punctuation or a citation after)."""
    before = view[position - 1] if position else "\n"
    after = view[position + 1] if position + 1 < len(view) else "\n"
    return (before, after, before.isspace() or before in OPEN_BEFORE,
            after.isspace() or after in CLOSE_AFTER)


def _looks_opening(view: str, position: int) -> bool:
    _, _, opening, closing = _sides(view, position)
    return opening and not closing


def _open(atoms, stack, index) -> None:
    atoms[index].side = "open"
    stack.append(index)


def _close(atoms, stack, index, doc) -> None:
    quote = atoms[index].quote
    while stack and atoms[stack[-1]].quote != quote:
        # A quotation of the other kind left open inside this one.
        _unbalanced(atoms, stack.pop(), doc)
    opener = stack.pop()
    atoms[index].side = "close"
    atoms[opener].partner, atoms[index].partner = index, opener


def _unbalanced(atoms, index, doc) -> None:
    atom = atoms[index]
    side = "opening" if atom.side == "open" else "closing"
    other = "closing" if side == "opening" else "opening"
    _report(doc, UNBALANCED, atoms, index,
            f"{side} quotation mark with no {other} one", level="warning")


def _report(doc, source, atoms, index, what, level="note") -> None:
    atom = atoms[index]
    before = _context(atoms, index, before=True)
    after = _context(atoms, index, before=False)
    if atom.line is None:  # once per mark: the search moves forward
        atom.line = doc.context.reporter.locate(*_anchors(before, after)) or 0
    shown = f"…{before}{atom.text}{after}…"
    doc.context.reporter.report(level, f"{what}: {shown!r}", atom.line or None,
                        source=source)


def _context(atoms, index, before: bool, size: int = 6) -> str:
    """Up to `size` words before or after a mark, as a reader sees them."""
    pieces, words = [], 0
    step = -1 if before else 1
    i = index + step
    while 0 <= i < len(atoms) and words < size:
        atom = atoms[i]
        if atom.kind == "space":
            words += 1
            text = " "
        elif atom.kind == "object":
            text = pf.stringify(atom.elem)
        else:
            text = atom.text
        pieces.append(text)
        i += step
    text = "".join(reversed(pieces) if before else pieces)
    return text.lstrip() if before else text.rstrip()


def _anchors(before: str, after: str) -> list[str]:
    """Snippets to find the mark's line by, longest first: the words next to
    it as the source has them (a citation the filters have rewritten ends the
    run; an apostrophe may have been typed straight)."""
    def run(words):
        found = []
        for word in words:
            if "@" in word:
                break
            found.append(word)
        return found

    last = run(reversed(before.split()))[::-1]
    first = run(after.split())
    snippets = [" ".join(last[-size:]) for size in (5, 4, 3, 2, 1)
                if len(last) >= size]
    snippets += [" ".join(first[:size]) for size in (5, 4, 3, 2, 1)
                 if len(first) >= size]
    return [variant for snippet in snippets
            for variant in dict.fromkeys((snippet, snippet.replace("’", "'")))]


# -- building the result ---------------------------------------------------

def _rebuild(atoms: list[Atom], doc: pf.Doc) -> list:
    open_l1, close_l1, open_l2, close_l2 = STYLES[doc.context.quote_style]
    levels = (("DoubleQuote", "SingleQuote") if doc.context.quote_style != "en-GB"
              else ("SingleQuote", "DoubleQuote"))
    stack: list[list] = [[]]
    for atom in atoms:
        out = stack[-1]
        if atom.kind == "text":
            out.append(pf.Str(atom.text))
        elif atom.kind == "space":
            if not atom.dropped:
                out.append(atom.elem)
        elif atom.kind == "object":
            out.append(atom.elem)
        elif atom.partner is not None and atom.side == "open":
            if atom.space_before:
                out.append(pf.Space())
            stack.append([])
        elif atom.partner is not None:
            content = stack.pop()
            level = (len(stack) - 1) % 2
            stack[-1].append(pf.Quoted(*content, quote_type=levels[level]))
            doc.context.quotes_paired += 1
            if atom.space_after:
                stack[-1].append(pf.Space())
        else:
            level = (len(stack) - 1) % 2
            marks = (open_l1, close_l1) if level == 0 else (open_l2, close_l2)
            out.append(pf.Str(marks[0] if atom.side == "open" else marks[1]))
            if atom.space_after:
                out.append(pf.Space())
    return _merge_words(stack[0])


def _merge_words(inlines: list) -> list:
    merged: list = []
    for elem in inlines:
        if isinstance(elem, pf.Str) and merged and isinstance(merged[-1], pf.Str):
            merged[-1] = pf.Str(merged[-1].text + elem.text)
        elif isinstance(elem, pf.Space) and merged and isinstance(merged[-1], pf.Space):
            continue
        else:
            merged.append(elem)
    return merged


def _write_out_marks(elem, doc):
    """For styles pandoc's writers cannot print: the marks as characters."""
    if not isinstance(elem, pf.Quoted):
        return None
    level = 0
    parent = elem.parent
    while parent is not None:
        level += isinstance(parent, pf.Quoted)
        parent = parent.parent
    style = STYLES[doc.context.quote_style]
    marks = style[:2] if level % 2 == 0 else style[2:]
    return [pf.Str(marks[0]), *elem.content, pf.Str(marks[1])]


if __name__ == "__main__":
    main()
