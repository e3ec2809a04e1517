"""What changed between two versions of a manuscript, as a document.

Both versions have been read and filtered the same way (citations
normalised, quotations paired, citeproc run), so a citation retyped from
`[Vu, 2021](#)` to `[@vu2021]` or a quotation retyped from straight to
curly marks is the same token in both and is not a change.

Structure first: blocks are aligned (equal ones in order; headings pair
with headings; changed paragraphs pair by similarity; a paragraph found
elsewhere is a move, edited or not), then a word-level diff runs inside
each pair. A citation is one token, compared by key and locator. Math,
code and other units (tables, figures) are compared whole.

Numbers are not text. filters/crossref.py numbers figures, tables,
equations, listings and sections and writes the references to them; a
figure inserted before two others renumbers them and every reference to
them, and none of that is a change. So a reference (`Link.xref`) is one
token keyed by the id it points to and its form ("Figure 1", "1", "(1)"),
not by its number; a caption label, an equation's number and a heading's
section number are keyed by what they label ("the label of a figure"), and
a unit compared whole is compared with those marks standing in for their
numbers. What is printed for an unchanged token is NEW's element, in NEW's
numbers; an old reference that is shown (deleted, or in a deleted
paragraph) is printed in NEW's numbers too, when its target is still there,
so that the diff reads in one numbering. A reference that now points
elsewhere is a change.

The result is a panflute document whose changes are Spans with classes
`insertion` / `deletion` (and `author` / `date` attributes, which pandoc's
DOCX writer turns into tracked changes), blocks wrapped in Divs
(`block-insertion`, `block-deletion`, `moved-from`, `moved-to`), a summary
at the top, and a list of changes for the JSON summary.

This module must not know about git, files or output formats.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field

import panflute as pf

from pubbuild import pandoc

SIMILAR = 0.5        # a changed paragraph still shares this much with its old self
MOVED_EDITED = 0.6   # ... and a moved one, to be recognised elsewhere


@dataclass
class Token:
    key: tuple
    elem: pf.Element | None   # what to print for it

    @property
    def is_word(self) -> bool:
        return self.key[0] == "w"


@dataclass
class Block:
    elem: pf.Block
    tokens: list[Token]
    section: str

    @property
    def key(self) -> tuple:
        return (type(self.elem).__name__, *(t.key for t in self.tokens))

    @property
    def text(self) -> str:
        if isinstance(self.elem, pf.Header):
            return _heading_text(self.elem)
        if isinstance(self.elem, pf.Figure):  # the caption, not the alt text too
            return pf.stringify(self.elem.caption).strip()
        if isinstance(self.elem, pf.Para | pf.Plain):
            return _text(self.tokens).strip()  # as printed: OLD's in NEW's numbers
        return pf.stringify(self.elem).strip()


@dataclass
class Change:
    number: int
    section: str
    kind: str
    old: str = ""
    new: str = ""
    target: str = ""     # an element's own id to link to, if not change-N

    @property
    def anchor(self) -> str:
        return self.target or f"change-{self.number}"


@dataclass
class Result:
    doc: pf.Doc
    changes: list[Change]
    summary: dict = field(default_factory=dict)


# -- tokens ----------------------------------------------------------------

def tokens_of(inlines, marks=("“", "”", "‘", "’"), depth: int = 0,
              numbers: dict[str, str] | None = None) -> list[Token]:
    """The inlines as tokens; `numbers` (NEW's, by id) renumbers OLD's
    references for printing."""
    out: list[Token] = []
    for elem in inlines:
        mark = _mark(elem)
        if mark is not None:
            shown = (_renumbered(elem, numbers) if numbers is not None
                     and mark[0] == "xref" else elem)
            out.append(Token(mark, shown))
            continue
        if isinstance(elem, pf.Str):
            out.append(Token(("w", elem.text), elem))
        elif isinstance(elem, pf.Space | pf.SoftBreak):
            out.append(Token(("s",), pf.Space()))
        elif isinstance(elem, pf.LineBreak):
            out.append(Token(("br",), elem))
        elif isinstance(elem, pf.Quoted):
            # The marks are tokens, the words inside are compared one by one.
            opening, closing = marks[2 * (depth % 2)], marks[2 * (depth % 2) + 1]
            out.append(Token(("w", opening), pf.Str(opening)))
            out.extend(tokens_of(elem.content, marks, depth + 1, numbers))
            out.append(Token(("w", closing), pf.Str(closing)))
        elif isinstance(elem, pf.Cite):
            out.append(Token(("cite", cite_key(elem)), elem))
        elif isinstance(elem, pf.Span) and "citation" in elem.classes:
            # filters/backlinks.py wraps each Cite in an anchor Span.
            out.extend(tokens_of(elem.content, marks, depth, numbers))
        elif isinstance(elem, pf.Math | pf.Code | pf.RawInline):
            out.append(Token((type(elem).__name__, elem.text), elem))
        else:
            url = getattr(elem, "url", "")
            out.append(Token((type(elem).__name__, _unit_text(elem), url), elem))
    return out


def _mark(elem) -> tuple | None:
    """The key of a mark filters/crossref.py left, without its number; None
    for anything else."""
    if isinstance(elem, pf.Link) and "xref" in elem.classes:
        # The form is the text around the number: "Figure\u00a0#", "#", "(#)".
        number = elem.attributes.get("xref-number", "")
        *before, last = [pf.stringify(item) for item in elem.content] or [""]
        form = "".join(before) + (last.replace(number, "#", 1) if number else last)
        return ("xref", elem.attributes.get("xref-id", elem.url),
                elem.attributes.get("xref-kind", ""), form)
    if not isinstance(elem, pf.Span):
        return None
    if "equation" in elem.classes and elem.identifier:
        math = "".join(item.text for item in elem.content if isinstance(item, pf.Math))
        return ("equation", elem.identifier, math)
    if "xref-label" in elem.classes:
        # A subfigure's "(a)" is not a figure's "Figure 1".
        sub = pf.stringify(elem).startswith("(")
        return ("label", elem.attributes.get("xref-kind", ""), sub)
    if {"equation-number", "header-section-number"} & set(elem.classes):
        return ("number",)
    return None


def _unit_text(elem) -> str:
    """An element's text for comparing it whole: what `pf.stringify` gives,
    but each cross-reference mark stands for what it marks, not its number
    (a key, never printed)."""
    parts: list[str] = []

    def stop(item) -> bool:
        return isinstance(item, pf.Cite | pf.Quoted) or _mark(item) is not None

    def add(item, _doc) -> None:
        mark = _mark(item)
        if mark is not None:
            parts.append(f"\x00{mark!r}\x00")
        elif isinstance(item, pf.Cite):
            parts.append(repr(cite_key(item)))
        elif isinstance(item, pf.Quoted):
            parts.append(f"“{_unit_text(item.content)}”")
        elif hasattr(item, "text"):
            parts.append(item.text)
        elif isinstance(item, pf.Space | pf.SoftBreak | pf.LineBreak):
            parts.append(" ")
        elif isinstance(item, pf.Block):
            parts.append("\n\n")

    elem.walk(add, stop_if=stop)
    return "".join(parts)


def _numbers(doc: pf.Doc) -> dict[str, str]:
    """Every cross-reference target's number in this revision, by id."""
    found: dict[str, str] = {}

    def look(elem, _doc) -> None:
        if isinstance(elem, pf.Link) and "xref" in elem.classes:
            found[elem.attributes.get("xref-id", "")] = elem.attributes.get(
                "xref-number", "")
        elif isinstance(elem, pf.Span) and "equation" in elem.classes:
            found[elem.identifier] = elem.attributes.get("xref-number", "")
        elif isinstance(elem, pf.Span) and "xref-label" in elem.classes:
            owner = elem.parent
            while owner is not None and not isinstance(owner, pf.Figure | pf.Table
                                                       | pf.Div):
                owner = owner.parent
            if owner is not None and owner.identifier:
                found[owner.identifier] = elem.attributes.get("xref-number", "")
        elif isinstance(elem, pf.Header) and elem.identifier and elem.content and \
                _mark(elem.content[0]) == ("number",):
            found[elem.identifier] = pf.stringify(elem.content[0])

    doc.walk(look)
    found.pop("", None)
    return found


def _renumbered(link: pf.Link, numbers: dict[str, str]) -> pf.Link:
    """OLD's reference as NEW numbers its target (a copy); as it was when
    the target is gone."""
    old = link.attributes.get("xref-number", "")
    new = numbers.get(link.attributes.get("xref-id", ""))
    if new is None or new == old or not old or not link.content or not all(
            isinstance(item, pf.Str) for item in link.content):
        return link
    texts = [item.text for item in link.content]
    texts[-1] = texts[-1].replace(old, new, 1)
    return pf.Link(*map(pf.Str, texts), url=link.url, title=link.title,
                   identifier=link.identifier, classes=list(link.classes),
                   attributes={**link.attributes, "xref-number": new})


def _heading_text(header: pf.Header) -> str:
    """A heading's words without its section number (which is NEW's or
    OLD's numbering, not the section's name)."""
    return "".join(pf.stringify(item) for item in _unnumbered(header)).strip()


def _unnumbered(header: pf.Header) -> list:
    """A heading's inlines without the section number and its space:
    numbers that appear because a revision first refers to a section (or
    turns on `number-sections`) rename nothing."""
    content = list(header.content)
    if content and _mark(content[0]) == ("number",):
        content = content[2:] if len(content) > 1 and isinstance(
            content[1], pf.Space) else content[1:]
    return content


def _section_number(header: pf.Header) -> list:
    """The heading's section number and its space (new elements), to print
    before its words; none when unnumbered."""
    first = header.content[0] if header.content else None
    if first is None or _mark(first) != ("number",):
        return []
    return [pf.Span(pf.Str(pf.stringify(first)), classes=list(first.classes)),
            pf.Space()]


def cite_key(cite: pf.Cite) -> tuple:
    return tuple((c.id, pf.stringify(pf.Span(*c.prefix)).strip(),
                  pf.stringify(pf.Span(*c.suffix)).strip(), c.mode)
                 for c in cite.citations)


def blocks_of(doc: pf.Doc, numbers: dict[str, str] | None = None
              ) -> tuple[list[Block], dict[str, pf.Div]]:
    """The body's blocks (sections flattened) and the reference entries;
    `numbers`: see `tokens_of`."""
    blocks: list[Block] = []
    references: dict[str, pf.Div] = {}
    section = ""

    def visit(items):
        nonlocal section
        for block in items:
            if _is_refs(block):
                for entry in block.content:
                    if isinstance(entry, pf.Div):
                        references[entry.identifier] = entry
                blocks.append(Block(block, [], section))  # holds the list's place
                continue
            if isinstance(block, pf.Div) and not block.classes:
                visit(block.content)  # a plain wrapper: look inside
                continue
            if isinstance(block, pf.Header):
                section = _heading_text(block)
            content = getattr(block, "content", None)
            if isinstance(block, pf.Header):
                tokens = tokens_of(_unnumbered(block), numbers=numbers)
            elif isinstance(block, pf.Para | pf.Plain):
                tokens = tokens_of(content, numbers=numbers)
            else:  # tables, lists, code blocks, figures: one unit each
                tokens = [Token(("block", type(block).__name__,
                                 getattr(block, "identifier", ""),
                                 _unit_text(block)), None)]
            blocks.append(Block(block, tokens, section))

    visit(doc.content)
    return blocks, references


# -- alignment -------------------------------------------------------------

@dataclass
class Pair:
    old: Block | None
    new: Block | None
    kind: str           # equal, changed, inserted, deleted, moved, moved-from
    move: int = 0       # the move's number, for both ends
    to_section: str = ""  # for the old end of a move: where it went


def align(old: list[Block], new: list[Block]) -> list[Pair]:
    """Pairs in the new document's order; deleted blocks where they stood.

    Headings first: sections are paired by their headings (equal, or
    renamed in place), paragraphs are paired within paired sections, and
    what is left anywhere is matched across the document as moves.
    """
    pairs_new: dict[int, Pair] = {}
    deleted: list[int] = []
    inserted: list[int] = []
    old_sections, new_sections = _sections(old), _sections(new)
    section_pairs, lone_old, lone_new = _match(
        [_section_key(old, head) for head, _ in old_sections],
        [_section_key(new, head) for head, _ in new_sections],
        lambda a, b: _heading_pair(old, new, old_sections[a][0], new_sections[b][0]))
    for a in lone_old:
        head, body = old_sections[a]
        deleted += ([head] if head is not None else []) + body
    for b in lone_new:
        head, body = new_sections[b]
        inserted += ([head] if head is not None else []) + body
    for a, b in section_pairs:
        (old_head, old_body), (new_head, new_body) = old_sections[a], new_sections[b]
        if new_head is not None:
            same = old[old_head].key == new[new_head].key
            pairs_new[new_head] = Pair(old[old_head], new[new_head],
                                       "equal" if same else "changed")
        matched, gone, came = _match(
            [old[i].key for i in old_body], [new[j].key for j in new_body],
            lambda x, y, ob=old_body, nb=new_body: _similar(old[ob[x]], new[nb[y]]))
        for x, y in matched:
            i, j = old_body[x], new_body[y]
            pairs_new[j] = Pair(old[i], new[j],
                                "equal" if old[i].key == new[j].key else "changed")
        deleted += [old_body[x] for x in gone]
        inserted += [new_body[y] for y in came]
    # Moves: an unmatched new block that is an unmatched old block, as it
    # was or edited.
    moves = 0
    for j in sorted(inserted):
        if isinstance(new[j].elem, pf.Header):
            continue
        best, score = None, 0.0
        for i in deleted:
            if type(old[i].elem) is not type(new[j].elem):
                continue
            ratio = 1.0 if old[i].key == new[j].key else _likeness(old[i], new[j])
            if ratio >= MOVED_EDITED and ratio > score:
                best, score = i, ratio
        if best is not None:
            moves += 1
            pairs_new[j] = Pair(old[best], new[j], "moved", moves)
            deleted.remove(best)
            inserted.remove(j)
    for j in inserted:
        pairs_new[j] = Pair(None, new[j], "inserted")
    moved_from = {id(p.old): (p.move, p.new.section) for p in pairs_new.values()
                  if p.kind == "moved"}
    order = {id(block): n for n, block in enumerate(old)}
    # What is left of the old text (deleted blocks, the old ends of moves)
    # goes where it stood: before the first kept block that followed it.
    old_only = sorted([*deleted, *(order[id(p.old)] for p in pairs_new.values()
                                   if p.kind == "moved")])
    result: list[Pair] = []
    cursor = 0
    for j in range(len(new)):
        pair = pairs_new[j]
        if pair.kind in ("equal", "changed"):
            position = order[id(pair.old)]
            while cursor < len(old_only) and old_only[cursor] < position:
                result.append(_old_end(old[old_only[cursor]], moved_from))
                cursor += 1
        result.append(pair)
    result += [_old_end(old[i], moved_from) for i in old_only[cursor:]]
    return result


def _sections(blocks: list[Block]) -> list[tuple[int | None, list[int]]]:
    """(heading index, body indices) per section; the first has no heading."""
    sections: list[tuple[int | None, list[int]]] = [(None, [])]
    for n, block in enumerate(blocks):
        if isinstance(block.elem, pf.Header):
            sections.append((n, []))
        else:
            sections[-1][1].append(n)
    return sections


def _section_key(blocks: list[Block], head: int | None) -> tuple:
    return ("start",) if head is None else blocks[head].key


def _heading_pair(old, new, a: int | None, b: int | None) -> float | None:
    """Two headings left over in the same place pair (a rename) if they are
    of the same level; the more alike, the better."""
    if a is None or b is None:
        return 1.0 if a is None and b is None else None
    if old[a].elem.level != new[b].elem.level:
        return None
    return _likeness(old[a], new[b])


def _similar(a: Block, b: Block) -> float | None:
    if type(a.elem) is not type(b.elem):
        return None
    score = _likeness(a, b)
    return score if score >= SIMILAR else None


def _match(old_keys: list, new_keys: list, similar) -> tuple[list, list, list]:
    """Equal items in order, then in each replaced run the similar ones, in
    order; returns (pairs, old left over, new left over) as indices.
    `similar(i, j)` is a likeness from 0 to 1, or None when they cannot pair."""
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    pairs, gone, came = [], [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += list(zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        olds = list(range(i1, i2))
        for j in range(j1, j2):
            scored = [(similar(i, j), i) for i in olds]
            scored = [(score, i) for score, i in scored if score is not None]
            if not scored:
                came.append(j)
                continue
            _, best = max(scored, key=lambda item: (item[0], -item[1]))
            pairs.append((best, j))
            position = olds.index(best)
            gone += olds[:position]   # passed over: not paired in order
            olds = olds[position + 1:]
        gone += olds
    return pairs, sorted(gone), came


def _old_end(block: Block, moved_from: dict) -> Pair:
    move, section = moved_from.get(id(block), (0, ""))
    return Pair(block, None, "moved-from" if move else "deleted", move, section)


def _likeness(a: Block, b: Block) -> float:
    """How much of two blocks' words (not spaces) is the same, 0 to 1."""
    return difflib.SequenceMatcher(None, [t.key for t in a.tokens if t.key[0] != "s"],
                                   [t.key for t in b.tokens if t.key[0] != "s"],
                                   autojunk=False).ratio()


# -- rendering -------------------------------------------------------------

class _Renderer:
    def __init__(self, author: str, date: str):
        self.author, self.date = author, date
        self.changes: list[Change] = []
        self.words = Counter()          # inserted / deleted
        self.citations = Counter()      # added / removed / changed
        self.xrefs = Counter()          # cross-references: the same
        self.per_section: dict[str, Counter] = {}

    # spans
    def span(self, kind: str, inlines: list, identifier: str = "") -> pf.Span:
        return pf.Span(*inlines, classes=[kind], identifier=identifier,
                       attributes={"author": self.author, "date": self.date})

    def change(self, section: str, kind: str, old: str = "", new: str = "") -> Change:
        change = Change(len(self.changes) + 1, section, kind, old.strip(), new.strip())
        self.changes.append(change)
        return change

    def count_block(self, section: str, kind: str) -> None:
        self.per_section.setdefault(section or "(before the first heading)",
                                    Counter())[kind] += 1

    # inline diff
    def inline_diff(self, old: list[Token], new: list[Token], section: str,
                    target: str = "") -> list:
        """Word-level changes as Spans; `target`: link the changes to this id
        instead of ids on the Spans (a heading's text is copied into the
        table of contents, where ids would repeat)."""
        matcher = difflib.SequenceMatcher(None, [t.key for t in old],
                                          [t.key for t in new], autojunk=False)
        out: list = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            gone, came = old[i1:i2], new[j1:j2]
            if tag == "equal":
                out += [t.elem for t in came]
                continue
            kind = self._edit_kind(gone, came)
            change = self.change(section, kind, _text(gone), _text(came))
            change.target = target
            anchor = "" if target else change.anchor
            if gone:
                out.append(self.span("deletion", [t.elem for t in gone], anchor))
            if came:
                out.append(self.span("insertion", [t.elem for t in came],
                                     "" if gone else anchor))
            self.words["deleted"] += _words(gone)
            self.words["inserted"] += _words(came)
        return out

    def _edit_kind(self, gone: list[Token], came: list[Token]) -> str:
        old_cites = [t for t in gone if t.key[0] == "cite"]
        new_cites = [t for t in came if t.key[0] == "cite"]
        kind = "text " + ("replaced" if gone and came else
                          "deleted" if gone else "inserted")
        old_ids = [{c[0] for c in t.key[1]} for t in old_cites]
        for cite in new_cites:
            ids = {c[0] for c in cite.key[1]}
            if ids in old_ids:
                old_ids.remove(ids)
                self.citations["changed"] += 1
                kind = "citation changed"
            else:
                self.citations["added"] += 1
                kind = "citation added" if kind != "citation changed" else kind
        for _ in old_ids:
            self.citations["removed"] += 1
            if kind.startswith("text"):
                kind = "citation removed"
        return self._xref_kind(gone, came, kind)

    def _xref_kind(self, gone: list[Token], came: list[Token], kind: str) -> str:
        """A reference that points elsewhere (or is new, or gone); a citation
        in the same edit names it first. Renumbered ones never get here."""
        old = [t for t in gone if t.key[0] == "xref"]
        new = [t for t in came if t.key[0] == "xref"]
        changed = min(len(old), len(new))
        self.xrefs["changed"] += changed
        self.xrefs["added"] += len(new) - changed
        self.xrefs["removed"] += len(old) - changed
        if not kind.startswith("text") or not (old or new):
            return kind
        return "cross-reference " + ("changed" if changed else
                                     "added" if new else "removed")

    # blocks
    @property
    def who(self) -> dict[str, str]:
        """Author and date, for Word's tracked changes (pubbuild/docxtrack.py)."""
        return {"author": self.author, "date": self.date}

    def block(self, pair: Pair, references: pf.Div | None) -> list[pf.Block]:
        if _is_refs((pair.new or pair.old).elem):
            return [references] if references is not None else []
        if pair.kind == "equal":
            return [pair.new.elem]
        if pair.kind == "changed":
            heading = isinstance(pair.new.elem, pf.Header)
            self.count_block(pair.new.section, "heading renamed" if heading
                             else "changed")
            first = len(self.changes)
            inlines = self.inline_diff(pair.old.tokens, pair.new.tokens,
                                       pair.new.section,
                                       pair.new.elem.identifier if heading else "")
            if heading:
                for change in self.changes[first:]:
                    change.kind = "heading renamed"
                    change.old, change.new = pair.old.text, pair.new.text
            return [self._rebuilt(pair.new, inlines)]
        if pair.kind in ("inserted", "deleted"):
            inserted = pair.kind == "inserted"
            block = pair.new if inserted else pair.old
            span = "insertion" if inserted else "deletion"
            self.count_block(block.section, pair.kind)
            change = self.change(block.section, _block_kind(block, pair.kind),
                                 **{"new" if inserted else "old": block.text})
            self._count_cites(block.tokens, "added" if inserted else "removed")
            self.xrefs["added" if inserted else "removed"] += sum(
                t.key[0] == "xref" for t in block.tokens)
            self.words[pair.kind] += _words(block.tokens)
            return [pf.Div(self._wrapped(block, span), classes=[f"block-{span}"],
                           identifier=change.anchor, attributes=self.who)]
        if pair.kind == "moved-from":
            label = pf.Para(pf.Span(pf.Link(pf.Str(f"Moved to “{pair.to_section}” ↓"),
                                            url=f"#move-{pair.move}"),
                                    classes=["move-label"]))
            return [pf.Div(label, self._wrapped(pair.old, "deletion"),
                           classes=["moved-from"], identifier=f"move-{pair.move}-from",
                           attributes=self.who)]
        # moved: the new end, with its edits inside (each its own change)
        edited = pair.old.key != pair.new.key
        self.count_block(pair.new.section, "moved")
        inlines = (self.inline_diff(pair.old.tokens, pair.new.tokens, pair.new.section)
                   if edited else [t.elem for t in pair.new.tokens])
        change = self.change(pair.new.section,
                             _block_kind(pair.new, "moved and edited" if edited
                                         else "moved"), pair.old.text, pair.new.text)
        label = pf.Para(pf.Span(pf.Link(
            pf.Str(f"Moved from “{pair.old.section or 'the beginning'}” ↑"),
            url=f"#move-{pair.move}-from"), classes=["move-label"],
            identifier=change.anchor))
        return [pf.Div(label, self._rebuilt(pair.new, inlines), classes=["moved-to"],
                       identifier=f"move-{pair.move}",
                       attributes={"change": change.anchor, "author": self.author,
                                   "date": self.date})]

    def _rebuilt(self, block: Block, inlines: list, numbered: bool = False
                 ) -> pf.Block:
        """`block` holding `inlines`; a heading's number goes first unless
        `numbered` (the inlines have it)."""
        elem = block.elem
        if isinstance(elem, pf.Header):
            number = [] if numbered else _section_number(elem)
            return pf.Header(*number, *inlines, level=elem.level,
                             identifier=elem.identifier, classes=list(elem.classes))
        if isinstance(elem, pf.Plain):
            return pf.Plain(*inlines)
        if isinstance(elem, pf.Para):
            return pf.Para(*inlines)
        return elem

    def _wrapped(self, block: Block, kind: str) -> pf.Block:
        elem = block.elem
        if isinstance(elem, pf.Header | pf.Para | pf.Plain):
            # A whole heading, its number too, is inserted or deleted.
            number = _section_number(elem) if isinstance(elem, pf.Header) else []
            marked = self.span(kind, [*number, *(t.elem for t in block.tokens)])
            return self._rebuilt(block, [marked], numbered=True)
        return elem  # a table, a list, code: shown whole inside the marked Div

    def _count_cites(self, tokens: list[Token], how: str) -> None:
        self.citations[how] += sum(t.key[0] == "cite" for t in tokens)


def _block_kind(block: Block, how: str) -> str:
    elem = block.elem
    noun = ("heading" if isinstance(elem, pf.Header) else
            "figure" if isinstance(elem, pf.Figure) else
            "table" if isinstance(elem, pf.Table) else
            "listing" if isinstance(elem, pf.Div) and "listing" in elem.classes else
            "paragraph")
    return f"{noun} {how}"


def _text(tokens: list[Token]) -> str:
    return "".join(pf.stringify(t.elem) if t.elem is not None else " "
                   for t in tokens)


def _words(tokens: list[Token]) -> int:
    return sum(1 for t in tokens if t.is_word and any(c.isalnum() for c in t.key[1]))


def _is_refs(block) -> bool:
    return isinstance(block, pf.Div) and block.identifier == "refs"


# -- the whole comparison ----------------------------------------------------

def compare(old_doc: pf.Doc, new_doc: pf.Doc, *, author: str, date: str,
            labels: tuple[str, str]) -> Result:
    """The diff document (NEW's metadata and layout, changes marked)."""
    render = _Renderer(author, date)
    metadata = _metadata(render, old_doc, new_doc)
    # OLD's references are shown in NEW's numbers (see the docstring).
    old_blocks, old_refs = blocks_of(old_doc, numbers=_numbers(new_doc))
    new_blocks, new_refs = blocks_of(new_doc)
    refs_div = next((b.elem for b in new_blocks + old_blocks if _is_refs(b.elem)), None)
    content: list[pf.Block] = []
    for pair in align(old_blocks, new_blocks):
        # The reference list is compared where it stands, so its changes are
        # numbered after the text's.
        references = (_references(render, old_refs, new_refs, refs_div)
                      if _is_refs((pair.new or pair.old).elem) else None)
        content += render.block(pair, references)
    summary = {
        "words": {"inserted": render.words["inserted"],
                  "deleted": render.words["deleted"]},
        "paragraphs": {section: dict(counts)
                       for section, counts in render.per_section.items()},
        "citations": {k: render.citations[k] for k in ("added", "removed", "changed")},
        "cross-references": {k: render.xrefs[k]
                             for k in ("added", "removed", "changed")},
        "references": {k: sum(c.kind == f"reference {k}" for c in render.changes)
                       for k in ("added", "removed", "changed")},
        "metadata": metadata,
        "changes": len(render.changes),
    }
    doc = pf.Doc(*[_summary(render, summary, labels), *content],
                 metadata=new_doc.metadata, format="html")
    return Result(doc, render.changes, summary)


def _references(render: _Renderer, old: dict, new: dict, refs_div) -> pf.Div | None:
    if refs_div is None:
        return None
    keys = sorted(set(old) | set(new),
                  key=lambda k: pf.stringify(new.get(k) or old.get(k)).lower())
    entries = []
    for key in keys:
        if key in old and key in new:
            if pf.stringify(old[key]) == pf.stringify(new[key]):
                entries.append(new[key])
                continue
            old_para, new_para = old[key].content[0], new[key].content[0]
            inlines = render.inline_diff(tokens_of(old_para.content),
                                         tokens_of(new_para.content), "References")
            render.changes[-1].kind = "reference changed"
            entries.append(pf.Div(pf.Para(*inlines), identifier=key,
                                  classes=list(new[key].classes)))
            continue
        how, entry = ("added", new[key]) if key in new else ("removed", old[key])
        span = "insertion" if how == "added" else "deletion"
        change = render.change("References", f"reference {how}",
                               old=pf.stringify(entry) if how == "removed" else "",
                               new=pf.stringify(entry) if how == "added" else "")
        wrapped = [pf.Para(render.span(span, list(block.content)))
                   if isinstance(block, pf.Para | pf.Plain) else block
                   for block in entry.content]
        entries.append(pf.Div(pf.Div(*wrapped, identifier=key, classes=["csl-entry"]),
                              classes=[f"block-{span}"], identifier=change.anchor))
    return pf.Div(*entries, identifier="refs", classes=list(refs_div.classes),
                  attributes=dict(refs_div.attributes))


def _metadata(render: _Renderer, old_doc: pf.Doc, new_doc: pf.Doc) -> list[str]:
    """Title, authors, abstract, keywords: diffed in place in NEW's metadata."""
    changed = []
    old_meta, new_meta = old_doc.metadata, new_doc.metadata
    for key in ("title", "subtitle"):
        old_value, new_value = old_meta.content.get(key), new_meta.content.get(key)
        if pf.stringify(old_value or pf.MetaString("")) == pf.stringify(
                new_value or pf.MetaString("")):
            continue
        changed.append(key)
        new_meta[key] = pf.MetaInlines(*render.inline_diff(
            tokens_of(getattr(old_value, "content", [])),
            tokens_of(getattr(new_value, "content", [])), key.capitalize()))
    old_abstract = _blocks(old_meta.content.get("abstract"))
    new_abstract = _blocks(new_meta.content.get("abstract"))
    if list(map(pf.stringify, old_abstract)) != list(map(pf.stringify, new_abstract)):
        changed.append("abstract")
        section = "Abstract"
        old_blocks = [Block(b, tokens_of(b.content), section) for b in old_abstract
                      if isinstance(b, pf.Para | pf.Plain)]
        new_blocks = [Block(b, tokens_of(b.content), section) for b in new_abstract
                      if isinstance(b, pf.Para | pf.Plain)]
        blocks = []
        for pair in align(old_blocks, new_blocks):
            blocks += render.block(pair, None)
        new_meta["abstract"] = pf.MetaBlocks(*blocks)
    for key, section in (("keywords", "Keywords"), ("author", "Authors")):
        old_list = _strings(old_doc.get_metadata(key, default=[]))
        new_list = _strings(new_doc.get_metadata(key, default=[]))
        if old_list == new_list:
            continue
        changed.append(key)
        if key == "keywords":
            new_meta[key] = pf.MetaList(*_list_diff(render, old_list, new_list,
                                                    section))
        else:
            _byline_diff(render, new_meta, old_list, new_list)
    return changed


def _blocks(value) -> list:
    if isinstance(value, pf.MetaBlocks):
        return list(value.content)
    if isinstance(value, pf.MetaInlines):
        return [pf.Para(*value.content)]
    return []


def _strings(value) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item.get("name", "")) if isinstance(item, dict) else str(item)
            for item in items if item]


def _list_diff(render: _Renderer, old: list[str], new: list[str], section: str):
    items = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            items += [pf.MetaInlines(pf.Str(text)) for text in new[j1:j2]]
            continue
        for text in old[i1:i2]:
            change = render.change(section, f"{section.lower()[:-1]} removed", old=text)
            items.append(pf.MetaInlines(render.span("deletion", [pf.Str(text)],
                                                    change.anchor)))
        for text in new[j1:j2]:
            change = render.change(section, f"{section.lower()[:-1]} added", new=text)
            items.append(pf.MetaInlines(render.span("insertion", [pf.Str(text)],
                                                    change.anchor)))
    return items


def _byline_diff(render: _Renderer, meta, old: list[str], new: list[str]) -> None:
    byline = meta.content.get("byline")
    entries = list(byline.content) if isinstance(byline, pf.MetaList) else []
    for entry in entries:
        if not isinstance(entry, pf.MetaMap):
            continue
        name = pf.stringify(entry.content["name"])
        if name and name not in old:
            change = render.change("Authors", "author added", new=name)
            entry["name"] = pf.MetaInlines(render.span(
                "insertion", list(entry.content["name"].content), change.anchor))
    for name in old:
        if name not in new:
            change = render.change("Authors", "author removed", old=name)
            entries.append(pf.MetaMap(name=pf.MetaInlines(render.span(
                "deletion", [pf.Str(name)], change.anchor))))
    meta["byline"] = pf.MetaList(*entries)


def _summary(render: _Renderer, summary: dict, labels: tuple[str, str]) -> pf.Div:
    old_label, new_label = labels
    title = pf.Para(pf.Strong(pf.Str(f"Changes from {old_label} to {new_label}")))
    if not render.changes:
        return pf.Div(title, pf.Para(pf.Str("No changes.")),
                      identifier="diff-summary", classes=["diff-summary"])
    legend = pf.Para(pf.Str("Legend:"), pf.Space(),
                     pf.Span(pf.Str("inserted text"), classes=["insertion", "legend"]),
                     pf.Str(","), pf.Space(),
                     pf.Span(pf.Str("deleted text"), classes=["deletion", "legend"]),
                     pf.Str(","), pf.Space(),
                     pf.Span(pf.Str("moved paragraph"),
                             classes=["move-label", "legend"]),
                     pf.Str("."))
    words, cites, refs = summary["words"], summary["citations"], summary["references"]
    facts = [
        f"{_plural(words['inserted'], 'word')} inserted, {words['deleted']} deleted",
        f"citations: {cites['added']} added, {cites['removed']} removed, "
        f"{cites['changed']} changed",
        f"references: {refs['added']} added, {refs['removed']} removed, "
        f"{refs['changed']} changed",
    ]
    xrefs = summary["cross-references"]
    if any(xrefs.values()):  # not a line of zeros in a paper without any
        facts.append(f"cross-references: {xrefs['added']} added, "
                     f"{xrefs['removed']} removed, {xrefs['changed']} changed")
    if summary["metadata"]:
        facts.append("title block: " + ", ".join(summary["metadata"]) + " changed")
    items = [pf.ListItem(pf.Plain(*words_of(fact))) for fact in facts]
    sections = [pf.ListItem(pf.Plain(*words_of(f"{section}: " + ", ".join(
        f"{n} {kind}" for kind, n in sorted(counts.items())))))
        for section, counts in summary["paragraphs"].items()]
    if sections:
        items.append(pf.ListItem(pf.Plain(*words_of("paragraphs per section:")),
                                 pf.BulletList(*sections)))
    every = pf.OrderedList(*[pf.ListItem(pf.Plain(pf.Link(
        *words_of(f"{c.section or 'Start'}: {c.kind}"), url=f"#{c.anchor}")))
        for c in render.changes])
    return pf.Div(title, legend, pf.BulletList(*items),
                  pf.Para(pf.Str("Every"), pf.Space(), pf.Str("change:")), every,
                  identifier="diff-summary", classes=["diff-summary"])


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def words_of(text: str) -> list:
    """Plain text as Str and Space inlines."""
    out: list = []
    for n, word in enumerate(text.split()):
        out += [pf.Space()] if n else []
        out.append(pf.Str(word))
    return out


# -- the Word and JSON versions ----------------------------------------------

def for_word(doc: pf.Doc) -> pf.Doc:
    """The diff as Word shows tracked changes: no summary (Word has its own
    review pane), and a move as a deletion where it was and an insertion
    where it is (pandoc has no w:moveFrom/w:moveTo).

    Every inserted or deleted block (a table, a list, code, a figure as
    much as a paragraph) is bracketed by `docxtrack` markers, with the
    change's author and date, so that all of it is tracked in Word. A
    table deleted next to one inserted in its place with the same shape
    and mostly the same cells (an edited cell or caption: tables are
    compared whole) becomes one table with its edited cells tracked."""
    from pubbuild import docxtrack

    copy = pandoc.copy(doc)
    blocks = {"block-insertion": "insertion", "moved-to": "insertion",
              "block-deletion": "deletion", "moved-from": "deletion"}
    # Block Divs carry no author and date of their own (a moved-to one
    # does): the diff's, from any change that has them.
    found = []
    copy.walk(lambda e, _d: found.append(e) if isinstance(e, pf.Span | pf.Div)
              and "author" in e.attributes and not found else None)
    who = (found[0].attributes["author"], found[0].attributes.get("date", "")
           ) if found else ("Author", "")

    def rows(table: pf.Table) -> list:
        parts = [table.head, *table.content, table.foot]
        return [row for part in parts for row in (
            [*part.head, *part.content] if isinstance(part, pf.TableBody)
            else part.content)]

    def shape(table: pf.Table) -> list:
        return [[(c.rowspan, c.colspan) for c in row.content] for row in rows(table)]

    def cell_diff(old: list, new: list) -> list | None:
        """`new` blocks with word-level changes from `old`, if both are one
        paragraph (or none), else None."""
        if [pf.stringify(b) for b in old] == [pf.stringify(b) for b in new]:
            return new   # the very list: the cell is unchanged
        if len(old) > 1 or len(new) > 1 or not all(
                isinstance(b, pf.Plain | pf.Para) for b in [*old, *new]):
            return None
        inlines = _Renderer(*who).inline_diff(
            tokens_of(old[0].content if old else []),
            tokens_of(new[0].content if new else []), "", target="-")  # no ids
        return [(type(new[0]) if new else pf.Plain)(*inlines)]

    def changed_table(first: pf.Block, second: pf.Block) -> pf.Block | None:
        """A table deleted next to one inserted in its place (a cell or its
        caption edited: tables are compared whole), as one table whose
        changed cells are tracked, if they have the same shape."""
        pair = {}
        for div in (first, second):
            if not (isinstance(div, pf.Div) and len(div.content) == 1
                    and isinstance(div.content[0], pf.Table)):
                return None
            for name in ("block-insertion", "block-deletion"):
                if name in div.classes:
                    pair[name] = div.content[0]
        if len(pair) != 2:
            return None
        old, new = pair["block-deletion"], pair["block-insertion"]
        if shape(old) != shape(new):
            return None
        cells = [(cell, cell_diff(list(old_cell.content), cell.content))
                 for old_row, row in zip(rows(old), rows(new), strict=True)
                 for old_cell, cell in zip(old_row.content, row.content, strict=True)]
        caption = cell_diff(list(old.caption.content), list(new.caption.content))
        same = sum(blocks is cell.content for cell, blocks in cells)
        if (caption is None or any(blocks is None for _, blocks in cells)
                or same < SIMILAR * len(cells)):   # another table, not an edit
            return None
        for cell, blocks in cells:
            cell.content = blocks
        new.caption.content = caption
        new.parent.content = []   # `new` goes to a Div of its own
        return pf.Div(new, identifier=first.identifier)

    content = list(copy.content)
    n = 0
    while n < len(content) - 1:
        merged = changed_table(content[n], content[n + 1])
        if merged is not None:
            content[n:n + 2] = [merged]
        n += 1
    copy.content = content

    def marked(div: pf.Div) -> None:
        kind = next(blocks[c] for c in div.classes if c in blocks)
        div.content = [pf.RawBlock(docxtrack.begin(
            kind, div.attributes.get("author", who[0]),
            div.attributes.get("date", who[1])), format="openxml"),
            *div.content, pf.RawBlock(docxtrack.end(), format="openxml")]

    def action(elem, _doc):
        if isinstance(elem, pf.Div) and "diff-summary" in elem.classes:
            return []
        if isinstance(elem, pf.Para) and elem.content and isinstance(
                elem.content[0], pf.Span) and "move-label" in elem.content[0].classes:
            return []
        if isinstance(elem, pf.Div) and "moved-to" in elem.classes:
            for block in elem.content:
                if isinstance(block, pf.Para | pf.Plain | pf.Header):
                    kept = [inline for inline in block.content if not (
                        isinstance(inline, pf.Span) and "deletion" in inline.classes)]
                    flat = []
                    for inline in kept:
                        flat += (list(inline.content) if isinstance(inline, pf.Span)
                                 and "insertion" in inline.classes else [inline])
                    block.content = [pf.Span(*flat, classes=["insertion"], attributes={
                        "author": elem.attributes["author"],
                        "date": elem.attributes["date"]})]
        if isinstance(elem, pf.Div) and not blocks.keys().isdisjoint(elem.classes):
            marked(elem)
        return None

    return copy.walk(action)


def to_json(result: Result, old, new, author: str, date: str) -> bytes:
    """The change list, for a response-to-reviewers letter."""
    import json

    data = {
        "old": {"revision": old.label, "commit": old.commit},
        "new": {"revision": new.label, "commit": new.commit},
        "author": author, "date": date,
        "summary": result.summary,
        "changes": [{"id": c.anchor, "section": c.section, "kind": c.kind,
                     "old": c.old, "new": c.new} for c in result.changes],
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
