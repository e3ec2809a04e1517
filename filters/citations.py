"""Turn author–year citations typed as text or links into resolved pandoc Cites.

Word processors leave citations as text: "([Vu, 2021, p. 4](#))" (a citation
field exported as a link to `#`), "(Falk & Fischbacher, 2001, p. 1)",
"Falk and Fischbacher (2001)". This filter finds them, matches each against
the bibliography by family names and year, and replaces it with a `Cite`
that pandoc's citeproc renders in the document's CSL style. `[@key]`
citations pass through untouched.

Where the line is drawn between a citation and prose:

- A `#` link whose text parses as "Names, Year[, locator]" is a citation
  field: it must resolve, or the build stops with an error.
- A parenthesis whose every `;`-separated part has the shape
  "[prefix] Names, Year[, locator]" (a capitalised name, a comma, a
  four-digit year or "n.d.") is a citation: it must resolve too.
  "(DMZ)", "(2018)", "(Republic of Korea -ROK)" do not have that shape.
- "Names (Year)" in running prose is a narrative citation only if it
  resolves unambiguously; otherwise it is left as text (with a warning
  when the names belong to an entry but the year does not).

Tolerant matches (a misspelt name, initials written into the citation, a
missing year suffix) resolve with a warning naming file:line, what was
written and what it resolved to.

Metadata options (under `citations:`, removed from the output metadata):
    link-targets: ["#"]   link URLs that mark a word-processor citation
    narrative: true       recognise "Names (Year)" in running prose
    strict: false         make tolerant matches errors, not warnings

Formats: all; runs before citeproc (it produces the Cites citeproc renders).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/citations.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import citeindex, context
from pubbuild.citeindex import Query
from pubbuild.diagnostics import BuildError

NAME = "citations"
TOLERANT = "citations:tolerant"  # the source of tolerant-match diagnostics
DEFAULTS = {"link-targets": ["#"], "narrative": True, "strict": False}

OBJECT = "\ufffc"            # any inline the text view cannot look into
LINK_OPEN, LINK_CLOSE = "\ue000", "\ue001"

YEAR = r"(?P<year>\d{4}|n\.\s?d\.)(?:-?(?P<suffix>[a-z]))?"
# "[prefix] Names, Year[, locator]" — the prefix is lower-case words ("see",
# "e.g.,", "cf."), the names start with a capital letter.
PART = re.compile(
    r"^(?P<prefix>(?:[^\sA-Z][^\s]*\s+)*)(?P<names>[A-Z][^\d]*?),?\s+" + YEAR
    + r"(?:\s*,\s*(?P<locator>.*?))?\s*$", re.S)
# A citation field may leave the year out ("[Snyder](#)"): it resolves if
# the names alone are unambiguous.
NAMES_ONLY = re.compile(r"^(?P<names>[A-Z][^\d]*?)$")
# "Names (Year[, locator])" inside one citation link.
LINK_NARRATIVE = re.compile(
    r"^(?P<names>[A-Z][^()]*?)\s+\(" + YEAR + r"(?:\s*,\s*(?P<locator>[^()]*?))?\)$")
PARENTHESIS = r"(?P<paren>\((?P<body>[^()" + OBJECT + r"]*)\))"
STANDALONE_LINK = (r"(?P<link>" + LINK_OPEN + r"(?P<linkbody>[^" + LINK_CLOSE
                   + r"]*)" + LINK_CLOSE + ")")
# Bounded (a family name of at most 60 characters, at most 20 names): the
# search starts at every capital letter, and an unbounded run would be
# tried back to every length there, quadratic in a long word such as
# "AAAA…" (20,000 capitals took 25 s).
FAMILY = r"[A-Z][^\s\d(),;" + OBJECT + LINK_OPEN + r"]{0,60}"
NARRATIVE = (
    r"(?P<narrative>(?P<names>" + FAMILY + r"(?:(?:,? (?:and|&) |, )" + FAMILY
    + r"){0,20}(?: et al\.)?) \(" + YEAR + r"(?:, (?P<locator>[^()" + OBJECT
    + r"]*))?\))")
# One pass, left to right: at each position a narrative citation is tried
# first (its names stand before the parenthesis), then a parenthesis, then a
# citation field that stands alone.
COMBINED = re.compile("|".join((NARRATIVE, PARENTHESIS, STANDALONE_LINK)))
COMBINED_NO_NARRATIVE = re.compile("|".join((PARENTHESIS, STANDALONE_LINK)))
INITIALS = re.compile(r"^(?:[A-Z]\.\s*-?\s*)+")
LOCATOR_LABELS = re.compile(
    r"^(?:p|pp|para|paras|chap|ch|sec|secs|fig|figs|vol|vols|n|nn|l|ll|"
    r"bk|col|no|op|pt|v|vv|§+|¶)\.?(?:\s|\d|$)", re.I)


@dataclass
class Written:
    """One citation as the author wrote it, parsed and resolved."""

    text: str                      # as written, for messages and the report
    query: Query
    prefix: str = ""
    locator: str = ""
    key: str | None = None


@dataclass
class Record:
    """What the check report lists for each citation in the document."""

    line: int | None
    written: str
    keys: list[str]
    kind: str                      # link, text, narrative, pandoc
    number: int = 0                # also the citationHash of its Cite, so the
    #                                rendered form can be found after citeproc


# -- parsing ---------------------------------------------------------------

def parse_names(names: str) -> tuple[list[str], bool, list[str]]:
    """Split "Falk & Fischbacher", "Harris et al.", "Armstrong, C. K."."""
    notes = []
    etal = bool(re.search(r"\bet al\.?$", names))
    names = re.sub(r",?\s*\bet al\.?$", "", names).strip()
    found = []
    for token in re.split(r"\s*(?:,|&|\band\b)\s*", names):
        token = token.strip()
        if not token:
            continue
        if INITIALS.fullmatch(token):
            notes.append(f"initials {token!r} ignored")
            continue
        bare = INITIALS.sub("", token)
        if bare != token:
            notes.append(f"initials in {token!r} ignored")
        found.append(bare)
    return found, etal, notes


def parse_part(text: str, field: bool = False) -> Written | None:
    """One citation inside a parenthesis or a link; None if not that shape."""
    clean = re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()
    narrative = LINK_NARRATIVE.match(clean)
    match = narrative or PART.match(clean)
    if not match and field:
        match = NAMES_ONLY.match(clean)
    if not match:
        return None
    names, etal, notes = parse_names(match.group("names"))
    if not names:
        return None
    groups = match.groupdict()
    year = groups.get("year")
    query = Query(names, etal, year.replace(" ", "") if year else None,
                  groups.get("suffix") or "", notes)
    prefix = (groups.get("prefix") or "").strip()
    return Written(clean, query, prefix, (groups.get("locator") or "").strip())


# -- building the AST ------------------------------------------------------

def words(text: str) -> list[pf.Inline]:
    """Text as Str and Space inlines."""
    out: list[pf.Inline] = []
    for index, word in enumerate(text.split()):
        if index:
            out.append(pf.Space())
        out.append(pf.Str(word))
    return out


def make_cite(parts: list[Written], mode: str, number: int = 0) -> pf.Cite:
    citations = []
    markdown = []
    for part in parts:
        suffix = words(part.locator)
        if suffix and mode != "AuthorInText":  # "(Vu, 2021, p. 4)" vs "Vu (2021, p. 4)"
            suffix = [pf.Str(","), pf.Space(), *suffix]
        citations.append(pf.Citation(part.key, mode=mode, prefix=words(part.prefix),
                                     suffix=suffix, hash=number))
        text = f"@{part.key}" if mode == "AuthorInText" else (
            f"{part.prefix} @{part.key}".strip())
        if part.locator:
            text += f" [{part.locator}]" if mode == "AuthorInText" else (
                f", {part.locator}")
        markdown.append(text)
    # The content is what pandoc itself would keep for a typed citation,
    # shown only by writers that run without citeproc.
    shown = markdown[0] if mode == "AuthorInText" else f"[{'; '.join(markdown)}]"
    return pf.Cite(*words(shown), citations=citations)


@dataclass
class TextView:
    """An inline list as a string, with each character's inline index."""

    text: str
    owner: list[int]       # inline index for each character
    start: list[int]       # first character of each inline

    @classmethod
    def of(cls, inlines, link_targets) -> TextView:
        text, owner, start = [], [], []
        for index, elem in enumerate(inlines):
            if isinstance(elem, pf.Str):
                piece = elem.text.replace("\xa0", " ")
            elif isinstance(elem, (pf.Space, pf.SoftBreak)):
                piece = " "
            elif isinstance(elem, pf.Link) and elem.url in link_targets:
                inner = pf.stringify(elem).replace("\xa0", " ")
                piece = LINK_OPEN + inner.replace(LINK_CLOSE, "") + LINK_CLOSE
            else:
                piece = OBJECT
            start.append(len(text))
            text.extend(piece)
            owner.extend([index] * len(piece))
        return cls("".join(text), owner, start)


def splice(inlines: list, view: TextView, begin: int, end: int,
           replacement: pf.Inline) -> list:
    """Replace the characters begin..end of the view by one inline."""
    first, last = view.owner[begin], view.owner[end - 1]
    before = inlines[:first]
    after = inlines[last + 1:]
    head = inlines[first]
    if isinstance(head, pf.Str) and begin > view.start[first]:
        before.append(pf.Str(head.text[: begin - view.start[first]]))
    tail = inlines[last]
    tail_end = view.start[last] + (len(tail.text) if isinstance(tail, pf.Str) else 1)
    if isinstance(tail, pf.Str) and end < tail_end:
        after.insert(0, pf.Str(tail.text[end - view.start[last]:]))
    return [*before, replacement, *after]


# -- the filter ------------------------------------------------------------

def prepare(doc: pf.Doc) -> None:
    options = dict(DEFAULTS)
    options.update(doc.get_metadata(NAME, default={}) or {})
    if NAME in doc.metadata:
        del doc.metadata[NAME]
    context.of(doc).options[NAME] = options
    if doc.context.index is None:
        doc.context.index = _index_from_metadata(doc)
    doc.context.citation_records = []


def _index_from_metadata(doc: pf.Doc) -> citeindex.CitationIndex:
    """Standalone use (pandoc --filter): read the bibliography named in the
    metadata, relative to the working directory as pandoc itself does."""
    bibs = doc.get_metadata("bibliography", default=None)
    csl = doc.get_metadata("csl", default=None)
    if not bibs or not csl:
        raise BuildError("the metadata needs `bibliography` and `csl` for "
                         "the citation normaliser", doc.context.reporter.file)
    bibs = [bibs] if isinstance(bibs, str) else bibs
    return citeindex.load([Path(path) for path in bibs], Path(csl))[1]


def action(elem, doc):
    if isinstance(elem, pf.Cite):
        _record_typed(elem, doc)
        return None
    if isinstance(elem, (pf.Para, pf.Plain, pf.Header, pf.Emph, pf.Strong,
                         pf.Span, pf.Quoted, pf.Underline, pf.SmallCaps)):
        elem.content = normalise(list(elem.content), doc)
    return None


def normalise(inlines: list, doc: pf.Doc) -> list:
    """One left-to-right pass over an inline list's text view."""
    options = doc.context.options[NAME]
    view = TextView.of(inlines, options["link-targets"])
    pattern = COMBINED if options["narrative"] else COMBINED_NO_NARRATIVE
    replacements = []
    for match in pattern.finditer(view.text):
        if match.group("paren"):
            cite = _parenthesis(match, doc)
        elif match.group("link"):
            cite = _standalone_link(match, doc)
        else:
            cite = _narrative(match, doc)
        if cite is not None:
            replacements.append((match.start(), match.end(), cite))
    return _apply(inlines, view, replacements)


def _parenthesis(match, doc):
    body = match.group("body")
    is_field = LINK_OPEN in body
    plain = body.replace(LINK_OPEN, "").replace(LINK_CLOSE, "")
    parts = [parse_part(part, field=is_field) for part in plain.split(";")]
    if not all(parts):
        if is_field:
            reporter = doc.context.reporter
            reporter.error(f"citation field {plain.strip()!r} is not of the form "
                           "'Names, Year[, locator]'",
                           reporter.locate(*_snippets(body)), source=NAME)
        return None
    kind = "link" if is_field else "text"
    snippets = _snippets(body) if is_field else [match.group(0)]
    return _resolve(parts, "NormalCitation", kind, snippets, doc)


def _standalone_link(match, doc):
    body = match.group("linkbody")
    written = parse_part(body, field=True)
    if written is None:
        reporter = doc.context.reporter
        reporter.warning(f"link to '#' is not a citation: {body!r}; left as is",
                         reporter.locate(body), source=NAME)
        return None
    mode = "AuthorInText" if LINK_NARRATIVE.match(written.text) else "NormalCitation"
    return _resolve([written], mode, "link", [body], doc)


def _narrative(match, doc):
    names, etal, notes = parse_names(match.group("names"))
    query = Query(names, etal, match.group("year").replace(" ", ""),
                  match.group("suffix") or "", notes)
    text = match.group("narrative")
    written = Written(text, query, "", match.group("locator") or "")
    result = doc.context.index.resolve(query)
    if result.key is None:
        if result.candidates:  # the name is a cited author's: say so
            doc.context.reporter.warning(
                f"{text!r} looks like a citation but {result.error}; left as text",
                doc.context.reporter.locate(text), source=NAME)
        return None
    return _resolve([written], "AuthorInText", "narrative", [text], doc,
                    resolved=[result])


def _apply(inlines, view, replacements):
    for begin, end, cite in reversed(replacements):
        inlines = splice(inlines, view, begin, end, cite)
    return inlines


def _snippets(body: str) -> list[str]:
    """What to look for in the source to find a citation field's line."""
    links = re.findall(LINK_OPEN + "([^" + LINK_CLOSE + "]*)" + LINK_CLOSE, body)
    return [f"[{text}](" for text in links] + links


def _error_unparsed(doc, text):
    doc.context.reporter.error(f"citation field {text.strip()!r} is not of the form "
                       "'Names, Year[, locator]'", doc.context.reporter.locate(text),
                       source=NAME)


def _resolve(parts: list[Written], mode: str, kind: str, snippets: list[str],
             doc, resolved=None) -> pf.Cite | None:
    """Resolve every part; report; return the Cite, or None on an error."""
    reporter = doc.context.reporter
    line = reporter.locate(*snippets)
    strict = doc.context.options[NAME]["strict"]
    failed = False
    for index, part in enumerate(parts):
        result = (resolved[index] if resolved
                  else doc.context.index.resolve(part.query))
        if result.key is None:
            reporter.error(f"citation {part.text!r}: {result.error}", line,
                           source=NAME)
            failed = True
            continue
        part.key = result.key
        if part.locator and not LOCATOR_LABELS.match(part.locator):
            reporter.warning(f"citation {part.text!r}: {part.locator!r} is not a "
                             "known locator (p., pp., para., chap. …); kept as "
                             "a suffix", line, source=NAME)
        if result.tolerant:
            why = "; ".join(result.tolerant)
            report = reporter.error if strict else reporter.warning
            report(f"citation {part.text!r} resolved to {result.key} "
                   f"({result.entry.label}): {why}", line, source=TOLERANT)
    if failed:
        return None
    text = "; ".join(part.text for part in parts)
    number = len(doc.context.citation_records) + 1
    doc.context.citation_records.append(
        Record(line, text, [part.key for part in parts], kind, number))
    return make_cite(parts, mode, number)


def _record_typed(cite: pf.Cite, doc) -> None:
    """A `[@key]` citation: checked against the bibliography, not changed."""
    keys = [citation.id for citation in cite.citations]
    text = pf.stringify(cite)
    shared = doc.context
    line = shared.reporter.locate(*(f"@{key}" for key in keys))
    for key in keys:
        if key not in shared.index:
            shared.reporter.error(f"citation @{key}: no bibliography entry with "
                                  "that key", line, source=NAME)
    number = len(shared.citation_records) + 1
    for citation in cite.citations:
        citation.hash = number
    shared.citation_records.append(Record(line, text, keys, "pandoc", number=number))


def finalize(doc: pf.Doc) -> None:
    # Run by pandoc as a filter, nobody else will stop the build on errors.
    if doc.context.reporter.echo and doc.context.reporter.errors:
        sys.exit(1)


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
