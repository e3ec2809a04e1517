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
- A parenthesis is a citation only if every `;`-separated part is one
  beyond doubt (`is_attempt`): its names are a bibliography author's, or
  it has a citation's shape ("[see] Surname[ and Surname | et al.][,]
  Year[, p. 4]"). It must resolve then; an error lists the nearest
  entries. "(DMZ)", "(2018)", "(Summer 2020)", "(as for 15 January 2024)",
  "(ISO 8601)" are prose, left alone without a word.
- A key that lost its @ in a pandoc group, "[@a; b2006; @c]" (which pandoc
  reads as text), is reported; if the bibliography has it, the group
  becomes the one Cite meant.
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

from filters import crossref
from pubbuild import citeindex, context
from pubbuild.citeindex import Query
from pubbuild.diagnostics import BuildError

NAME = "citations"
TOLERANT = "citations:tolerant"  # the source of tolerant-match diagnostics
DEFAULTS = {"link-targets": ["#"], "narrative": True, "strict": False}

OBJECT = "\ufffc"            # any inline the text view cannot look into
CITE = "\ue002"              # a Cite pandoc read from `@key`
LINK_OPEN, LINK_CLOSE = "\ue000", "\ue001"
OPAQUE = OBJECT + CITE       # what no written citation can contain

YEAR = (r"(?P<year>\d{4}|n\.\s?d\.|forthcoming|in press)"
        r"(?:-?(?P<suffix>[a-z]))?")
# "[prefix] Names, Year[, locator]" — the prefix is lower-case words ("see",
# "e.g.,", "cf.") or a capitalised "See", "Cf.", "E.g.,"; the names start
# with a capital letter.
PART = re.compile(
    r"^(?P<prefix>(?:(?:[^\sA-Z][^\s]*|See|Cf\.|E\.g\.,?|But)\s+)*)"
    r"(?P<names>[A-Z][^\d]*?)(?P<comma>,)?\s+" + YEAR
    + r"(?:\s*,\s*(?P<locator>.*?))?\s*$", re.S)
# A citation field may leave the year out ("[Snyder](#)"): it resolves if
# the names alone are unambiguous.
NAMES_ONLY = re.compile(r"^(?P<names>[A-Z][^\d]*?)$")
# "Names (Year[, locator])" inside one citation link.
LINK_NARRATIVE = re.compile(
    r"^(?P<names>[A-Z][^()]*?)\s+\(" + YEAR + r"(?:\s*,\s*(?P<locator>[^()]*?))?\)$")
PARENTHESIS = r"(?P<paren>\((?P<body>[^()" + OPAQUE + r"]*)\))"
STANDALONE_LINK = (r"(?P<link>" + LINK_OPEN + r"(?P<linkbody>[^" + LINK_CLOSE
                   + r"]*)" + LINK_CLOSE + ")")
# Bounded (a family name of at most 60 characters, at most 20 names): the
# search starts at every capital letter, and an unbounded run would be
# tried back to every length there, quadratic in a long word such as
# "AAAA…" (20,000 capitals took 25 s).
FAMILY = r"[A-Z][^\s\d(),;" + OPAQUE + LINK_OPEN + r"]{0,60}"
NARRATIVE = (
    r"(?P<narrative>(?P<names>" + FAMILY + r"(?:(?:,? (?:and|&) |, )" + FAMILY
    + r"){0,20}(?: et al\.)?) \(" + YEAR + r"(?:, (?P<locator>[^()" + OPAQUE
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

# What tells a citation from prose in parentheses (see `is_attempt`).
# Words that name a time or a thing, not a person: "(Summer 2020)",
# "(15 January 2024)", "(see Section 2020)".
NOT_NAMES = frozenset((
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "spring", "summer",
    "autumn", "fall", "winter", "christmas", "easter", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "section", "sections",
    "table", "tables", "figure", "figures", "fig", "chapter", "chapters",
    "appendix", "equation", "eq", "part", "article", "clause", "step", "phase",
    "wave", "study", "experiment", "version", "release", "edition", "volume",
    "issue", "page", "model", "year"
))
# Words that date rather than cite when they open a parenthesis:
# "(released March 2023)", "(as for 15 January 2024)", "(since 2019)".
DATING = re.compile(
    r"^(?:released|since|until|till|in|on|at|from|by|before|after|during|"
    r"as\s+(?:of|for|at)|around|circa|ca\.|c\.|updated|published|dated|"
    r"accessed|retrieved|effective|between|through|to|approx\.?|"
    r"approximately|est\.?|estimated|\d+(?:st|nd|rd|th)?,?)(?:\s|$)", re.I)
# The prefixes a citation itself carries: "(see Vu, 2021)", "(e.g., …)".
CITATION_PREFIX = re.compile(
    r"^(?:(?:see(?:\s+also)?|e\.g\.,?|cf\.|i\.e\.,?|for\s+example,?|"
    r"as\s+cited\s+in|cited\s+in|quoted\s+in|reviewed\s+in|but|compare|"
    r"also)\s*)*$", re.I)
# A surname as written: a capital, letters, a lower-case letter somewhere
# ("Vu", "McKay", "Sang-Hun", "O'Brien"); "ISO", "DMZ" are not.
SURNAME = re.compile(r"^[A-Z][^\W\d_]*(?:['’-][^\W\d_]+)*$")
PLAUSIBLE_YEARS = range(1500, 2100)
# A key without its @ in a pandoc citation group "[@a; b2006; @c]":
# "[prefix] key[, locator]"; what a key is comes from pandoc's syntax.
BARE_KEY = re.compile(
    r"^(?P<prefix>(?:[^\s\d]+\s+)*?)(?P<key>\w(?:[\w:.#$%&+?<>~/-]*\w)?)"
    r"(?:\s*,\s*(?P<locator>.+))?$", re.S)
GROUP = re.compile(r"\[(?P<body>[^\[\]" + LINK_OPEN + LINK_CLOSE + r"]*)\]")


@dataclass
class Written:
    """One citation as the author wrote it, parsed and resolved."""

    text: str                      # as written, for messages and the report
    query: Query
    prefix: str = ""
    locator: str = ""
    key: str | None = None
    comma: bool = False            # "Vu, 2021" rather than "Vu 2021"


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


def year_of(written: str) -> str:
    """"2021", "n.d." (however spaced), "forthcoming", "in press"."""
    return re.sub(r"\s+", "", written) if written.startswith("n") else written


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
    query = Query(names, etal, year_of(year) if year else None,
                  groups.get("suffix") or "", notes)
    prefix = (groups.get("prefix") or "").strip()
    return Written(clean, query, prefix, (groups.get("locator") or "").strip(),
                   comma=bool(groups.get("comma")))


def is_attempt(part: Written, index: citeindex.CitationIndex) -> bool:
    """Is "(prefix Names Year)" typed in running text a citation?

    Only if it reads as one beyond doubt: its names are a bibliography
    author's (exactly or tolerantly), or it has a citation's shape — a
    citation prefix or none, capitalised surnames ("A", "A and B", "A &
    B", "A et al."), a plausible year and at most a locator. What reads as
    a date, a season, an identifier or a reference to a part of the text
    ("15 January 2024", "Summer 2020", "ISO 8601", "Section 2020",
    "released March 2023") is prose, unless it resolves to an entry whose
    author has exactly that name.
    """
    if _reads_as_prose(part):
        result = index.resolve(part.query)
        return (result.key is not None
                and index.name_level(part.query, result.entry) == citeindex.EXACT)
    if index.name_level(part.query) != citeindex.NONE:
        return True
    return _citation_shaped(part)


def _reads_as_prose(part: Written) -> bool:
    names = part.query.names
    if any(name.split()[0].rstrip(".").casefold() in NOT_NAMES for name in names):
        return True
    if part.prefix and DATING.match(part.prefix):
        return True
    # "(ISO 8601)", "(RFC 7231)": capitals and a number, no comma between.
    return not part.comma and not any(c.islower() for c in "".join(names))


def _citation_shaped(part: Written) -> bool:
    year = part.query.year or ""
    return (bool(CITATION_PREFIX.match(part.prefix))
            and all(SURNAME.match(name) and any(c.islower() for c in name)
                    for name in part.query.names)
            and (not year.isdigit() or int(year) in PLAUSIBLE_YEARS)
            and (not part.locator or bool(LOCATOR_LABELS.match(part.locator))))


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
            elif isinstance(elem, pf.Cite):
                piece = CITE
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


# A key with a cross-reference prefix (Quarto's `@fig-x`, pandoc-crossref's
# `@fig:x`) that is no bibliography key is a reference to a figure, table,
# equation or section, not a citation: it is not looked up. The crossref
# filter, which runs first, resolves them; run alone, this filter keeps one
# visible as its label, with a warning.
CROSS_REFERENCE = crossref.TYPED


def action(elem, doc):
    if isinstance(elem, pf.Cite):
        keys = [citation.id for citation in elem.citations]
        if all(CROSS_REFERENCE.match(key) and key not in doc.context.index
               for key in keys):
            return _cross_reference(elem, keys, doc)
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
    for match in GROUP.finditer(view.text):
        if CITE in match.group("body") and ";" in match.group("body"):
            cite = _broken_group(match, inlines, view, doc)
            if cite is not None:
                replacements.append((match.start(), match.end(), cite))
    taken = [(begin, end) for begin, end, _ in replacements]
    for match in pattern.finditer(view.text):
        if any(begin < match.end() and match.start() < end for begin, end in taken):
            continue
        if match.group("paren"):
            cite = _parenthesis(match, doc)
        elif match.group("link"):
            cite = _standalone_link(match, doc)
        else:
            cite = _narrative(match, doc)
        if cite is not None:
            replacements.append((match.start(), match.end(), cite))
    return _apply(inlines, view, sorted(replacements, key=lambda r: r[0]))


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
    if not is_field:  # the link marks a field as a citation; text must earn it
        attempts = [is_attempt(part, doc.context.index) for part in parts]
        if not all(attempts):
            if any(attempts):  # a citation would be lost without a word
                prose = "; ".join(part.text for part, attempt
                                  in zip(parts, attempts, strict=True) if not attempt)
                reporter = doc.context.reporter
                reporter.warning(f"{match.group(0)!r} mixes citations with text "
                                 f"that is not one ({prose!r}); left as text",
                                 reporter.locate(match.group(0)), source=NAME)
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
    query = Query(names, etal, year_of(match.group("year")),
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


def _broken_group(match, inlines, view, doc) -> pf.Cite | None:
    """"[@a; b2006; @c]": pandoc reads no group when one key lacks its @,
    and prints the rest as text. A part that is a key (the bibliography's,
    or shaped like one: letters and digits) is reported; when every such
    key exists, the group becomes the one Cite the author meant."""
    body, offset = match.group("body"), match.start("body")
    parts, bare = [], []
    start = 0
    for piece in body.split(";"):
        begin = offset + start
        start += len(piece) + 1
        if piece.count(CITE) == 1:
            at = piece.index(CITE)
            cite = inlines[view.owner[begin + at]]
            if len(cite.citations) != 1:
                return None
            parts.append((cite, piece[:at].strip(), piece[at + 1:].strip()))
            continue
        found = BARE_KEY.match(piece.strip())
        key = found.group("key") if found else ""
        known = key in doc.context.index
        if CITE in piece or not (known or (re.search(r"[^\W\d_]", key)
                                           and re.search(r"\d", key))):
            return None  # not a group of citations: leave it as it is
        locator = (found.group("locator") or "").strip()
        parts.append((key, (found.group("prefix") or "").strip(),
                      f", {locator}" if locator else ""))
        bare.append((key, known, begin))
    written = "[" + " ".join(_shown(body, inlines, view, offset).split()) + "]"
    reporter = doc.context.reporter
    missing = [key for key, known, _ in bare if not known]
    lines = []
    for key, known, begin in bare:
        # From the key to the group's end: the key's line, and rarely
        # anywhere else in the text.
        rest = _shown(view.text[begin:match.end()], inlines, view, begin).strip()
        lines.append(reporter.locate(rest, f"; {key}", key))
        tail = ("" if not missing else "; no bibliography entry has that key"
                if not known else f"; not read as a citation while {missing[0]} "
                "has no entry")
        reporter.warning(f"looks like a citation key without @: {key}{tail}",
                         lines[-1], source=NAME)
    if missing:
        return None
    return _group_cite(parts, written, lines, doc)


def _shown(text: str, inlines, view, offset: int) -> str:
    """The view's text from `offset` as written: each Cite as its own text."""
    return "".join(pf.stringify(inlines[view.owner[offset + i]]) if char == CITE
                   else char for i, char in enumerate(text))


def _group_cite(parts, written: str, lines: list, doc) -> pf.Cite:
    """One Cite for the repaired group; its Cites' records become one."""
    records = doc.context.citation_records
    hashes = {part.citations[0].hash for part, _, _ in parts
              if isinstance(part, pf.Cite)}
    dropped = [record for record in records if record.number in hashes]
    records[:] = [record for record in records if record.number not in hashes]
    number = _next_number(records)  # the dropped Cites are gone from the text
    citations, shown = [], []
    for part, prefix, suffix in parts:
        if isinstance(part, pf.Cite):
            citation = part.citations[0]
            key = citation.id
            prefix_inlines = [*words(prefix), *citation.prefix]
            suffix_inlines = [*citation.suffix, *words(suffix)]
        else:
            key, prefix_inlines, suffix_inlines = part, words(prefix), words(suffix)
        citations.append(pf.Citation(key, mode="NormalCitation",
                                     prefix=prefix_inlines, suffix=suffix_inlines,
                                     hash=number))
        shown.append(f"{prefix} @{key}{suffix}".strip())
    line = min((n for n in [*lines, *(r.line for r in dropped)] if n), default=None)
    records.append(Record(line, written, [c.id for c in citations], "pandoc",
                          number))
    # As pandoc would have kept the group had the @ been there.
    return pf.Cite(*words(f"[{'; '.join(shown)}]"), citations=citations)


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
            hint = ""
            if not result.candidates:  # a name no entry has: what was meant?
                hint = "; nearest entries: " + ", ".join(
                    f"{entry.label} [{entry.key}]"
                    for entry in doc.context.index.nearest(part.query))
            reporter.error(f"citation {part.text!r}: {result.error}{hint}", line,
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
    number = _next_number(doc.context.citation_records)
    doc.context.citation_records.append(
        Record(line, text, [part.key for part in parts], kind, number))
    return make_cite(parts, mode, number)


def _next_number(records: list[Record]) -> int:
    # Not len() + 1: a repaired group replaces its Cites' records by one.
    return max((record.number for record in records), default=0) + 1


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
    number = _next_number(shared.citation_records)
    for citation in cite.citations:
        citation.hash = number
    shared.citation_records.append(Record(line, text, keys, "pandoc", number=number))


def _cross_reference(cite: pf.Cite, keys: list[str], doc) -> pf.Span:
    """`@fig-x`, `[@fig:a; @fig:b]`: kept visible as the labels, reported."""
    reporter = doc.context.reporter
    written = ", ".join(f"@{key}" for key in keys)
    reporter.warning(f"cross-reference {written} is not resolved (it prints "
                     f"as {'; '.join(keys)!r})",
                     reporter.locate(*(f"@{key}" for key in keys)), source=NAME)
    shown: list[pf.Inline] = []
    for key in keys:
        if shown:
            shown += [pf.Str(";"), pf.Space()]
        shown.append(pf.Str(key))
    return pf.Span(*shown, classes=["xref-unresolved"],
                   attributes={"reference-type": "cite", "reference": " ".join(keys)})


def finalize(doc: pf.Doc) -> None:
    # Run by pandoc as a filter, nobody else will stop the build on errors.
    if doc.context.reporter.echo and doc.context.reporter.errors:
        sys.exit(1)


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
