"""Accessibility repairs to the HTML writer's output (pandoc's).

What pandoc's writer leaves out for assistive technology is added here,
after it: `finish` takes the writer's bytes and returns them repaired.

- Table header cells get a `scope`: `col` for a header row (in `<thead>`,
  or a row of nothing but `<th>`), `row` for a `<th>` that heads a row of
  data cells. Pandoc writes bare `<th>`, and a screen reader then has to
  guess which cells a header labels.
- A formula's accent (`\\hat`, `\\tilde`, `\\bar`, `\\vec`...), which texmath
  writes as a combining mark alone in an `<mo>`, becomes the spacing form
  of the same mark: a combining mark has nothing there to combine with (the
  Nu checker warns of a text run that starts with one). Chromium draws
  the two alike over the base.

The table markup is read with the standard library's HTML parser, so
comments, scripts and `<th>` in raw HTML are where the parser says they
are, and the only change is ` scope="..."` inserted into start tags that
lack one. Every byte not repaired is kept, so the output is as
reproducible as pandoc's.

This module must not know about the manuscript's own content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Combining accents and the spacing characters that stand for them alone.
SPACING_ACCENTS = {
    "\u0300": "`", "\u0301": "\u00b4", "\u0302": "\u02c6", "\u0303": "\u02dc",
    "\u0304": "\u00af", "\u0305": "\u203e", "\u0306": "\u02d8", "\u0307": "\u02d9",
    "\u0308": "\u00a8", "\u030a": "\u02da", "\u030b": "\u02dd", "\u030c": "\u02c7",
    "\u20d6": "\u2190", "\u20d7": "\u2192", "\u20e1": "\u2194",
}
_HEADER_CELL = re.compile(r"<th\b", re.IGNORECASE)
_LONE_ACCENT = re.compile(rf"(<mo\b[^<>]*>)([{''.join(SPACING_ACCENTS)}])(</mo>)")


def finish(data: bytes) -> bytes:
    text = data.decode("utf-8")
    repaired = _spacing_accents(_header_scopes(text))
    return data if repaired == text else repaired.encode("utf-8")


def _header_scopes(text: str) -> str:
    if not _HEADER_CELL.search(text):  # not worth parsing a page of images
        return text
    parts, last = [], 0
    for offset, scope in _HeaderScopes.find(text):
        parts += [text[last:offset], f' scope="{scope}"']
        last = offset
    parts.append(text[last:])
    return "".join(parts)


def _spacing_accents(text: str) -> str:
    return _LONE_ACCENT.sub(
        lambda m: m[1] + SPACING_ACCENTS[m[2]] + m[3], text)


@dataclass
class _Table:
    section: str = ""  # thead, tbody or tfoot: the row group we are in
    headers: list[int] = field(default_factory=list)  # the row's bare <th>s
    data_cells: bool = False  # the row has a <td>


class _HeaderScopes(HTMLParser):
    """Where a ` scope=...` goes: (offset just after `<th`, scope), in order."""

    @classmethod
    def find(cls, text: str) -> list[tuple[int, str]]:
        parser = cls(text)
        parser.feed(text)
        parser.close()
        while parser.tables:  # a table left open at the end of the file
            parser._end_row()
            parser.tables.pop()
        return sorted(parser.inserts)

    def __init__(self, text: str):
        # Character references as written: offsets must be the source's.
        super().__init__(convert_charrefs=False)
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.tables: list[_Table] = []  # nested tables: innermost last
        self.inserts: list[tuple[int, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(_Table())
        elif not self.tables:
            return
        elif tag in ("thead", "tbody", "tfoot"):
            self._end_row()
            self.tables[-1].section = tag
        elif tag == "tr":
            self._end_row()
        elif tag == "td":
            self.tables[-1].data_cells = True
        elif tag == "th" and not any(name == "scope" for name, _ in attrs):
            line, column = self.getpos()
            self.tables[-1].headers.append(
                self.line_starts[line - 1] + column + len("<th"))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if not self.tables:
            return
        if tag in ("tr", "thead", "tbody", "tfoot"):
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.tables.pop()

    def _end_row(self) -> None:
        """The row's headers get their scope once the whole row is seen: at
        its end tag, or where HTML lets a writer leave that out (the next
        row, the end of its row group or of the table)."""
        table = self.tables[-1]
        heads_columns = table.section == "thead" or not table.data_cells
        scope = "col" if heads_columns else "row"
        self.inserts += [(offset, scope) for offset in table.headers]
        table.headers, table.data_cells = [], False
