"""The index the citation normaliser matches written citations against.

For each bibliography entry it holds the family names and the in-text
label the active CSL style prints for it ("Sang-Hun & Rich, 2018",
"Canrong et al., n.d."). The labels are rendered in-process by citeproc-py
with the same CSL file pandoc's citeproc uses for the outputs: this is what
citeproc-py is for in this project. citeproc-py does not disambiguate
years (it prints two "Sang-Hun, 2018"), so entries whose labels coincide
get their a/b/c year suffix here, in the order author-date styles assign
them (date, then title); a test checks that pandoc prints the same labels.

This module must not know about Markdown, panflute or output formats.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON

from pubbuild import bibliography
from pubbuild.diagnostics import BuildError

EXACT, TOLERANT, NONE = 0, 1, 2


@functools.lru_cache(maxsize=65536)
def normal(name: str) -> str:
    """A name reduced for comparison: no accents, case, spaces or hyphens.
    (Cached: every citation is compared with every entry.)"""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


@dataclass
class IndexEntry:
    key: str
    families: tuple[str, ...]   # every author's family name, in order
    names: str                  # the name part of the label, as printed
    year: str                   # "2018" or "n.d."
    suffix: str = ""            # "a", "b"… when the style disambiguates

    @property
    def label(self) -> str:
        return f"{self.names}, {self.year}{self.suffix}"


@dataclass
class Query:
    """A written citation, parsed: what the author typed, minus the locator."""

    names: list[str]            # family names as written, initials removed
    etal: bool = False
    year: str | None = None     # "2018", "n.d." or None when not written
    suffix: str = ""
    notes: list[str] = field(default_factory=list)  # how the text was relaxed


@dataclass
class Match:
    key: str | None
    entry: IndexEntry | None = None
    tolerant: list[str] = field(default_factory=list)  # why it is not exact
    candidates: list[IndexEntry] = field(default_factory=list)
    error: str | None = None


class CitationIndex:
    def __init__(self, entries: list[IndexEntry]):
        self.entries = entries
        self.by_key = {entry.key: entry for entry in entries}

    def __contains__(self, key: str) -> bool:
        return key in self.by_key

    def resolve(self, query: Query) -> Match:
        scored = []
        for entry in self.entries:
            name_level, name_why = _match_names(query, entry)
            if name_level == NONE:
                continue
            year_level, year_why = _match_year(query, entry)
            scored.append((name_level + year_level, name_level, year_level,
                           entry, [w for w in (name_why, year_why) if w]))
        usable = [s for s in scored if s[2] != NONE]
        if not usable:
            near = ", ".join(entry.label for *_, entry, _ in scored[:4])
            hint = f"; entries by that name: {near}" if near else ""
            return Match(None, error=f"no bibliography entry matches{hint}",
                         candidates=[s[3] for s in scored])
        best = min(s[0] for s in usable)
        top = [s for s in usable if s[0] == best]
        if len(top) > 1:
            labels = ", ".join(f"{s[3].label} [{s[3].key}]" for s in top)
            return Match(None, error=f"ambiguous: could be {labels}",
                         candidates=[s[3] for s in top])
        _, _, _, entry, why = top[0]
        return Match(entry.key, entry, tolerant=query.notes + why)

    def name_level(self, query: Query, entry: IndexEntry | None = None) -> int:
        """How well the written names match an author (of `entry`, or of any
        entry): EXACT, TOLERANT or NONE, whatever the year."""
        entries = [entry] if entry is not None else self.entries
        return min((_match_names(query, e)[0] for e in entries), default=NONE)

    def nearest(self, query: Query, count: int = 3) -> list[IndexEntry]:
        """The entries whose author reads most like the written names (the
        label or the first family name), the same year counting a little."""
        written = [normal(" ".join(query.names)), *map(normal, query.names)]

        def score(entry: IndexEntry) -> float:
            printed = [normal(entry.names), *map(normal, entry.families[:1])]
            names = max(difflib.SequenceMatcher(None, w, p).ratio()
                        for w in written for p in printed)
            return names + (0.2 if query.year == entry.year else 0.0)

        return sorted(self.entries, key=score, reverse=True)[:count]


def _match_names(query: Query, entry: IndexEntry) -> tuple[int, str]:
    written = [normal(n) for n in query.names]
    families = [normal(n) for n in entry.families]
    if not written:
        return NONE, ""
    # The label as the style prints it: also how authorless entries
    # (cited by title) and organisations are found.
    if normal(" ".join(query.names)) == normal(entry.names):
        return EXACT, ""
    if not families:
        return NONE, ""
    count = len(written)
    if query.etal and count < len(families) and written == families[:count]:
        return EXACT, ""
    if not query.etal and written == families:
        return EXACT, ""
    if written == families[:count]:
        return TOLERANT, (f"written with {count} of the entry's "
                          f"{len(families)} authors")
    if query.etal and count > len(families):
        return NONE, ""
    compare = families[:count] if count <= len(families) else None
    if compare and all(_close(w, f) for w, f in zip(written, compare, strict=True)):
        return TOLERANT, "name spelled differently"
    return NONE, ""


def _close(written: str, family: str) -> bool:
    if written == family:
        return True
    if min(len(written), len(family)) < 4:
        return False
    # The cheap upper bounds first, as difflib.get_close_matches does: each
    # is at least ratio(), so a pair below 0.8 on one is below it on ratio().
    matcher = difflib.SequenceMatcher(None, written, family)
    return (matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8
            and matcher.ratio() >= 0.8)


def _match_year(query: Query, entry: IndexEntry) -> tuple[int, str]:
    if query.year is None:
        return TOLERANT, "no year written"
    if query.year != entry.year:
        return NONE, ""
    if query.suffix == entry.suffix:
        return EXACT, ""
    if not query.suffix:
        return TOLERANT, f"year suffix missing (the style prints {entry.year}" \
                         f"{entry.suffix})"
    if not entry.suffix:
        return TOLERANT, f"year suffix {query.suffix!r} not needed"
    return NONE, ""


def load(bib_paths: list[Path], csl_path: Path
         ) -> tuple[list[bibliography.Bibliography], CitationIndex]:
    """Read the bibliographies and index them all against one CSL style."""
    bibs = [bibliography.load(path) for path in bib_paths]
    entries = [entry for bib in bibs for entry in build(bib, csl_path).entries]
    return bibs, CitationIndex(entries)


def build(bib: bibliography.Bibliography, csl_path: Path) -> CitationIndex:
    """Render every entry's in-text label with citeproc-py and the CSL style."""
    items = [entry.csl for entry in bib]
    try:
        style = CitationStylesStyle(str(csl_path), validate=False)
    except Exception as exc:  # lxml or citeproc-py: an unreadable style
        from lxml import etree

        if isinstance(exc, etree.XMLSyntaxError):  # where the XML breaks
            message = re.sub(r", line \d+, column \d+$", "", exc.msg or str(exc))
            raise BuildError(f"malformed CSL style: {message}", csl_path,
                             exc.lineno) from None
        raise BuildError(f"cannot read CSL style: {exc}", csl_path) from None
    source = CiteProcJSON([_for_citeproc_py(item) for item in items])
    rendered = CitationStylesBibliography(style, source, formatter.plain)
    citations = []
    for item in items:
        citation = Citation([CitationItem(item["id"])])
        rendered.register(citation)
        citations.append(citation)
    entries = []
    for entry, citation in zip(bib, citations, strict=True):
        label = str(rendered.cite(citation, lambda _item: None))
        entries.append(_entry(entry.key, entry.csl, label))
    _assign_suffixes(entries, {entry.key: entry.csl for entry in bib})
    return CitationIndex(entries)


def _for_citeproc_py(item: dict) -> dict:
    # citeproc-py reads "issued" but chokes on extra CSL-JSON keys pandoc
    # writes for some dates; hand it only what a label needs.
    keep = ("id", "type", "author", "editor", "issued", "title")
    return {k: v for k, v in item.items() if k in keep}


_LABEL = re.compile(r"^\((?P<names>.*), (?P<year>n\.d\.|\d{4})[a-z]?\)$")


def _entry(key: str, csl: dict, label: str) -> IndexEntry:
    families = tuple(
        name.get("family") or name.get("literal") or ""
        for name in (csl.get("author") or csl.get("editor") or [])
    )
    match = _LABEL.match(label.strip())
    if match:
        names, year = match.group("names"), match.group("year")
    else:  # a style whose label we cannot split: fall back to the data
        names = " & ".join(families) or csl.get("title", key)
        year = _year(csl)
    if year == "n.d." and csl.get("status") and not csl.get("issued"):
        # "(Kim, forthcoming)", "(Park, in press)": pandoc's citeproc prints
        # the status where the date would be; citeproc-py prints "n.d.".
        year = str(csl["status"]).lower()
    return IndexEntry(key, families, names, year)


def _year(csl: dict) -> str:
    parts = (csl.get("issued") or {}).get("date-parts") or [[]]
    return str(parts[0][0]) if parts and parts[0] else "n.d."


def _assign_suffixes(entries: list[IndexEntry], csl: dict[str, dict]) -> None:
    groups: dict[tuple[str, str], list[IndexEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.names, entry.year), []).append(entry)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda e: (_date_key(csl[e.key]),
                                  normal(csl[e.key].get("title", ""))))
        for letter, entry in zip("abcdefghijklmnopqrstuvwxyz", group, strict=False):
            entry.suffix = letter


def _date_key(csl: dict) -> tuple[int, ...]:
    parts = (csl.get("issued") or {}).get("date-parts") or [[]]
    return tuple(int(p) for p in (parts[0] if parts else []))
