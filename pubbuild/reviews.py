"""The author's `reviews.md`: reviewers, their comments, the replies, and
what each reply points at in the revised manuscript.

    ---
    manuscript-number: JKS-2026-0142
    old: v1          # the revision the reviewers read (or --against)
    new: v2          # the revised one; without it, the working tree
    ---

    Dear Editor, ... (before the first heading: the letter's opening)

    # Reviewer 1

    > The sample is small.            <- a comment: a block quote ...

    We added two interviews [@vu2021].  <- ... and the reply below it

    > changed: "No interviews were conducted"   <- points at the new text

    1. A comment as a numbered item.  <- ... or a numbered item

    The reply, which may say [change 7] or [changes 7, 9].

Each heading of the top level a file uses is a reviewer ("Editor" makes
E1, E2 ...; others R1.1, R1.2 ... R2.1). A block quote whose text starts
with `changed:` is a pointer, not a comment. Headings deeper than the
reviewers' are part of a reply, and so is a numbered list when the
reviewer's first comment was a block quote. docs/respond.md has the whole
syntax.

Pandoc reads the file (`pubbuild.pipeline.read`, with the article's
bibliography), so replies may cite and use any Markdown; this module only
divides the blocks. Pandoc keeps no source positions: a block's line is
found by its first words in the source (`Reporter.locate`), in order.

This module must not know about git, the diff or the output formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import panflute as pf

from pubbuild.diagnostics import BuildError

POINTER = re.compile(r"^\s*changed:\s*", re.I)
QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„]+)[\"“”«»„]")
NUMBERS = r"\d+(?:\s*(?:,|and|&)\s*\d+)*"    # 7 / 7, 9 / 7 and 9
CHANGE_IDS = re.compile(rf"\[changes?\s+({NUMBERS})\]", re.I)


@dataclass
class Pointer:
    kind: str          # "quote" (new text quoted) or "change" (an id)
    value: str | int
    line: int | None


@dataclass
class Comment:
    label: str                   # R1.2
    blocks: list                 # the comment, as the reviewer wrote it
    line: int | None
    reply: list = field(default_factory=list)
    reply_line: int | None = None
    pointers: list[Pointer] = field(default_factory=list)
    numbered: bool = False       # a numbered item, not a block quote


@dataclass
class Reviewer:
    name: list                   # the heading's inlines
    prefix: str                  # R1, R2, E
    identifier: str = ""         # the heading's id
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Reviews:
    opening: list                # blocks before the first heading
    reviewers: list[Reviewer]

    @property
    def comments(self) -> list[Comment]:
        return [c for r in self.reviewers for c in r.comments]


def parse(doc: pf.Doc, reporter) -> Reviews:
    """The reviews in a document pandoc has read; a malformed one is a
    BuildError naming the line."""
    path = reporter.file
    headings = [b.level for b in doc.content if isinstance(b, pf.Header)]
    if not headings:
        raise BuildError("no reviewer headings (`# Reviewer 1`): nothing to "
                         "respond to", path, 1)
    level = min(headings)
    opening: list = []
    reviewers: list[Reviewer] = []
    numbered = 0
    current: Comment | None = None
    for block in doc.content:
        if isinstance(block, pf.Header) and block.level == level:
            name = pf.stringify(block).strip()
            reporter.locate(*_snippets(block))
            if name.casefold().startswith("editor"):
                prefix = "E"
            else:
                numbered += 1
                prefix = f"R{numbered}"
            reviewers.append(Reviewer(list(block.content), prefix,
                                      block.identifier))
            current = None
            continue
        if not reviewers:
            opening.append(block)
            continue
        reviewer = reviewers[-1]
        if _is_comment(block, reviewer):
            items = (block.content if isinstance(block, pf.OrderedList)
                     else [block])
            for item in items:
                blocks = (list(item.content) if isinstance(item, pf.ListItem)
                          else list(item.content))
                current = Comment(_label(reviewer), blocks,
                                  reporter.locate(*_snippets(item)),
                                  numbered=isinstance(item, pf.ListItem))
                reviewer.comments.append(current)
            continue
        line = reporter.locate(*_snippets(block))
        if current is None:
            name = pf.stringify(pf.Plain(*reviewer.name)).strip()
            raise BuildError(f"a reply before any comment of “{name}” (a comment "
                             "is a block quote or a numbered item)", path, line)
        if current.reply_line is None:
            current.reply_line = line
        pointers = _pointers(block, line, path)
        current.pointers += pointers
        if not (isinstance(block, pf.BlockQuote) and pointers
                and all(p.kind == "quote" for p in pointers)):
            current.reply.append(block)
    if not any(r.comments for r in reviewers):
        raise BuildError("no comments: a comment is a block quote or a numbered "
                         "item under a reviewer's heading", path, 1)
    return Reviews(opening, reviewers)


def _label(reviewer: Reviewer) -> str:
    number = len(reviewer.comments) + 1
    return (f"{reviewer.prefix}{number}" if reviewer.prefix == "E"
            else f"{reviewer.prefix}.{number}")


def _is_comment(block, reviewer: Reviewer) -> bool:
    """A block quote (not a pointer) or a numbered list; a numbered list is
    part of a reply when the reviewer's first comment was a block quote."""
    if isinstance(block, pf.OrderedList):
        return not (reviewer.comments
                    and not reviewer.comments[0].numbered)
    return isinstance(block, pf.BlockQuote) and not POINTER.match(
        pf.stringify(block))


def _pointers(block, line: int | None, path) -> list[Pointer]:
    """`> changed: "…"` quotations and `[change 7]` ids in a reply block."""
    text = pf.stringify(block)
    out: list[Pointer] = []
    if isinstance(block, pf.BlockQuote) and POINTER.match(text):
        for part in re.split(r"(?im)^\s*changed:\s*", text):
            quoted = QUOTED.findall(part)
            if part.strip() and not quoted:
                raise BuildError("`changed:` wants the new text in quotation "
                                 'marks: > changed: "the new words"', path, line)
            out += [Pointer("quote", q.strip(), line) for q in quoted]
        return out
    for match in CHANGE_IDS.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            out.append(Pointer("change", int(number), line))
    return out


def _snippets(elem) -> list[str]:
    """What to look for in the source: the first three words, then the first."""
    words = [w for w in pf.stringify(elem).split() if w]
    words = [re.sub(r"^\W+|\W+$", "", w) for w in words]
    words = [w for w in words if w]
    return [" ".join(words[:3]), *words[:1]] if words else []

