"""Where a passage is in a laid-out document: its page and line.

A response to reviewers says where each change is in the revised
manuscript's PDF (pages as the PDF numbers them) and in its Word file
(page and line as Word's line numbering counts them, which
`pubbuild.docxlines` models). Both are lists of `Line`s; a passage is
found in them by its letters only (`letters`): no spaces, punctuation,
digits or hyphens, so a line broken with a hyphen, a footnote's call, a
citation's year or quotation marks set differently by two writers do not
hide it. Passages are looked for in document order (`Finder`), so the
fourth "Introduction" is not taken for the first.

This module must not know about pandoc or the manuscript; of WeasyPrint it
knows only the boxes of a laid-out document.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    page: int     # 1-based
    number: int   # the line's number on its page (0: a line not numbered)
    text: str


def letters(text: str) -> str:
    """What a passage is found by: its letters, case-folded."""
    return "".join(ch for ch in text.casefold() if ch.isalpha())


class Finder:
    """Passages of a document, found in order, as the `Line` they start on."""

    def __init__(self, lines: list[Line]):
        self.lines = lines
        self.starts: list[int] = []
        parts = []
        offset = 0
        for line in lines:
            self.starts.append(offset)
            part = letters(line.text)
            parts.append(part)
            offset += len(part)
        self.text = "".join(parts)
        self.cursor = 0

    def find(self, passage: str) -> int | None:
        """Where `passage` starts (in letters: `at` gives its line), looked
        for from the last one found on, then from the start; None if it is
        not there or has no letters."""
        key = letters(passage)
        if not key:
            return None
        at = self.text.find(key, self.cursor)
        if at < 0:
            at = self.text.find(key)
        if at < 0:
            return None
        self.cursor = at
        return at

    def at(self, offset: int) -> Line:
        return self.lines[bisect.bisect_right(self.starts, offset) - 1]


def pdf_lines(document) -> list[Line]:
    """The lines of a WeasyPrint document's page flow (not its running
    heads, page numbers or footnote area), numbered on each page."""
    from weasyprint.formatting_structure import boxes

    out = []
    for page_number, page in enumerate(document.pages, 1):
        count = 0
        for box in page._page_box.children[0].descendants():
            if not isinstance(box, boxes.LineBox):
                continue
            text = "".join(child.text for child in box.descendants()
                           if isinstance(child, boxes.TextBox)
                           and "::" not in (child.element_tag or ""))
            if text.strip():
                count += 1
                out.append(Line(page_number, count, text))
    return out
