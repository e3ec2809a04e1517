"""Normalise the author metadata forms manuscripts use into one shape.

Manuscripts name their authors in several ways, and each output needs the
same facts (names, ORCIDs, e-mail, the corresponding author, affiliations,
author notes). This filter reads any of:

- a plain list, `author: [A. Author, B. Author]`, or one string;
- Quarto's `author:`/`authors:` maps (`name` as a string or as
  `{given, family}`, `orcid`, `email`, `corresponding`, `affiliations:`
  holding `{ref: id}`, inline affiliation maps, or ids) with a top-level
  `affiliations:` list of `{id, name, department, city, country, ...}`;
- Open Journals' (JOSS) `authors:` with `affiliation: "1, 2"` and a
  top-level `affiliations:` list of `{name, index}`;
- author notes marked `note-mark: "*"` with a `position`, as journals that
  print "* Assistant Professor, Department ..., e-mail" at the page foot.

and writes, for the templates:

- `author`: the plain list of names (pandoc's writers put it into
  `<meta name="author">`, the EPUB's `dc:creator` and the PDF's Author);
- `byline`: `{name, mark, orcid, orcid-url, email}` per author;
- `author-notes`: `{mark, text}` per note: a note-marked author's position,
  affiliation and e-mail, or one numbered affiliation each;
- `correspondence`: "Corresponding author: Name (email)" where one is given;
- `authors-plain`: the normalised facts as plain strings, for the
  scholarly metadata in the HTML head (`pubbuild.scholarly`).

An affiliation reference that names no affiliation is an error.

Metadata options: none; `authors`, `affiliations` and `affiliation` are
consumed (removed) so that they don't leak into other writers.

Formats: all; runs before citeproc (order relative to it does not matter).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/authors.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context
from pubbuild.diagnostics import BuildError, Reporter

# The parts of an affiliation, in the order a postal address prints them.
AFFILIATION_PARTS = ("position", "department", "name", "address", "city",
                     "region", "state", "postal-code", "country")
ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")


def prepare(doc: pf.Doc) -> None:
    context.of(doc)


def action(elem, doc):
    return None  # metadata only


def finalize(doc: pf.Doc) -> None:
    meta = doc.get_metadata(default={})
    raw_authors = meta.get("authors", meta.get("author"))
    if raw_authors is None:
        return
    if not isinstance(raw_authors, list):
        raw_authors = [raw_authors]
    registry = _Affiliations(meta.get("affiliations", []), doc.context.reporter)
    authors = [_author(raw, registry, doc.context.reporter) for raw in raw_authors]
    for key in ("authors", "affiliations", "affiliation"):
        if key in doc.metadata:
            del doc.metadata[key]
    doc.metadata["author"] = pf.MetaList(
        *(pf.MetaInlines(*_text(a["name"])) for a in authors))
    notes_by_mark = any(a["mark"] for a in authors)
    byline, notes = [], []
    for author in authors:
        indices = [registry.index(aff) for aff in author["affiliations"]]
        mark = author["mark"] or ",".join(str(i) for i in indices)
        entry = {"name": pf.MetaInlines(*_text(author["name"]))}
        if mark:
            entry["mark"] = pf.MetaString(mark)
        if author["orcid"]:
            entry["orcid"] = pf.MetaString(author["orcid"])
            entry["orcid-url"] = pf.MetaString(
                f"https://orcid.org/{author['orcid']}")
        byline.append(pf.MetaMap(**entry))
        if notes_by_mark and author["mark"]:
            notes.append(_note(author["mark"], _author_note(author, registry)))
    if not notes_by_mark:
        notes = [_note(str(registry.index(aff)), [*_text(registry.text(aff)), "."])
                 for aff in registry.used]
    doc.metadata["byline"] = pf.MetaList(*byline)
    if notes:
        doc.metadata["author-notes"] = pf.MetaList(*notes)
    corresponding = [a for a in authors if a["corresponding"] and a["email"]]
    if corresponding and not notes_by_mark:
        parts = ["Corresponding author: "]
        for n, author in enumerate(corresponding):
            parts += ["; "] if n else []
            parts += [author["name"], " (", _mailto(author["email"]), ")"]
        doc.metadata["correspondence"] = pf.MetaInlines(*_inlines(parts))
    doc.metadata["authors-plain"] = pf.MetaList(*(pf.MetaMap(**{
        "name": pf.MetaString(a["name"]),
        "email": pf.MetaString(a["email"] or ""),
        "orcid": pf.MetaString(a["orcid"] or ""),
        "affiliations": pf.MetaList(*(pf.MetaString(registry.text(aff))
                                      for aff in a["affiliations"])),
    }) for a in authors))


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    # Metadata only: no action to walk the body with (it would visit every
    # element for nothing).
    return pf.run_filters([], prepare=prepare, finalize=finalize, doc=doc)


# -- reading the forms -----------------------------------------------------

def _author(raw, registry: _Affiliations, reporter: Reporter) -> dict:
    if not isinstance(raw, dict):
        raw = {"name": raw}
    name = raw.get("name", "")
    if isinstance(name, dict):
        name = name.get("literal") or " ".join(
            str(name[k]) for k in ("given", "family") if name.get(k))
    if not name:
        name = " ".join(str(raw[k]) for k in ("given-names", "given", "surname",
                                              "family") if raw.get(k))
    if not name:
        raise BuildError("an author has no name", reporter.file,
                         reporter.locate("author"))
    orcid = ORCID.search(str(raw.get("orcid", "")))
    affiliations = raw.get("affiliations", raw.get("affiliation", []))
    if isinstance(affiliations, str | int) and not isinstance(affiliations, bool):
        # JOSS: affiliation: "1, 2"; Quarto also allows one id or name.
        affiliations = [part.strip() for part in str(affiliations).split(",")]
    if isinstance(affiliations, dict):
        affiliations = [affiliations]
    return {
        "name": str(name).strip(),
        "mark": str(raw.get("note-mark", "") or ""),
        "orcid": orcid.group(1) if orcid else None,
        "email": str(raw.get("email", "") or "") or None,
        "corresponding": bool(raw.get("corresponding", False)),
        "position": str(raw.get("position", "") or ""),
        "affiliations": [registry.resolve(aff) for aff in affiliations],
    }


class _Affiliations:
    """The top-level affiliations list, plus any defined inline by authors."""

    def __init__(self, raw, reporter: Reporter):
        self.reporter = reporter
        self.by_key: dict[str, dict] = {}
        self.used: list[int] = []  # ids of affiliations in order of first use
        self.all: list[dict] = []
        for n, item in enumerate(raw if isinstance(raw, list) else [raw], 1):
            item = item if isinstance(item, dict) else {"name": item}
            self._add(item, keys=[item.get("id"), item.get("index"),
                                  str(n) if "index" not in item else None])

    def _add(self, item: dict, keys) -> dict:
        self.all.append(item)
        for key in keys:
            if key is not None:
                self.by_key.setdefault(str(key), item)
        return item

    def resolve(self, ref) -> int:
        if isinstance(ref, dict) and set(ref) == {"ref"}:
            ref = ref["ref"]
        if isinstance(ref, dict):
            item = self._add(ref, keys=[ref.get("id")])
        elif str(ref) in self.by_key:
            item = self.by_key[str(ref)]
        elif isinstance(ref, str) and not ref.isdigit() and " " in ref:
            item = self._add({"name": ref}, keys=[ref])  # a name written inline
        else:
            raise BuildError(f"author affiliation {ref!r} is not in `affiliations:`",
                             self.reporter.file, self.reporter.locate(str(ref)))
        key = id(item)
        if key not in self.used:
            self.used.append(key)
        return key

    def _item(self, key: int) -> dict:
        return next(item for item in self.all if id(item) == key)

    def index(self, key: int) -> int:
        return self.used.index(key) + 1

    def text(self, key: int) -> str:
        item = self._item(key)
        return ", ".join(str(item[part]) for part in AFFILIATION_PARTS[1:]
                         if item.get(part))


# -- writing ---------------------------------------------------------------

def _author_note(author: dict, registry: _Affiliations) -> list:
    parts = [", ".join(p for p in [author["position"], *(
        registry.text(aff) for aff in author["affiliations"])] if p)]
    if author["email"]:
        parts += [". E-mail: ", _mailto(author["email"])]
    if author["corresponding"]:
        parts += [" (corresponding author)"]
    parts.append(".")
    return parts


def _note(mark: str, parts: list) -> pf.MetaMap:
    return pf.MetaMap(mark=pf.MetaString(mark),
                      text=pf.MetaInlines(*_inlines(parts)))


def _mailto(email: str) -> pf.Link:
    return pf.Link(pf.Str(email), url=f"mailto:{email}")


def _text(text: str) -> list[pf.Inline]:
    """Plain text as inlines: words and spaces."""
    inlines: list[pf.Inline] = []
    for n, word in enumerate(text.split(" ")):
        if n:
            inlines.append(pf.Space())
        if word:
            inlines.append(pf.Str(word))
    return inlines


def _inlines(parts: list) -> list[pf.Inline]:
    out: list[pf.Inline] = []
    for part in parts:
        out.extend(_text(part) if isinstance(part, str) else [part])
    return out


if __name__ == "__main__":
    main()
