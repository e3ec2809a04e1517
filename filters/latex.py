"""Make the LaTeX authors write in Markdown print, and account for raw content.

Pandoc's `raw_tex` extension keeps a LaTeX command typed in Markdown as raw
TeX, which only a LaTeX writer prints: in HTML, EPUB and the PDF it would
vanish ("On the left side of \\autoref{fig:x} we see" printing "On the left
side of  we see"). This filter turns the commands that have a pandoc
equivalent into it:

- `\\textbf{x}` Strong, `\\emph{x}`/`\\textit{x}` Emph, `\\texttt{x}` Code,
  `\\underline{x}` Underline, `\\url{u}` and `\\href{u}{text}` Links,
  `\\footnote{x}` a Note, `\\section{x}` (and sub-levels) a Header,
  `equation`, `align`, `gather`, `multline` (starred too) display math,
  `quote`/`quotation` environments a BlockQuote, `center`, `flushleft`,
  `flushright` a Div of that class (any other environment is dropped, with
  a warning), and a tie (`Figure~\\ref`) a no-break space;
- `\\cite`, `\\citep`, `\\parencite`, `\\autocite` (and `\\citet`,
  `\\textcite`: author in text; `\\citeyear`: year only) Cites, with natbib's
  `[prenote][postnote]`, for the citation checks and citeproc;
- `\\label{x}` an empty Span with the identifier x (an anchor), and a
  `\\label` inside math (`$$a^n \\label{eq:x}$$`) taken out of the formula
  onto a Span around it;
- `\\ref{x}`, `\\autoref`, `\\eqref`, `\\pageref`, `\\cref`: a Span of class
  `xref-unresolved` holding the label x, that keeps the command and the
  label (`reference-type`, `reference`) for the crossref filter to resolve;
- `\\LaTeX`, `\\ldots` and a few other symbols their text;
- layout commands (`\\newpage`, `\\noindent`, `\\vspace{…}` …) dropped,
  with a warning;
- any other command kept as its text without the backslash, with a
  warning that names it.

What happens to raw content of every other format is explicit, too:
`html` stays (filters/rawhtml.py cleans it; `html4`/`html5`, printed by the
same writers, are made `html` so that it cleans them too), `openxml` reaches
the DOCX and `jats` the JATS (the other writers drop them, as pandoc does),
`comment` is dropped silently, and any other format (`typst`, `latex`,
`context`, `ms` …), which no output of this build prints, is dropped with a
warning per element. An explicit ```` ```{=latex} ```` block or
`` `…`{=latex} `` is LaTeX-only by the author's choice: it is dropped, not
converted.

Every warning names file:line. This filter must not know about any output
format's writer beyond which raw formats it prints (`KEPT`).

Metadata options: none.

Formats: all; runs before rawhtml (the Links and raw HTML it makes go
through rawhtml's checks) and before citations (its Cites go through the
citation checks and citeproc).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/latex.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context, pandoc

NAME = "latex"

# Run alone, panflute loads pandoc's JSON itself: let it accept the raw
# formats it does not know (```{=typst}```) instead of raising.
pandoc.accept_any_raw_format()

# The raw formats an output of this build prints, and which output; the
# writers drop the raw content of any other format. (Checked against the
# writers by tests/test_raw_and_latex.py.)
KEPT = {"html": "HTML, EPUB, PDF", "openxml": "DOCX", "jats": "JATS"}
AS_HTML = {"html4", "html5"}  # the HTML writers print these as raw HTML too
SILENT = {"comment"}          # never published, and nothing to report
CONVERTED = "tex"             # what pandoc's raw_tex makes of typed LaTeX

STYLES = {"textbf": pf.Strong, "emph": pf.Emph, "textit": pf.Emph,
          "underline": pf.Underline, "textsc": pf.SmallCaps,
          "textsuperscript": pf.Superscript, "textsubscript": pf.Subscript}
CITES = {"cite": "NormalCitation", "citep": "NormalCitation",
         "parencite": "NormalCitation", "autocite": "NormalCitation",
         "citet": "AuthorInText", "textcite": "AuthorInText",
         "citeyear": "SuppressAuthor", "citeyearpar": "SuppressAuthor"}
XREFS = {"ref", "autoref", "eqref", "pageref", "cref", "Cref", "nameref"}
SECTIONS = {"section": 1, "subsection": 2, "subsubsection": 3}
SYMBOLS = {"LaTeX": "LaTeX", "TeX": "TeX", "ldots": "\u2026", "dots": "\u2026",
           "textendash": "\u2013", "textemdash": "\u2014", "S": "\u00a7",
           "textbackslash": "\\", "%": "%", "&": "&", "_": "_", "#": "#",
           "$": "$", "{": "{", "}": "}", " ": " ", ",": "\u202f", "\\": " "}
LAYOUT = {"newpage", "clearpage", "pagebreak", "newline", "linebreak", "noindent",
          "indent", "centering", "raggedright", "raggedleft", "par", "maketitle",
          "tableofcontents", "smallskip", "medskip", "bigskip", "hfill", "vfill",
          "vspace", "hspace", "bigbreak", "FloatBarrier", "small", "footnotesize",
          "normalsize", "large", "Large"}
# Environments of prose: their words are kept, a quotation as a BlockQuote,
# the others as a Div of the environment's class (for a stylesheet).
PROSE = {"quote": pf.BlockQuote, "quotation": pf.BlockQuote, "center": None,
         "flushleft": None, "flushright": None}
ENVIRONMENT = re.compile(
    r"\A\s*\\begin\{(?P<name>\w+\*?)\}(?P<body>.*)\\end\{(?P=name)\}\s*\Z", re.S)
MEASURES = {"vspace", "hspace"}  # their argument is a length, not words
# Mandatory arguments of the commands converted here (an unknown command
# takes every group that follows it at once).
ARITY = {**dict.fromkeys([*STYLES, "texttt", "url", "footnote", "label", *CITES,
                          *XREFS, *SECTIONS, *MEASURES], 1), "href": 2}
COMMAND = re.compile(r"\\([A-Za-z@]+\*?|.?)", re.S)
# Display-math environments typed in Markdown -> the environment kept inside
# the formula (None: the body alone).
MATH_ENVIRONMENTS = {"equation": None, "equation*": None, "displaymath": None,
                     "align": "aligned", "align*": "aligned",
                     "gather": "gathered", "gather*": "gathered",
                     "multline": "gathered", "multline*": "gathered"}
LABEL_IN_MATH = re.compile(r"\\label\s*\{([^{}]*)\}")


@dataclass
class Command:
    name: str            # without the backslash; a symbol's character
    source: str          # as written, arguments included
    star: bool = False   # \section*{…}: unnumbered
    args: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)


def prepare(doc: pf.Doc) -> None:
    reporter = context.of(doc).reporter
    if reporter.source is not None:
        reporter.source.rewind()  # a new walk, from the top


def action(elem, doc):
    if isinstance(elem, pf.Math) and LABEL_IN_MATH.search(elem.text):
        return _math_label(elem)
    if not isinstance(elem, pf.RawInline | pf.RawBlock):
        return None
    block = isinstance(elem, pf.RawBlock)
    if elem.format in AS_HTML:
        elem.format = "html"
    if elem.format in KEPT:
        return None
    if elem.format in SILENT:
        return []
    reporter = doc.context.reporter
    if elem.format == CONVERTED:
        return _convert(elem, block, doc)
    kind = "block" if block else "inline"
    reporter.warning(f"raw {elem.format} {kind} dropped (no output format of this "
                     "build uses it)",
                     reporter.locate("{=" + elem.format + "}", elem.text[:60]),
                     source=NAME)
    return []


def finalize(doc: pf.Doc) -> None:
    pass  # nothing is left for later filters: every report is made in place


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


# -- typed LaTeX ---------------------------------------------------------------

def _convert(elem, block: bool, doc):
    reporter = doc.context.reporter
    line = reporter.locate(elem.text.strip()[:60])
    converter = _Converter(doc, line)
    environment = ENVIRONMENT.match(elem.text)
    if environment and environment["name"] in MATH_ENVIRONMENTS:
        return _display_math(environment, block)
    if not block:
        _tie(elem)
        return converter.inlines(elem.text)
    if environment and environment["name"] in PROSE:
        paragraphs = [pf.Para(*converter.inlines(part.strip())) for part in
                      re.split(r"\n\s*\n", environment["body"]) if part.strip()]
        make = PROSE[environment["name"]]
        return make(*paragraphs) if make else pf.Div(
            *paragraphs, classes=[environment["name"]])
    if re.search(r"\\begin\s*\{", elem.text):
        first = elem.text.strip().splitlines()[0][:40]
        reporter.warning(f"raw {elem.format} block dropped (no output format of "
                         f"this build uses it): {first}", line, source=NAME)
        return []
    commands = parse(elem.text)
    if commands and isinstance(commands[0], Command) \
            and commands[0].name in SECTIONS and commands[0].args:
        # `\section{Model}\label{sec:model}`: the label is the heading's.
        heading = commands[0]
        content = converter.inlines(heading.args[0])
        anchors, words = [], []
        for inline in converter.convert(commands[1:]):
            is_anchor = isinstance(inline, pf.Span) and inline.identifier
            (anchors if is_anchor else words).append(inline)
        identifier = anchors.pop(0).identifier if anchors else ""
        header = pf.Header(*content, *anchors, level=SECTIONS[heading.name],
                           identifier=identifier,
                           classes=["unnumbered"] if heading.star else [])
        return [header, pf.Para(*words)] if pf.stringify(pf.Para(*words)).strip() \
            else header
    inlines = converter.convert(commands)
    return pf.Para(*inlines) if inlines else []


class _Converter:
    """Typed LaTeX to pandoc inlines; its warnings carry the element's line."""

    def __init__(self, doc, line: int | None):
        self.reporter = doc.context.reporter
        self.line = line

    def warn(self, message: str) -> None:
        self.reporter.warning(message, self.line, source=NAME)

    def inlines(self, text: str) -> list[pf.Inline]:
        return self.convert(parse(text))

    def convert(self, pieces: list) -> list[pf.Inline]:
        out: list[pf.Inline] = []
        for piece in pieces:
            out.extend(_words(piece) if isinstance(piece, str)
                       else self.command(piece))
        return _tidy(out)

    def command(self, cmd: Command) -> list[pf.Inline]:
        name, args = cmd.name, cmd.args
        if name in SYMBOLS and not args:
            return [pf.Str(SYMBOLS[name])]
        if name in LAYOUT:
            self.warn(f"LaTeX layout command {cmd.source.strip()} dropped (it has "
                      "no effect outside LaTeX)")
            # `\\large{Title}` keeps its words; `\\vspace{1em}` has none.
            return [] if name in MEASURES else self.convert(
                [piece for arg in args for piece in parse(arg)])
        if len(args) != ARITY.get(name, -1):
            return self.unknown(cmd)
        if name in STYLES:
            return [STYLES[name](*self.inlines(args[0]))]
        if name == "texttt":
            return [pf.Code(_plain(args[0]))]
        if name == "url":
            url = _plain(args[0])
            return [pf.Link(pf.Str(url), url=url, classes=["url"])]
        if name == "href":
            return [pf.Link(*self.inlines(args[1]), url=_plain(args[0]))]
        if name in CITES:
            return [_cite(cmd, CITES[name])]
        if name == "footnote":
            paragraphs = [part.strip() for part in re.split(r"\n\s*\n", args[0])
                          if part.strip()]
            return [pf.Note(*(pf.Para(*self.inlines(part)) for part in paragraphs))]
        if name == "label":
            return [pf.Span(identifier=args[0].strip())]
        if name in XREFS:
            label = args[0].strip()
            return [pf.Span(*_words(label), classes=["xref-unresolved"],
                            attributes={"reference-type": name, "reference": label})]
        return self.unknown(cmd)

    def unknown(self, cmd: Command) -> list[pf.Inline]:
        kept = _without_backslashes(cmd.source.strip()) if cmd.name[:1].isalpha() \
            else cmd.source[1:]
        self.warn(f"LaTeX command {cmd.source.strip()} is not supported here; "
                  f"kept as its text {kept!r}")
        return _words(kept)


def _tie(elem: pf.RawInline) -> None:
    """LaTeX's tie before a command (`Figure~\\ref{…}`, `see~\\cite{…}`),
    left by the Markdown reader as a literal `~`: a no-break space."""
    before = elem.prev
    if isinstance(before, pf.Str) and before.text.endswith("~"):
        before.text = before.text[:-1] + "\u00a0"


def _cite(cmd: Command, mode: str) -> pf.Cite:
    """natbib's `\\citep[prenote][postnote]{keys}`; one optional argument
    is the postnote."""
    keys = [key.strip() for key in cmd.args[0].split(",") if key.strip()]
    prenote, postnote = ("", "")
    if len(cmd.optional) == 1:
        postnote = cmd.optional[0]
    elif cmd.optional:
        prenote, postnote = cmd.optional[:2]
    citations = []
    for index, key in enumerate(keys):
        prefix = _words(_plain(prenote)) if index == 0 else []
        suffix = _words(_plain(postnote)) if index == len(keys) - 1 else []
        if suffix and mode != "AuthorInText":  # "(Vu, 2021, p. 4)"
            suffix = [pf.Str(","), pf.Space(), *suffix]
        citations.append(pf.Citation(key, mode=mode, prefix=prefix, suffix=suffix))
    # Shown only by a writer that runs without citeproc: what was written.
    return pf.Cite(*_words(cmd.source.strip()), citations=citations)


def _display_math(environment: re.Match, block: bool):
    """`\\begin{equation}…\\end{equation}` (and `align`, `gather`…): the
    display formula it is, its `\\label` an anchor around it (numbered by
    the crossref filter). Alignment environments keep their rows as
    `aligned`/`gathered`, which every math renderer here knows."""
    inner = MATH_ENVIRONMENTS[environment["name"]]
    body = environment["body"].strip()
    text = f"\\begin{{{inner}}}{body}\\end{{{inner}}}" if inner else body
    math = pf.Math(text, format="DisplayMath")
    inlines = _math_label(math) if LABEL_IN_MATH.search(text) else [math]
    return pf.Para(*inlines) if block else inlines


def _math_label(math: pf.Math):
    """The formula without its `\\label`s; the label an anchor around it."""
    labels = [label.strip() for label in LABEL_IN_MATH.findall(math.text)]
    math.text = LABEL_IN_MATH.sub("", math.text).strip()
    anchors = [pf.Span(identifier=label) for label in labels[1:]]
    return [pf.Span(math, identifier=labels[0]), *anchors]


# -- reading LaTeX -------------------------------------------------------------

def parse(text: str) -> list:
    """Text and `Command`s, in order; a bare `{group}` is its content."""
    pieces: list = []
    at = 0
    plain: list[str] = []
    while at < len(text):
        char = text[at]
        if char == "\\":
            if plain:
                pieces.append("".join(plain))
                plain = []
            cmd, at = _command(text, at)
            pieces.append(cmd)
        elif char == "{":
            end = _group_end(text, at, "{", "}")
            pieces.extend(parse(text[at + 1:end]))
            at = end + 1
        elif char == "}":
            at += 1  # unbalanced: nothing to keep
        elif char == "~":
            plain.append("\u00a0")
            at += 1
        else:
            plain.append(char)
            at += 1
    if plain:
        pieces.append("".join(plain))
    return pieces


def _command(text: str, start: int) -> tuple[Command, int]:
    match = COMMAND.match(text, start)
    name = match[1].rstrip("*")
    at = match.end()
    cmd = Command(name, "", star=match[1].endswith("*"))
    if not name[:1].isalpha():  # \% \& \\ …: a character
        cmd.source = text[start:at]
        return cmd, at
    wanted = ARITY.get(name)
    while True:
        look = at
        if wanted is not None:  # a known command's arguments may follow a space
            while look < len(text) and text[look] in " \t":
                look += 1
        if look < len(text) and text[look] == "[" and not cmd.args:
            end = _group_end(text, look, "[", "]")
            cmd.optional.append(text[look + 1:end])
        elif look < len(text) and text[look] == "{" and (
                wanted is None or len(cmd.args) < wanted):
            end = _group_end(text, look, "{", "}")
            cmd.args.append(text[look + 1:end])
        else:
            break
        at = end + 1
    if name in SYMBOLS and cmd.args == [""]:
        cmd.args = []  # \LaTeX{}
    cmd.source = text[start:at]
    return cmd, at


def _group_end(text: str, start: int, opening: str, closing: str) -> int:
    """The index of the bracket closing the one at `start` (or the end)."""
    depth = 0
    at = start
    while at < len(text):
        char = text[at]
        if char == "\\":
            at += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return at
        at += 1
    return len(text) - 1 if text.endswith(closing) else len(text)


def _plain(text: str) -> str:
    """An argument as plain text (a URL, a key, code): escapes resolved."""
    return re.sub(r"\\([%&_#${}~])", r"\1", text).replace("~", "\u00a0").strip()


def _without_backslashes(source: str) -> str:
    return re.sub(r"\\([A-Za-z@]+)", r"\1", source)


def _words(text: str) -> list[pf.Inline]:
    out: list[pf.Inline] = []
    for index, part in enumerate(re.split(r"[ \t\n]+", text)):
        if index:
            out.append(pf.Space())
        if part:
            out.append(pf.Str(part))
    return out


def _tidy(inlines: list[pf.Inline]) -> list[pf.Inline]:
    """Adjacent Strs joined, Spaces not doubled."""
    out: list[pf.Inline] = []
    for inline in inlines:
        if isinstance(inline, pf.Str) and out and isinstance(out[-1], pf.Str):
            out[-1] = pf.Str(out[-1].text + inline.text)
        elif isinstance(inline, pf.Space) and out and isinstance(out[-1], pf.Space):
            continue
        else:
            out.append(inline)
    return out


if __name__ == "__main__":
    main()
