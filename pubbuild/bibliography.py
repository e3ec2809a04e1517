"""Reading and checking the bibliography (BibTeX/BibLaTeX).

Pandoc reads the file (so the entries are exactly what its citeproc will
render); this module adds what pandoc does not say: the line each entry
starts on, duplicate keys, shared DOIs or URLs, missing required fields.

This module must not know about the manuscript or the output formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pubbuild import pandoc
from pubbuild.diagnostics import BuildError, Reporter

# `@type{key,` at the start of an entry; @string/@preamble/@comment are not
# entries. BibTeX also allows `@type(key,`.
_ENTRY = re.compile(
    r"^[ \t]*@[ \t]*(?P<type>\w+)[ \t]*[{(][ \t]*(?P<key>[^,\s]+)[ \t]*,",
    re.MULTILINE)
_NOT_ENTRIES = {"string", "preamble", "comment"}

# What each CSL type needs to be findable by a reader, named as the
# BibLaTeX field an author would add.
REQUIRED = {
    "article-journal": ("author", "title", "container-title", "issued"),
    "article-newspaper": ("title", "container-title", "issued"),
    "article-magazine": ("title", "container-title", "issued"),
    "webpage": ("title", "URL"),
    "report": ("title", "publisher"),
    "book": ("title", "publisher", "issued"),
    "chapter": ("title", "container-title", "publisher", "issued"),
    "paper-conference": ("author", "title", "container-title", "issued"),
    "thesis": ("author", "title", "publisher", "issued"),
}
DEFAULT_REQUIRED = ("title",)
FIELD_NAMES = {"container-title": "journaltitle", "issued": "date",
               "publisher": "publisher/institution", "URL": "url"}


@dataclass
class Entry:
    key: str
    line: int
    bibtype: str
    csl: dict = field(default_factory=dict)


@dataclass
class Bibliography:
    path: Path
    entries: dict[str, Entry]
    duplicates: list[tuple[Entry, Entry]]  # (later, first)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries.values())


def load(path: Path) -> Bibliography:
    """Read a .bib file. Malformed or unreadable files raise BuildError."""
    path = Path(path)
    if not path.is_file():
        raise BuildError("bibliography file not found", path)
    text = pandoc.read_utf8(path)
    scanned = _scan(text)
    items = pandoc.csl_json(path)
    by_key: dict[str, Entry] = {}
    duplicates = []
    csl_by_key: dict[str, list[dict]] = {}
    for item in items:
        csl_by_key.setdefault(item["id"], []).append(item)
    for key, line, bibtype in scanned:
        entry = Entry(key, line, bibtype)
        candidates = csl_by_key.get(key) or []
        if candidates:
            entry.csl = candidates.pop(0)
        if key in by_key:
            duplicates.append((entry, by_key[key]))
        else:
            by_key[key] = entry
    missing = [key for key in csl_by_key if key not in by_key]
    if missing:  # pandoc found an entry our scanner did not: say where we can
        raise BuildError(f"cannot locate entry {missing[0]!r} in the file", path)
    return Bibliography(path, by_key, duplicates)


def _scan(text: str) -> list[tuple[str, int, str]]:
    found = []
    for match in _ENTRY.finditer(text):
        bibtype = match.group("type").lower()
        if bibtype in _NOT_ENTRIES:
            continue
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group("key"), line, bibtype))
    return found


def check(bib: Bibliography, reporter: Reporter) -> None:
    """Report shared DOIs/URLs and missing fields (warnings). Duplicate keys
    stop the build when the bibliographies are read (`build.read`)."""
    seen: dict[tuple[str, str], Entry] = {}
    for entry in bib:
        for variable in ("DOI", "URL"):
            value = entry.csl.get(variable)
            if not value:
                continue
            normal = (variable, _normal_link(value))
            if normal in seen:
                other = seen[normal]
                reporter.warning(
                    f"{entry.key!r} has the same {variable} as {other.key!r} "
                    f"(line {other.line}): {value}", entry.line, file=bib.path,
                    source="bib")
            else:
                seen[normal] = entry
        csl_type = entry.csl.get("type", "")
        for variable in REQUIRED.get(csl_type, DEFAULT_REQUIRED):
            if not _has(entry.csl, variable):
                name = FIELD_NAMES.get(variable, variable)
                reporter.warning(f"{entry.key!r} (@{entry.bibtype}) has no {name}",
                                 entry.line, file=bib.path, source="bib")


def _has(csl: dict, variable: str) -> bool:
    if variable == "author":
        return bool(csl.get("author") or csl.get("editor"))
    return bool(csl.get(variable))


def _normal_link(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^https?://(dx\.)?doi\.org/", "", value)
    value = re.sub(r"^https?://(www\.)?", "", value)
    return value.rstrip("/")
