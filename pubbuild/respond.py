"""The response to reviewers: each comment, its reply, and the changes the
reply points at, as excerpts of the diff with where they are.

`pubbuild.compare` has marked every change between the two revisions in
one document (Spans `insertion`/`deletion` with ids `change-N`, blocks in
Divs). Here that document is read back as a sequence of `Unit`s, the
blocks of text of the revised manuscript in reading order (title,
abstract, body, reference list), each with its new text and where in it
each change sits. From them:

- `resolve`: a reply's pointers as change numbers. A quotation is looked
  for in the new text (by its letters, `pubbuild.locate.letters`); the
  changes it points at are those inside the quoted words, else those of
  the paragraph it is in.
- `where`: each change's page and line in the revised PDF and DOCX, found
  by its unit's text in their laid-out lines (`pubbuild.locate.Finder`).
- `excerpt`: the words around a change, deletions struck and insertions
  underlined (as Strikeout and Underline, so Word shows formatting, not
  tracked changes), internal links and ids removed.
- `letter`: the letter's blocks around the reviewers' comments and the
  replies (which the caller runs through the filters), with a slot for
  each reply's changes that `fill` replaces once the filters have run.

This module must not know about git, files or the output formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import panflute as pf

from pubbuild import locate, reviews
from pubbuild.compare import Change, words_of

CONTEXT = 12        # words shown on each side of a change
BLOCK_WORDS = 60    # words shown of an inserted or deleted paragraph
SLOT = "response-changes"


@dataclass
class Unit:
    """A block of the revised text, and where each change sits in it."""

    block: pf.Block           # the diff's block (Para, Plain, Header ...)
    text: str                 # its new text
    anchors: list[tuple[str, int]] = field(default_factory=list)  # (id, letters in)
    whole: str = ""           # the id of a change the whole block is
    shown: pf.Block | None = None  # what an excerpt shows (a whole table)
    moved: str = ""           # "Moved from “Introduction”": a moved block's


@dataclass
class Where:
    section: str
    pdf_page: int | None = None
    docx_page: int | None = None
    docx_line: int | None = None

    def words(self) -> str:
        parts = [f"§ {self.section}" if self.section else "before the first heading"]
        parts.append(f"PDF p. {self.pdf_page}" if self.pdf_page else "PDF: not found")
        parts.append("DOCX: not found" if not self.docx_page else
                     f"DOCX p. {self.docx_page}, l. {self.docx_line}"
                     if self.docx_line else f"DOCX p. {self.docx_page}")
        return " · ".join(parts)


# -- the revised text, unit by unit -----------------------------------------

def units(diff: pf.Doc) -> list[Unit]:
    """The diff document's blocks of new text, in reading order."""
    out: list[Unit] = []
    pending: list[str] = []   # deleted blocks: located where the next text starts
    meta = diff.metadata.content
    for key in ("title", "subtitle"):
        value = meta.get(key)
        if isinstance(value, pf.MetaInlines):
            _unit(pf.Para(*value.content), out, pending)
    abstract = meta.get("abstract")
    if isinstance(abstract, pf.MetaBlocks):
        _blocks(list(abstract.content), out, pending)
    keywords = meta.get("keywords")
    if isinstance(keywords, pf.MetaList):
        inlines = []
        for item in keywords.content:
            if isinstance(item, pf.MetaInlines):
                inlines += [*item.content, pf.Space()]
        _unit(pf.Para(*inlines), out, pending)
    byline = meta.get("byline")
    if isinstance(byline, pf.MetaList):
        for entry in byline.content:
            name = entry.content.get("name") if isinstance(entry, pf.MetaMap) else None
            if isinstance(name, pf.MetaInlines):
                _unit(pf.Para(*name.content), out, pending)
    body = [b for b in diff.content
            if not (isinstance(b, pf.Div) and "diff-summary" in b.classes)]
    _blocks(body, out, pending)
    if pending and out:
        out[-1].anchors += [(anchor, len(locate.letters(out[-1].text)))
                            for anchor in pending]
    return out


def _blocks(blocks: list, out: list[Unit], pending: list[str]) -> None:
    for block in blocks:
        if isinstance(block, pf.Div):
            anchor = block.attributes.get("change") or (
                block.identifier if block.identifier.startswith("change-") else "")
            if "moved-from" in block.classes:
                continue  # its change is the moved-to end's
            if "block-deletion" in block.classes:
                pending.append(anchor)
                continue
            first = len(out)
            _blocks([b for b in block.content if not _is_label(b)], out, pending)
            labels = [b for b in block.content if _is_label(b)]
            if "moved-to" in block.classes and labels and len(out) > first:
                out[first].moved = pf.stringify(labels[0]).replace("↑", "").strip()
            if anchor and len(out) > first:
                out[first].anchors.insert(0, (anchor, 0))
                for unit in out[first:]:
                    unit.whole = unit.whole or anchor
            elif anchor:
                pending.append(anchor)
        elif isinstance(block, pf.Para | pf.Plain | pf.Header):
            _unit(block, out, pending)
        elif isinstance(block, pf.BlockQuote):
            _blocks(list(block.content), out, pending)
        elif isinstance(block, pf.BulletList | pf.OrderedList):
            for item in block.content:
                _blocks(list(item.content), out, pending)
        elif isinstance(block, pf.DefinitionList):
            for item in block.content:
                _unit(pf.Plain(*item.term), out, pending)
                for definition in item.definitions:
                    _blocks(list(definition.content), out, pending)
        elif isinstance(block, pf.Figure):
            _blocks(list(block.content), out, pending)
            if block.caption is not None:
                _blocks(list(block.caption.content), out, pending)
        elif isinstance(block, pf.Table):  # the caption (above), then the cells
            first = len(out)
            if block.caption is not None:
                _blocks(list(block.caption.content), out, pending)
            for part in [block.head, *block.content, block.foot]:
                for row in getattr(part, "content", []):
                    for cell in row.content:
                        _blocks(list(cell.content), out, pending)
            if len(out) > first:
                out[first].shown = block
        else:  # a table, code, a formula: found by its text, as one block
            _unit(pf.Plain(pf.Str(pf.stringify(block))), out, pending,
                  shown=block)


def _is_label(block) -> bool:
    return (isinstance(block, pf.Para) and len(block.content) == 1
            and isinstance(block.content[0], pf.Span)
            and "move-label" in block.content[0].classes)


def _unit(block, out: list[Unit], pending: list[str], shown=None) -> None:
    text: list[str] = []
    anchors: list[tuple[str, int]] = [(a, 0) for a in pending]
    pending.clear()
    if isinstance(block, pf.Header) and block.identifier:
        anchors.append((block.identifier, 0))  # a heading renamed: its own id
    state = {"deleted": "", "letters": 0}  # letters of `text` so far

    def add(piece: str) -> None:
        text.append(piece)
        state["letters"] += len(locate.letters(piece))

    def visit(inlines) -> None:
        for elem in inlines:
            count = state["letters"]
            if isinstance(elem, pf.Span) and "deletion" in elem.classes:
                if elem.identifier:
                    anchors.append((elem.identifier, count))
                state["deleted"] = elem.identifier
                continue
            if isinstance(elem, pf.Span) and "insertion" in elem.classes:
                anchor = elem.identifier or state["deleted"]
                if anchor and (anchor, count) not in anchors:
                    anchors.append((anchor, count))
                state["deleted"] = ""
                visit(elem.content)
                continue
            state["deleted"] = ""
            if isinstance(elem, pf.Note | pf.Math | pf.Image | pf.RawInline):
                continue  # not in the page's flow as letters
            if isinstance(elem, pf.Str | pf.Code):
                add(elem.text)
            elif isinstance(elem, pf.Space | pf.SoftBreak | pf.LineBreak):
                add(" ")
            elif hasattr(elem, "content"):
                visit(elem.content)

    visit(block.content)
    out.append(Unit(shown or block, "".join(text), anchors))


# -- pointers ----------------------------------------------------------------

def changes_at(units_: list[Unit], quoted: str) -> tuple[list[str], Unit | None]:
    """The change ids a quotation of the new text points at, and the unit
    it is in; ([], None) if it is not in the new text. Where the words
    stand more than once, the place with a change inside them is meant,
    else one whose paragraph changed, else the first."""
    key = locate.letters(quoted)
    if not key:
        return [], None
    found = []
    for unit in units_:
        text = locate.letters(unit.text)
        at = text.find(key)
        while at >= 0:
            inside = [a for a, offset in unit.anchors
                      if at <= offset <= at + len(key)]
            if unit.whole:
                inside = [unit.whole, *[a for a in inside if a != unit.whole]]
            found.append((not inside, not unit.anchors, len(found), inside, unit))
            at = text.find(key, at + 1)
    if not found:
        return [], None
    *_, inside, unit = min(found, key=lambda f: f[:3])
    if not inside:
        inside = [a for a, _ in unit.anchors]
    return _unique(inside), unit


def deleted_at(diff: pf.Doc, quoted: str, anchors) -> list[str]:
    """The changes (of `anchors`, the diff's ids) whose deleted text holds
    the quoted words: a quotation of the reviewed text that the revised
    text no longer has. A deletion is its change's, or that of the nearest
    block around it that is one (a deleted paragraph, a renamed heading)."""
    key = locate.letters(quoted)
    found: list[str] = []

    def change_of(elem) -> str:
        while elem is not None and not isinstance(elem, pf.Doc):
            for anchor in (getattr(elem, "identifier", ""),
                           getattr(elem, "attributes", {}).get("change", "")):
                if anchor in anchors:
                    return anchor
            elem = elem.parent
        return ""

    def look(elem, _doc):
        if (isinstance(elem, pf.Span) and "deletion" in elem.classes
                and key in locate.letters(pf.stringify(elem))):
            anchor = change_of(elem)
            if anchor:
                found.append(anchor)

    if key:
        diff.walk(look)
    return _unique(found)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- where a change is -------------------------------------------------------

def where(units_: list[Unit], changes: list[Change], pdf_lines: list[locate.Line],
          docx_lines: list[locate.Line]) -> dict[str, Where]:
    """Each change's section, PDF page and DOCX page and line, by its id."""
    found: dict[str, Where] = {}
    sections = {c.anchor: c.section for c in changes}
    for lines, fill in ((pdf_lines, _pdf), (docx_lines, _docx)):
        finder = locate.Finder(lines)
        carried: list[str] = []  # of units not found (an image): the next one's
        for unit in units_:
            start = finder.find(unit.text)
            if start is None:
                carried += [anchor for anchor, _ in unit.anchors]
                continue
            here = [(anchor, 0) for anchor in carried] + unit.anchors
            carried = []
            for anchor, offset in here:
                if anchor not in sections:
                    continue
                line = finder.at(start + offset)
                place = found.setdefault(anchor, Where(sections[anchor]))
                fill(place, line)
    for anchor, section in sections.items():
        found.setdefault(anchor, Where(section))
    return found


def _pdf(place: Where, line: locate.Line) -> None:
    if place.pdf_page is None:
        place.pdf_page = line.page


def _docx(place: Where, line: locate.Line) -> None:
    if place.docx_page is None:  # a table's line has no number: the page only
        place.docx_page, place.docx_line = line.page, line.number or None


# -- excerpts ------------------------------------------------------------------

def excerpt(units_: list[Unit], anchor: str) -> list[pf.Block]:
    """The change `anchor` as the diff shows it, cut to the words around it."""
    whole = [u for u in units_ if u.whole == anchor]
    if whole and whole[0].shown is not None:
        return [_shown(whole[0].shown)]
    if whole:
        moved = [pf.Para(pf.Emph(*words_of(f"{whole[0].moved}.")))] if whole[0].moved \
            else []
        return [*moved, *(_shown(_cut(u.block, 0, BLOCK_WORDS)) for u in whole[:3])]
    for unit in units_:
        if any(a == anchor for a, _ in unit.anchors):
            block = unit.block
            if not isinstance(block, pf.Para | pf.Plain | pf.Header):
                return [_shown(block)]
            index = _index_of(block, anchor)
            if index is None:  # a heading renamed, a deleted block's place
                return [_shown(_cut(block, 0, BLOCK_WORDS))]
            return [_shown(_around(block, index))]
    return []


def deleted(diff: pf.Doc, anchor: str) -> list[pf.Block]:
    """A deleted block's excerpt (it has no unit of new text)."""
    found: list[pf.Block] = []

    def look(elem, _doc):
        if (not found and isinstance(elem, pf.Div) and elem.identifier == anchor
                and "block-deletion" in elem.classes):
            found.extend(_shown(_cut(b, 0, BLOCK_WORDS)) for b in elem.content[:3])

    diff.walk(look)
    return found


def _index_of(block, anchor: str) -> int | None:
    for n, elem in enumerate(block.content):
        if isinstance(elem, pf.Span) and elem.identifier == anchor:
            return n
    return None


def _around(block, index: int) -> pf.Block:
    """The inlines of `block` from CONTEXT words before the change at
    `index` to CONTEXT words after it (its insertion too)."""
    inlines = list(block.content)
    end = index
    if (end + 1 < len(inlines) and isinstance(inlines[end + 1], pf.Span)
            and "insertion" in inlines[end + 1].classes
            and not inlines[end + 1].identifier):
        end += 1
    start, words = index, 0
    while start > 0 and words < CONTEXT:
        start -= 1
        words += isinstance(inlines[start], pf.Str)
    stop, words = end + 1, 0
    while stop < len(inlines) and words < CONTEXT:
        words += isinstance(inlines[stop], pf.Str)
        stop += 1
    kept = inlines[start:stop]
    if start > 0:
        kept = [pf.Str("…"), *([] if isinstance(kept[0], pf.Space) else [pf.Space()]),
                *kept]
    if stop < len(inlines):
        kept = [*kept, pf.Space(), pf.Str("…")]
    return pf.Para(*kept)


def _cut(block, start: int, limit: int) -> pf.Block:
    """A paragraph's first `limit` words (a heading as a paragraph)."""
    if not isinstance(block, pf.Para | pf.Plain | pf.Header):
        return block
    inlines, words = [], 0
    for elem in block.content[start:]:
        if words >= limit:
            inlines.append(pf.Str(" …"))
            break
        inlines.append(elem)
        words += len(pf.stringify(elem).split()) if isinstance(elem, pf.Span) else \
            isinstance(elem, pf.Str)
    return pf.Para(*inlines)


def _shown(block) -> pf.Block:
    """A copy for the letter: insertions underlined, deletions struck (with
    their classes, for the colours of styles/diff.css), no ids, no internal
    links, no notes."""
    import copy

    def action(elem, _doc):
        if isinstance(elem, pf.Span) and "insertion" in elem.classes:
            return pf.Span(pf.Underline(*elem.content), classes=["inserted"])
        if isinstance(elem, pf.Span) and "deletion" in elem.classes:
            return pf.Span(pf.Strikeout(*elem.content), classes=["deleted"])
        if isinstance(elem, pf.Link) and elem.url.startswith("#"):
            return pf.Span(*elem.content)
        if isinstance(elem, pf.Note):  # in place, so a changed note shows
            inlines = []
            for block in elem.content:
                if isinstance(block, pf.Para | pf.Plain):
                    inlines += [pf.Space(), *block.content] if inlines else list(
                        block.content)
            return pf.Span(pf.Str("[note:"), pf.Space(), *inlines, pf.Str("]"),
                           classes=["note"])
        if isinstance(elem, pf.Div | pf.Span):  # a reference entry's role too
            elem.attributes = {}
            elem.classes = [c for c in elem.classes
                            if c in ("inserted", "deleted", "note")]
        if hasattr(elem, "identifier") and elem.identifier:
            elem.identifier = ""
        return None

    def spaced(elem, _doc):
        """A space between a deletion and the insertion after it: "old new"
        in Word too (the HTML and PDF have styles/diff.css's margin)."""
        if not isinstance(elem, pf.Para | pf.Plain):
            return None
        inlines = list(elem.content)
        out = []
        for n, item in enumerate(inlines):
            out.append(item)
            following = inlines[n + 1] if n + 1 < len(inlines) else None
            if (isinstance(item, pf.Span) and "deleted" in item.classes
                    and isinstance(following, pf.Span)
                    and "inserted" in following.classes):
                out.append(pf.Space())
        elem.content = out
        return None

    return copy.deepcopy(block).walk(action).walk(spaced)


# -- the letter --------------------------------------------------------------

CHANGE_TEXT = re.compile(r"^\[?changes?$", re.I)


def link_change_ids(blocks: list, numbers: dict[int, str]) -> list:
    """`[change 7]` in a reply as a link to change 7's excerpt below."""
    def action(elem, _doc):
        if not isinstance(elem, pf.Para | pf.Plain):
            return None
        inlines = list(elem.content)
        out, n = [], 0
        while n < len(inlines):
            item = inlines[n]
            if isinstance(item, pf.Str) and CHANGE_TEXT.match(item.text) \
                    and item.text.startswith("["):
                tail = _ids_tail(inlines, n)
                if tail is not None:
                    end, ids, after = tail
                    out.append(pf.Str("["))
                    word = "change" if len(ids) == 1 else "changes"
                    out += [pf.Str(word), pf.Space()]
                    for k, number in enumerate(ids):
                        if k:
                            out += [pf.Str(","), pf.Space()]
                        label = pf.Str(str(number))
                        out.append(pf.Link(label, url=f"#{numbers[number]}")
                                   if number in numbers else label)
                    out.append(pf.Str("]" + after))
                    n = end + 1
                    continue
            out.append(item)
            n += 1
        elem.content = out
        return None

    return [b.walk(action) for b in blocks]


def _ids_tail(inlines: list, start: int):
    """From `[change` at `start`: (index of the token with `]`, the numbers,
    what follows `]` in that token), or None."""
    text = ""
    for n in range(start + 1, min(start + 20, len(inlines))):
        item = inlines[n]
        if isinstance(item, pf.Space | pf.SoftBreak):
            text += " "
            continue
        if not isinstance(item, pf.Str):
            return None
        text += item.text
        if "]" in item.text:
            inner, _, after = text.partition("]")
            if not re.fullmatch(rf"\s*{reviews.NUMBERS}\s*", inner):
                return None
            return n, [int(x) for x in re.findall(r"\d+", inner)], after
    return None


# -- what each reply points at, and the checks ----------------------------------

def _deleted_by(diff: pf.Doc, quoted: str, numbers: dict[str, int]) -> str:
    """How to point at the words quoted where a change deleted them: a
    quotation is looked for in the revised text only."""
    gone = [numbers[a] for a in deleted_at(diff, quoted, numbers)]
    if not gone:
        return ""
    which = (f"change {gone[0]}" if len(gone) == 1
             else "changes " + ", ".join(map(str, gone)))
    return f"; {which} deleted it: point at a deletion by its number, [{which}]"


@dataclass
class Plan:
    """Each comment's changes (ids, in the order its reply names them), and
    what the checks found."""

    changes: dict[str, Change]               # by id
    numbers: dict[str, int]                  # id -> the diff's number
    pointed: dict[str, list[str]]            # comment label -> change ids
    unchanged: dict[str, list[str]] = field(default_factory=dict)  # quotes
    unreplied: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # changes no reply names

    @property
    def referenced(self) -> set[str]:
        """The changes some reply points at."""
        return {a for ids in self.pointed.values() for a in ids}

    @classmethod
    def make(cls, parsed, result, units_: list[Unit], reporter, *,
             draft: bool) -> Plan:
        changes = {c.anchor: c for c in result.changes}
        numbers = {c.anchor: c.number for c in result.changes}
        by_number = {c.number: c.anchor for c in result.changes}
        plan = cls(changes, numbers, {})
        for comment in parsed.comments:
            ids: list[str] = []
            if not comment.reply and not comment.pointers:
                plan.unreplied.append(comment.label)
                if draft:
                    reporter.warning(f"{comment.label} has no reply yet (--draft)",
                                     comment.line)
                else:
                    reporter.error(f"{comment.label} has no reply (--draft allows "
                                   "it)", comment.line)
            for pointer in comment.pointers:
                if pointer.kind == "change":
                    if pointer.value in by_number:
                        ids.append(by_number[pointer.value])
                    else:
                        reporter.error(
                            f"{comment.label}: there is no change {pointer.value} "
                            f"(the diff has {len(result.changes)}: "
                            "python build.py diff lists them)", pointer.line)
                    continue
                found, unit = changes_at(units_, str(pointer.value))
                if unit is None:
                    reporter.error(f"{comment.label}: “{pointer.value}” is not in "
                                   "the revised text" + _deleted_by(
                                       result.doc, str(pointer.value), numbers),
                                   pointer.line)
                elif not found:
                    plan.unchanged.setdefault(comment.label, []).append(
                        str(pointer.value))
                    reporter.warning(f"{comment.label}: “{pointer.value}” is in the "
                                     "revised text, but nothing there changed",
                                     pointer.line)
                ids += found
            plan.pointed[comment.label] = _unique(ids)
        referenced = plan.referenced
        plan.other = [a for a in changes if a not in referenced]
        for anchor in plan.other:
            change = changes[anchor]
            reporter.warning(f"change {change.number} ({change.kind}, "
                             f"{change.section or 'start'}) is not referenced by "
                             "any reply: listed under other changes")
        return plan

    def report(self, words: tuple[int, int]) -> list[str]:
        """The checks, as printed (the warnings are printed before)."""
        lines = [f"{len(self.pointed)} comments, "
                 f"{len(self.pointed) - len(self.unreplied)} replied; "
                 f"{len(self.referenced)} of {len(self.changes)} changes "
                 "referenced, "
                 f"{len(self.other)} others in the appendix; main text "
                 f"{words[0]} words before, {words[1]} after"]
        for label in self.unreplied:
            lines.append(f"  no reply: {label}")
        return lines


def front(letter: pf.Doc, header: dict, article: pf.Doc, *, anonymous: bool,
          date: str) -> None:
    """The letter's title block: its own title, the article's title and
    manuscript number, the article's authors unless anonymous, and `date`
    (the revised revision's) unless the file gives one."""
    meta = letter.metadata
    if "title" not in meta.content:
        meta["title"] = pf.MetaInlines(*words_of("Response to the reviewers"))
    title = pf.stringify(article.metadata.content.get("title", pf.MetaString("")))
    number = header.get("manuscript-number")
    subtitle = (f"Manuscript {number}: {title}" if number and title
                else f"Manuscript {number}" if number else title)
    if subtitle and "subtitle" not in meta.content:
        meta["subtitle"] = pf.MetaInlines(*words_of(subtitle))
    for key in ("author", "byline", "affiliation", "institute"):
        if anonymous:
            if key in meta.content:
                del meta[key]
        elif key not in meta.content and key in article.metadata.content:
            meta[key] = article.metadata.content[key]
    if "date" not in meta.content:
        meta["date"] = pf.MetaString(date)


def letter(parsed, plan: Plan, header: dict, article: pf.Doc,
           labels: tuple[str, str], words: tuple[int, int], *,
           anonymous: bool) -> list:
    """The letter's blocks; each reply's changes are a slot (`fill`)."""
    blocks = list(parsed.opening)
    blocks.append(_summary(parsed, plan, labels, words))
    for reviewer in parsed.reviewers:
        blocks.append(pf.Header(*reviewer.name, level=1,
                                identifier=reviewer.identifier))
        for comment in reviewer.comments:
            ids = plan.pointed.get(comment.label, [])
            numbers = {plan.numbers[a]: f"{comment.label}-change-{plan.numbers[a]}"
                       for a in ids}
            reply = (link_change_ids(comment.reply, numbers) if comment.reply
                     else [pf.Para(pf.Emph(*words_of("No reply yet.")))]
                     if comment.label in plan.unreplied else [])
            blocks.append(pf.Div(
                pf.Para(pf.Strong(pf.Str(comment.label))),
                pf.BlockQuote(*comment.blocks),
                pf.Div(*reply, classes=["reply"]),
                pf.Div(pf.Plain(pf.Str(comment.label)), classes=[SLOT],
                       attributes={"comment": comment.label}),
                identifier=comment.label, classes=["comment"]))
    blocks.append(pf.Header(*words_of("Appendix: other changes and checks"),
                            level=1, identifier="other-changes"))
    blocks.append(pf.Para(*words_of(
        f"Changes in the diff from {labels[0]} to {labels[1]} that no reply "
        f"points at: {len(plan.other)}.")))
    blocks.append(pf.Div(pf.Plain(pf.Str("other")), classes=[SLOT],
                         attributes={"comment": ""}))
    change = f"{words[1] - words[0]:+d}".replace("-", "\u2212")
    checks = [f"Main text: {words[0]} words before, {words[1]} after ({change}).",
              f"Comments without a reply: {len(plan.unreplied)}"
              + (f" ({', '.join(plan.unreplied)})." if plan.unreplied else ".")]
    for label, quotes in plan.unchanged.items():
        checks += [f"{label} quotes “{q}”, which did not change." for q in quotes]
    blocks.append(pf.BulletList(*[pf.ListItem(pf.Plain(*words_of(c))) for c in checks]))
    return blocks


def _summary(parsed, plan: Plan, labels: tuple[str, str],
             words: tuple[int, int]) -> pf.Div:
    def cell(text: str) -> pf.TableCell:
        return pf.TableCell(pf.Plain(*words_of(text)))

    rows, totals = [], [0, 0, 0]
    for reviewer in parsed.reviewers:
        labels_ = [c.label for c in reviewer.comments]
        counts = [len(labels_),
                  sum(label not in plan.unreplied for label in labels_),
                  len({a for label in labels_ for a in plan.pointed.get(label, [])})]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append(pf.TableRow(cell(pf.stringify(pf.Plain(*reviewer.name)).strip()),
                                *(cell(str(c)) for c in counts)))
    rows.append(pf.TableRow(cell("All"), *(cell(str(t)) for t in totals)))
    head = pf.TableHead(pf.TableRow(*(cell(h) for h in (
        "Reviewer", "Comments", "Replies", "Changes referenced"))))
    table = pf.Table(pf.TableBody(*rows), head=head,
                     caption=pf.Caption(pf.Plain(*words_of("Summary of the response"))),
                     colspec=[("AlignLeft", "ColWidthDefault")] + [
                         ("AlignRight", "ColWidthDefault")] * 3)
    facts = pf.Para(*words_of(
        f"Compared: {labels[0]} (reviewed) with {labels[1]} (revised). "
        f"{len(plan.changes)} changes, {len(plan.referenced)} referenced by the "
        "replies, "
        f"{len(plan.other)} others (see the appendix). Main text: {words[0]} "
        f"words before, {words[1]} after."))
    return pf.Div(table, facts, classes=["response-summary"])


def fill(letter_doc: pf.Doc, plan: Plan, units_: list[Unit],
         places: dict[str, Where], diff: pf.Doc) -> None:
    """Each slot replaced by its changes: number, kind, where, excerpt."""
    def shown(anchor: str, prefix: str) -> pf.Div:
        change = plan.changes[anchor]
        place = places[anchor]
        title = pf.Para(pf.Strong(*words_of(f"Change {change.number}")),
                        pf.Str(" ·"), pf.Space(), *words_of(change.kind),
                        pf.Str(" ·"), pf.Space(), *words_of(place.words()))
        body = deleted(diff, anchor) or excerpt(units_, anchor) or [
            pf.Para(*words_of(change.old or change.new))]
        # Word: the excerpt set as a quotation ("Block Text", pandoc's style)
        return pf.Div(title, pf.Div(*body, classes=["excerpt"],
                                    attributes={"custom-style": "Block Text"}),
                      identifier=(f"{prefix}-" if prefix else "")
                      + f"change-{change.number}",
                      classes=["change-excerpt"])

    def action(elem, _doc):
        if not (isinstance(elem, pf.Div) and SLOT in elem.classes):
            return None
        label = elem.attributes.get("comment", "")
        ids = plan.pointed.get(label, []) if label else plan.other
        if not ids:
            return []
        return pf.Div(*(shown(a, label) for a in ids), classes=["changes"])

    letter_doc.walk(action)
