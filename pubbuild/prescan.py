"""A linear pre-scan that refuses pathological Markdown before pandoc parses it.

Pandoc's Markdown reader backtracks. Square brackets and unclosed `<span>`s
cost it exponential time in their nesting (7 levels of `[` take half a
second, 10 take twelve); unmatched backticks, link targets left open and
raw HTML left open cost it polynomial time in their number; YAML aliases
multiply what it reads; and any deep nesting makes a document tree deeper
than the filters can walk. cmark's pathological inputs
(test/pathological_tests.py) at N = 10,000 kept pandoc busy for minutes.
This scan measures those constructs in one pass over the text and refuses
a manuscript past a limit with one line naming the construct, how deep it
went, the limit and the line where the limit was crossed:
`paper.md:12: square brackets nested 7 deep (the limit is 6; …)`.

It reads pandoc Markdown only as far as nesting goes. A paragraph is the
unit pandoc reads inlines in, so what is left open ends with it; code
spans, fenced and indented code blocks and TeX math are skipped, since
pandoc reads no Markdown inside them; YAML metadata blocks, the front
matter among them, are read too, since pandoc reads each value as
Markdown. Every loop is over lines, regular expression matches or a
paragraph's delimiter runs, each visited a bounded number of times, and
the regular expressions have no nested quantifiers: the scan is linear in
the manuscript's length (2 ms for the article, 0.5 s for it 100 times).

Each limit is a module constant, at least twice the deepest use found in
the article, the test manuscripts (`tests/test_prescan.py` keeps them
under half of every limit) and 700 other Markdown files, 19 MB of package
READMEs, manuals and changelogs, whose deepest were: square brackets 2,
link targets 2, unmatched backticks 2, raw HTML left open 2, block quotes
5, lists 5, raw HTML elements 3, emphasis 2. Each is also low enough that
a manuscript at every limit at once builds in every format in seconds.

This module must not know about pandoc's command line, the filters or the
output formats.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pubbuild.diagnostics import BuildError

# Square brackets (links, images, spans, citations, notes `^[`) and
# `<span>`s, open at once in one paragraph. Pandoc's cost grows about
# 2.5-fold per level: one group 6 deep parses in 0.2 s, 8 deep in 1.6 s, 10
# deep in 12 s. Real text nests 3 at most (`^[see [the [@vu2021] data](u)]`).
BRACKETS = 6
# Link targets `](…` left open, or parentheses nested inside one, in one
# paragraph (cmark's "unclosed links", "pattern [ (]( repeated"): quadratic
# to cubic in pandoc, 0.03 s at 16, 9 s at 200. A URL nests at most 2.
LINK_TARGETS = 16
# Backticks in runs that no run of the same length closes, in one paragraph
# (cmark's "backticks"): each makes pandoc look ahead to the paragraph's
# end; 100 runs took 4.6 s, 200 over 30 s. Prose leaves one or two stray.
BACKTICKS = 16
# Raw HTML left open: `<!--` since the last `-->`, and `<tag`, `<?`, `<!`
# since the last `>` (cmark's "unclosed <!--", "<?", "<!X", "<![CDATA["):
# each makes pandoc look ahead for its end, across paragraphs; quadratic,
# 1,000 took 1.5-4.6 s. Real text leaves none, or a stray `a<b` or two.
HTML_LEFT_OPEN = 16
# Block nesting, and emphasis: pandoc is fast here (1,000 block quotes in
# 0.15 s), but past about 150 levels of document tree in all the filters'
# walks exceed Python's recursion limit. All of these at their limits at
# once make about 90 levels, which build in every format. LaTeX, for
# comparison, stops at 6 nested lists and quotations.
BLOCK_QUOTES = 16  # `>`, also `> > >` on one line
LISTS = 16  # list items by indentation, also `- - a` on one line
DIVS = 16  # fenced divs `:::`
HTML_ELEMENTS = 16  # raw HTML elements that contain others (`<div>`, `<em>`)
EMPHASIS = 16  # `*`/`_` emphasis that closes, nested in one paragraph
# Values that YAML aliases (`*name`) repeat in a metadata block, beyond the
# values written: pandoc expands each repetition and reads its strings as
# Markdown, about 10,000 a second ("billion laughs": 9^5 took 5 s, 9^9
# would take days). A real front matter repeats a few affiliations.
YAML_REPEATS = 10_000

_MESSAGES = {
    "brackets": "square brackets nested {n} deep (the limit is {limit}; a [ left "
                "open counts, \\[ does not)",
    "spans": "<span>s and square brackets nested {n} deep (the limit is {limit})",
    "link targets": "link targets `](` left open or nested {n} deep (the limit is "
                    "{limit})",
    "backticks": "{n} backticks left unmatched in one paragraph (the limit is "
                 "{limit}; write \\` for a literal one)",
    "comments": "{n} raw HTML comments `<!--` left open (the limit is {limit})",
    "tags": "{n} raw HTML tags `<` left without their `>` (the limit is {limit}; "
            "write \\< for a literal one)",
    "block quotes": "block quotes nested {n} deep (the limit is {limit})",
    "lists": "lists nested {n} deep (the limit is {limit})",
    "divs": "fenced divs `:::` nested {n} deep (the limit is {limit})",
    "html": "raw HTML elements nested {n} deep (the limit is {limit})",
    "emphasis": "emphasis nested {n} deep (the limit is {limit})",
    "yaml": "YAML aliases repeat {n:,} values (the limit is {limit:,})",
}


def limits() -> dict[str, int]:
    """Each measured construct and its limit (read at call time)."""
    return {"brackets": BRACKETS, "spans": BRACKETS, "link targets": LINK_TARGETS,
            "backticks": BACKTICKS, "comments": HTML_LEFT_OPEN,
            "tags": HTML_LEFT_OPEN, "block quotes": BLOCK_QUOTES, "lists": LISTS,
            "divs": DIVS, "html": HTML_ELEMENTS, "emphasis": EMPHASIS,
            "yaml": YAML_REPEATS}


def check(text: str, path: Path | str | None) -> None:
    """Raise a BuildError at the first construct past its limit."""
    _Scan(path, limits()).run(text)


def measure(text: str) -> dict[str, int]:
    """The deepest (or largest) each construct goes, with no limit: what a
    manuscript uses, to compare with the limits."""
    scan = _Scan(None, {kind: float("inf") for kind in limits()})
    scan.run(text)
    return {kind: scan.deepest.get(kind, 0) for kind in limits()}


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A list marker: bullets, numbers, letters, roman numerals, `#.`, example
# lists `(@)`, and definition-list markers; it must be followed by white
# space or end the line. Bounded repetitions only.
_MARKER = re.compile(r"(?:[*+\-:~]|\d{1,9}[.)]|\(\d{1,9}\)|#[.)]|[A-Za-z][.)]"
                     r"|\([A-Za-z]\)|[ivxlcdmIVXLCDM]{1,9}[.)]"
                     r"|\([ivxlcdmIVXLCDM]{1,9}\)|\(@[\w-]{0,50}\))(?=[ \t]|$)")
_FENCE = re.compile(r"(`{3,}|~{3,})")
_SPACE = re.compile(r"[ \t]*")
_DIV = re.compile(r":{3,}")
_TICKS = re.compile(r"\\.|`+", re.S)
_DOLLARS = re.compile(r"\\.|\$\$|\$", re.S)
# What the scan counts, each led by one character so the pattern is found
# quickly: an escape with the character it escapes, a run of `*` or `_`
# whole, `](` as one token, a complete tag whole (its name decides whether
# it nests; a `<` that starts no complete tag is matched alone). The
# continuations are guarded by lookbehinds, and `[^<>]*` stops at the next
# `<`, so no character is read by more than one attempt: linear.
_TOKENS = re.compile(r"""
    [\\*_<>\[\]()]
    (?: (?<=\\) .
      | (?<=\*) \**
      | (?<=_) _*
      | (?<=<) (?P<slash>/?) (?P<name>[A-Za-z][A-Za-z0-9-]{0,30}) (?:\s[^<>]*)? /?>
      | (?<=\]) \(
    )?
""", re.X | re.S)
_TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/!?")

# Raw HTML elements that pandoc turns into nested document nodes or that
# contain others. Elements that may not be closed (void ones, and those
# whose end tag HTML lets one leave out: `<p>`, `<li>`, `<td>` …) and names
# that are not HTML (`List<T>`) are not counted.
_INLINE_ELEMENTS = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn",
    "em", "font", "i", "ins", "kbd", "label", "mark", "q", "ruby", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var"))
_BLOCK_ELEMENTS = frozenset((
    "address", "article", "aside", "audio", "blockquote", "canvas", "center",
    "details", "dialog", "div", "dl", "fieldset", "figcaption", "figure",
    "footer", "form", "header", "hgroup", "main", "map", "menu", "nav",
    "noscript", "object", "ol", "picture", "pre", "section", "summary", "table",
    "ul", "video"))


class _Scan:
    """One pass over one manuscript; `deepest` records what it measured."""

    def __init__(self, path, limits: dict):
        self.path = path
        self.limits = limits
        self.deepest: dict[str, int] = {}
        self.divs = 0
        self.html: list[str] = []  # the raw HTML elements open, innermost last
        self.comments = 0  # `<!--` since the last `-->`
        self.tags = 0  # `<` openers since the last `>`
        self.text, self.first = "", 0  # the paragraph being read, its line

    def note(self, kind: str, n: int, line: int | None = None, pos: int = 0
             ) -> None:
        """Record `n` for `kind`; past the limit, refuse. Inside a paragraph
        the line is found from `pos`, only on refusal."""
        if n > self.deepest.get(kind, 0):
            self.deepest[kind] = n
        if n > self.limits[kind]:
            if line is None:
                line = self.first + self.text.count("\n", 0, pos)
            raise BuildError(_MESSAGES[kind].format(n=n, limit=self.limits[kind]),
                             self.path, line)

    # -- blocks ---------------------------------------------------------------

    def run(self, text: str) -> None:
        lines = text.split("\n")
        ends = _metadata_ends(lines)
        fence = None  # (character, length) of the open code fence
        items: list[int] = []  # the open list items' marker columns
        block: list[str] = []  # the current paragraph's lines
        block_line = 0
        previous_blank = True
        skip_to = 0  # the line after a YAML metadata block
        most = max(self.limits["block quotes"], self.limits["lists"])

        def flush() -> None:
            nonlocal block
            if block:
                self.inline("\n".join(block), block_line)
                block = []

        for number, line in enumerate(lines, 1):
            if number < skip_to:
                continue
            if fence is not None:
                stripped = line.strip()
                if (len(stripped) >= fence[1] and stripped[0] == fence[0]
                        and stripped == stripped[0] * len(stripped)):
                    fence = None
                self.code(line)
                continue
            if previous_blank and number in ends:
                # Pandoc reads each of its values as Markdown: scanned as one
                # paragraph, indentation and all.
                flush()
                self.inline("\n".join(lines[number - 1:ends[number]]), number)
                self.metadata("\n".join(lines[number:ends[number] - 1]), number)
                skip_to = ends[number] + 1
                continue
            pos, quotes, markers, indent = _containers(line, most)
            content = line[pos:]
            if not content.strip():
                flush()
                previous_blank = True
                continue
            if quotes:
                self.note("block quotes", quotes, number)
            if markers:
                while items and items[-1] >= markers[0]:
                    items.pop()
                items.extend(markers)
                self.note("lists", len(items), number)
                flush()
            elif previous_blank:
                while items and items[-1] >= indent:
                    items.pop()
            previous_blank = False
            if not items and not block and indent - (1 if quotes else 0) >= 4:
                self.code(line)  # indented code: pandoc reads no Markdown in it
                continue
            head = content.lstrip()
            found = _FENCE.match(head)
            if found and not (found[1][0] == "`" and "`" in head[found.end():]):
                flush()
                fence = (found[1][0], len(found[1]))
                continue
            if _DIV.match(head):
                flush()
                if head.strip(":").strip():
                    self.divs += 1
                    self.note("divs", self.divs, number)
                else:
                    self.divs = max(self.divs - 1, 0)
                continue
            if head[0] in "#|+":  # a heading or a table row: a block of its own
                flush()
                self.inline(content, number)
                continue
            if not block:
                block_line = number
            block.append(content)
        flush()

    def code(self, line: str) -> None:
        """A line of code: pandoc's search for the end of a raw HTML tag or
        comment left open reads through code too, and stops there."""
        if ">" in line:
            self.tags = 0
            if "-->" in line:
                self.comments = 0

    def metadata(self, text: str, first: int) -> None:
        """A YAML metadata block: its aliases (`*name`) may repeat what
        their anchors hold, each repetition parsed by pandoc as Markdown
        (nine aliases to nine aliases … nine deep: a billion values)."""
        if "&" not in text or "*" not in text:
            return
        try:
            root = yaml.compose(text, Loader=_YAML_LOADER)
        except (yaml.YAMLError, RecursionError):
            return  # pandoc reports what is wrong with it
        if not isinstance(root, yaml.MappingNode):
            return
        sizes: dict[int, int] = {}
        unique = repeated = 0
        for key, value in root.value:
            for node in (key, value):
                unique += _count(node, sizes)
                repeated += _expanded(node, sizes)
            self.note("yaml", repeated - unique, first + 1 + value.start_mark.line)

    # -- inlines --------------------------------------------------------------

    def inline(self, text: str, first: int) -> None:
        """One paragraph (or heading, or table row) starting on line
        `first`: its code spans and math are skipped, then its brackets,
        link targets, raw HTML and emphasis are counted."""
        self.text, self.first = text, first
        skip = self.code_spans(text)
        if "$" in text:
            skip = sorted(skip + _math(text, skip))
        brackets = targets = spans = 0  # spans: `<span>`s open in the paragraph
        runs: list[tuple] = []  # emphasis delimiter runs
        start = 0
        for end, resume in [*skip, (len(text), len(text))]:
            for match in _TOKENS.finditer(text, start, max(end, start)):
                token = match.group()
                char, pos = token[0], match.start()
                if char == "[":
                    brackets += 1
                    self.note("spans" if spans else "brackets", brackets + spans,
                              pos=pos)
                elif char == "]":
                    brackets = max(brackets - 1, 0)
                    if token == "](":
                        targets += 1
                        self.note("link targets", targets, pos=pos)
                elif char == "(":
                    if targets:
                        targets += 1
                        self.note("link targets", targets, pos=pos)
                elif char == ")":
                    targets = max(targets - 1, 0)
                elif char in "*_":
                    runs.append(_delimiter_run(text, match))
                elif char == ">":
                    self.tags = 0
                    if text[pos - 2:pos] == "--":
                        self.comments = 0
                elif char != "<":
                    continue  # an escape
                elif match["name"]:
                    self.tags = 0
                    if self.element(match) == "span":
                        spans = self.html.count("span")
                        self.note("spans", brackets + spans, pos=pos)
                    elif match["slash"]:
                        spans = self.html.count("span")
                elif text.startswith("!--", pos + 1):
                    self.comments += 1
                    self.note("comments", self.comments, pos=pos)
                elif text[pos + 1:pos + 2] in _TAG_START:
                    self.tags += 1
                    self.note("tags", self.tags, pos=pos)
            start = max(start, resume)
        self.emphasis(runs)
        # Inline elements end with their paragraph, as pandoc reads them.
        self.html = [name for name in self.html if name not in _INLINE_ELEMENTS]

    def code_spans(self, text: str) -> list[tuple[int, int]]:
        """The code spans (start, end), found as CommonMark does: a run of
        backticks is closed by the next run of the same length. Counts
        the backticks that nothing closes."""
        if "`" not in text:
            return []
        runs = [m.span() for m in _TICKS.finditer(text) if text[m.start()] == "`"]
        following: list[int | None] = [None] * len(runs)
        seen: dict[int, int] = {}
        for index in range(len(runs) - 1, -1, -1):
            length = runs[index][1] - runs[index][0]
            following[index] = seen.get(length)
            seen[length] = index
        spans, unmatched, index = [], 0, 0
        while index < len(runs):
            closer = following[index]
            if closer is None:
                unmatched += runs[index][1] - runs[index][0]
                self.note("backticks", unmatched, pos=runs[index][0])
                index += 1
            else:
                spans.append((runs[index][0], runs[closer][1]))
                index = closer + 1
        return spans

    def element(self, match) -> str | None:
        """A complete raw HTML tag: an end tag closes its element and those
        left open inside it; a start tag opens one. Returns the name of
        the element opened, if any."""
        name = match["name"].lower()
        if name not in _INLINE_ELEMENTS and name not in _BLOCK_ELEMENTS:
            return None
        if match["slash"]:
            if name in self.html:
                index = len(self.html) - 1 - self.html[::-1].index(name)
                del self.html[index:]
            return None
        if match.group().endswith("/>"):
            return None
        self.html.append(name)
        self.note("html", len(self.html), pos=match.start())
        return name

    def emphasis(self, runs: list[tuple]) -> None:
        """How deep the emphasis that closes nests: each closer is paired
        with the nearest opener of its character, then the pairs are
        swept in order. Openers nothing closes do not count (pandoc keeps
        them as text, quickly)."""
        if not runs:
            return
        change = [0] * len(runs)
        stacks: dict[str, list[int]] = {"*": [], "_": []}
        for index, (_, char, _, opens, closes) in enumerate(runs):
            stack = stacks[char]
            if closes and stack:
                opener = stack.pop()
                change[opener] += runs[opener][2]
                change[index] -= runs[opener][2]
            elif opens:
                stack.append(index)
        depth = 0
        for index, delta in enumerate(change):
            depth += delta
            if delta > 0:
                self.note("emphasis", depth, pos=runs[index][0])


def _metadata_ends(lines: list[str]) -> dict[int, int]:
    """YAML metadata blocks, as {first line: last line} (1-based): a `---`
    line at the start or after a blank line, not followed by a blank one,
    up to the next `---` or `...` line. Found in one pass from the end."""
    ends: dict[int, int] = {}
    closing = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].rstrip()
        if (line == "---" and closing is not None and index + 1 < len(lines)
                and lines[index + 1].strip()):
            ends[index + 1] = closing + 1
        if line in ("---", "..."):
            closing = index
    return ends


def _count(root, sizes: dict[int, int]) -> int:
    """The nodes under `root` not counted before (an alias counts once)."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if id(node) in sizes:
            continue
        sizes[id(node)] = -1  # seen; its expanded size follows in _expanded
        count += 1
        stack.extend(_children(node))
    return count


def _expanded(root, sizes: dict[int, int]) -> int:
    """How many nodes `root` stands for once every alias is repeated in
    full. Each node is sized once (memoised), children first, without
    recursion: linear in the composed document, however much it repeats.
    An alias inside its own anchor counts nothing (pandoc refuses it)."""
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            sizes[id(node)] = 1 + sum(max(sizes.get(id(child), 0), 0)
                                      for child in _children(node))
        elif sizes.get(id(node), -1) == -1:
            sizes[id(node)] = -2  # being sized
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node)
                         if sizes.get(id(child), -1) == -1)
    return max(sizes[id(root)], 0)


def _children(node) -> list:
    """What a YAML node holds: a sequence's items, a mapping's keys and
    values."""
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _containers(line: str, most: float) -> tuple[int, int, list[int], int]:
    """A line's container markers: (where its content starts, how many `>`,
    the columns of its list markers, the content's indentation). Stops
    once either kind passes `most`: the line is refused then anyway."""
    pos = column = quotes = 0
    markers: list[int] = []
    while quotes <= most and len(markers) <= most:
        before = column
        space = _SPACE.match(line, pos).group()
        if "\t" in space:
            for char in space:
                column = column + 4 - column % 4 if char == "\t" else column + 1
        else:
            column += len(space)
        pos += len(space)
        if line.startswith(">", pos):
            quotes += 1
            pos += 1
            column += 1
            continue
        marker = _MARKER.match(line, pos)
        if marker is None:
            return pos, quotes, markers, column - before
        markers.append(column)
        column += marker.end() - pos
        pos = marker.end()
    return pos, quotes, markers, 0


def _math(text: str, code: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """TeX math, `$…$` and `$$…$$`, as pandoc's tex_math_dollars reads it:
    an opening `$` has no space after it, a closing one no space before it
    and no digit after it. Dollars inside code spans are not math."""
    tokens, index = [], 0
    for match in _DOLLARS.finditer(text):
        if match.group()[0] == "\\":
            continue
        while index < len(code) and code[index][1] <= match.start():
            index += 1
        if index < len(code) and code[index][0] <= match.start():
            continue
        tokens.append(match.span())
    # The next token that can close: `$$` for `$$`, a closing `$` for `$`.
    closer: list[int | None] = [None] * len(tokens)
    next_double = next_single = None
    for k in range(len(tokens) - 1, -1, -1):
        start, end = tokens[k]
        double = end - start == 2
        closer[k] = next_double if double else next_single
        if double:
            next_double = k
        elif (start > 0 and not text[start - 1].isspace()
              and not text[end:end + 1].isdigit()):
            next_single = k
    spans, k = [], 0
    while k < len(tokens):
        start, end = tokens[k]
        double = end - start == 2
        if closer[k] is not None and (double or (
                end < len(text) and not text[end].isspace())):
            spans.append((start, tokens[closer[k]][1]))
            k = closer[k] + 1
        else:
            k += 1
    return spans


def _delimiter_run(text: str, match) -> tuple:
    """(position, character, levels, can open, can close) for a run of `*`
    or `_`, by CommonMark's flanking rules (pandoc's too)."""
    start, end = match.span()
    char = text[start]
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    before_space, after_space = before.isspace(), after.isspace()
    before_punct = not before_space and not before.isalnum()
    after_punct = not after_space and not after.isalnum()
    left = not after_space and (not after_punct or before_space or before_punct)
    right = not before_space and (not before_punct or after_space or after_punct)
    if char == "_":
        opens = left and (not right or before_punct)
        closes = right and (not left or after_punct)
    else:
        opens, closes = left, right
    return start, char, (end - start + 1) // 2, opens, closes
