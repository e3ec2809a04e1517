"""Normalise the author metadata forms manuscripts use into one shape.

Manuscripts name their authors in several ways, and each output needs the
same facts (names, ORCIDs, e-mail, the corresponding author, equal
contributions, affiliations, author notes). This filter reads any of:

- a plain list, `author: [A. Author, B. Author]`, or one string;
- Quarto's `author:`/`authors:` maps (`name` as a string or as
  `{given, family}`, `orcid`, `email`, `corresponding`, `equal-contributor`,
  also under `attributes:`, `affiliations:` holding `{ref: id}`, inline
  affiliation maps, or ids) with a top-level `affiliations:` list of
  `{id, name, department, city, country, ror, ...}`;
- Open Journals' (JOSS) `authors:` with `affiliation: "1, 2"`,
  `equal-contrib: true`, `corresponding: true` and a top-level
  `affiliations:` list of `{name, index, ror}`;
- names in parts, as JOSS and CSL write them: `given-names`/`given`,
  `surname`/`family`, `dropping-particle`, `non-dropping-particle`,
  `suffix` (at the author's top level or under `name:`), or a literal name
  (`name: {literal: ...}`) printed as written;
- author notes marked `note-mark: "*"` with a `position`, as journals that
  print "* Assistant Professor, Department ..., e-mail" at the page foot;
- CRediT contributions, Quarto's `roles:` (also `role:`): one role or a
  list, each a string or `{role: degree}` (`investigation: lead`), spelled
  in any case and with hyphens, dashes or "and" ("writing-original-draft",
  "Writing - Review and Editing", "conceptualisation"); written out in
  Quarto's vocabulary ("writing – original draft").

and writes, for the templates:

- `author`: the plain list of names (pandoc's writers put it into
  `<meta name="author">`, the EPUB's `dc:creator` and the PDF's Author);
- `byline`: `{name, mark, orcid, orcid-url, orcid-label}` per author
  (`orcid-label`, "ORCID record of NAME", is HTML); without note
  marks, `mark` is the author's affiliation numbers followed by `†` (equal
  contribution) and `*` (corresponding author);
- `author-notes`: `{mark, text, class}` per note: a note-marked author's
  position, affiliation and e-mail (no `class`: the templates set them as
  author notes, footnotes of the PDF's first page); or else one numbered
  affiliation each (`class: affiliation`), then what `†` and `*` mean
  (`equal-contrib`, `corresponding`), printed under the names;
- `authors-plain`: the normalised facts as plain strings (`name`, `given`,
  `family`, `email`, `orcid`, `affiliations`, `affiliation-rors`, and,
  where given, `id`, `position`, `corresponding`, `equal-contrib`, `roles`;
  `affiliation-parts`, one map of `department`, `name`, `city`, `country`
  ... per affiliation, where any has more than a name),
  for the scholarly metadata in the HTML head (`pubbuild.scholarly`), the
  submission's title page (`pubbuild.titlepage`) and the JATS front
  (`pubbuild.jatsmeta`).

An affiliation reference that names no affiliation is an error; an ORCID or
ROR id that is malformed, an affiliation no author names, or a role that is
not one of CRediT's fourteen, is a warning.

Metadata options: none; `authors`, `affiliations` and `affiliation` are
consumed (removed) so that they don't leak into other writers.

Formats: all; runs before citeproc (order relative to it does not matter).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/authors.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context, pandoc
from pubbuild.diagnostics import BuildError, Reporter

NAME = "authors"

# The parts of an affiliation, in the order a postal address prints them.
AFFILIATION_PARTS = ("position", "department", "name", "address", "city",
                     "region", "state", "postal-code", "country")
# The parts of a name, in the order they print ("Ludwig van Beethoven",
# "Martin Luther King Jr."), each with the other spellings manuscripts use.
NAME_PARTS = (("given", "given-names"), ("dropping-particle",),
              ("non-dropping-particle",), ("family", "surname"), ("suffix",))
ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
ROR = re.compile(r"^(?:https?://ror\.org/)?(0[a-z0-9]{6}\d{2})$", re.IGNORECASE)
# CRediT's fourteen roles as Quarto writes them, by a key that ignores case,
# punctuation, British spelling and "and" for "&".
CREDIT_ROLES = ("conceptualization", "data curation", "formal analysis",
                "funding acquisition", "investigation", "methodology",
                "project administration", "resources", "software", "supervision",
                "validation", "visualization", "writing – original draft",
                "writing – review & editing")
CREDIT_DEGREES = ("lead", "equal", "supporting")
# Without note marks, the byline marks these after the affiliation numbers.
EQUAL_MARK, CORRESPONDING_MARK = "†", "*"


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
    reporter = doc.context.reporter
    registry = _Affiliations(meta.get("affiliations", []), reporter)
    authors = [_author(raw, registry, reporter) for raw in raw_authors]
    registry.warn_unused()
    for key in ("authors", "affiliations", "affiliation"):
        if key in doc.metadata:
            del doc.metadata[key]
    doc.metadata["author"] = pf.MetaList(
        *(pf.MetaInlines(*pandoc.inlines(a["name"])) for a in authors))
    notes_by_mark = any(a["mark"] for a in authors)
    if notes_by_mark:
        byline = [_byline(a, a["mark"] or ",".join(
            str(registry.index(aff)) for aff in a["affiliations"])) for a in authors]
        notes = [_note(a["mark"], _author_note(a, registry))
                 for a in authors if a["mark"]]
    else:
        byline = [_byline(a, _numbered_mark(a, registry)) for a in authors]
        notes = _numbered_notes(authors, registry, reporter)
    doc.metadata["byline"] = pf.MetaList(*byline)
    if notes:
        doc.metadata["author-notes"] = pf.MetaList(*notes)
    doc.metadata["authors-plain"] = pf.MetaList(
        *(_plain(a, registry) for a in authors))


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    # Metadata only: no action to walk the body with (it would visit every
    # element for nothing).
    return pf.run_filters([], prepare=prepare, finalize=finalize, doc=doc)


# -- reading the forms -----------------------------------------------------

def _author(raw, registry: _Affiliations, reporter: Reporter) -> dict:
    if not isinstance(raw, dict):
        raw = {"name": raw}
    name, given, family = _name(raw)
    if not name:
        raise BuildError("an author has no name", reporter.file,
                         reporter.locate("author"))
    attributes = raw.get("attributes") if isinstance(raw.get("attributes"),
                                                     dict) else {}
    affiliations = raw.get("affiliations", raw.get("affiliation", []))
    if isinstance(affiliations, str | int) and not isinstance(affiliations, bool):
        # JOSS: affiliation: "1, 2"; Quarto also allows one id or name.
        affiliations = [part.strip() for part in str(affiliations).split(",")]
    if isinstance(affiliations, dict):
        affiliations = [affiliations]
    return {
        "name": name, "given": given, "family": family,
        "mark": str(raw.get("note-mark", "") or ""),
        "orcid": _orcid(raw.get("orcid"), name, reporter),
        "email": str(raw.get("email", "") or "") or None,
        # Quarto writes both under `attributes:` too; JOSS says equal-contrib.
        "corresponding": _flag(raw, attributes, "corresponding"),
        "equal": _flag(raw, attributes, "equal-contrib", "equal-contributor"),
        "position": str(raw.get("position", "") or ""),
        "affiliations": [registry.resolve(aff) for aff in affiliations],
        "roles": _roles(raw.get("roles", raw.get("role")), name, reporter),
        "id": str(raw.get("id", "") or ""),  # what `funding:` refers to
    }


def _name(raw: dict) -> tuple[str, str, str]:
    """The name as printed, the given names, and the family name with its
    non-dropping particle (what a running head or a citation sorts by)."""
    name = raw.get("name", "")
    parts = name if isinstance(name, dict) else raw
    literal = parts.get("literal") or raw.get("literal")
    found = {spellings[0]: " ".join(str(parts.get(s) or raw.get(s) or "").split())
             for spellings in NAME_PARTS for s in spellings
             if parts.get(s) or raw.get(s)}
    family = " ".join(found[k] for k in ("non-dropping-particle", "family")
                      if found.get(k))
    if literal:  # an organisation, or a name not to be taken apart
        return " ".join(str(literal).split()), "", ""
    if isinstance(name, str | int) and str(name).strip():
        written = " ".join(str(name).split())
        # Parts, where given too, say what a written name leaves to guessing.
        return written, found.get("given", ""), family
    printed = " ".join(found[k] for k, *_ in NAME_PARTS if found.get(k))
    return printed, found.get("given", ""), family


def _flag(raw: dict, attributes: dict, *keys: str) -> bool:
    return any(raw.get(key) is True or attributes.get(key) is True for key in keys)


def _role_key(text: str) -> str:
    key = re.sub(r"[^a-z]+", " ", text.lower().replace("&", " and ")).split()
    key = [w for w in key if w != "and"]
    # British spellings, and "Writing - Original Draft Preparation" (Elsevier)
    words = {"conceptualisation": "conceptualization",
             "visualisation": "visualization", "preparation": ""}
    return " ".join(w for w in (words.get(w, w) for w in key) if w)


ROLE_KEYS = {_role_key(role): role for role in CREDIT_ROLES}


def _roles(value, name: str, reporter: Reporter) -> list[str]:
    """CRediT roles in Quarto's vocabulary, "role (degree)" where a degree
    is given; an unknown role is left out, with a warning."""
    if value is None or value == "":
        return []
    found = []
    for item in value if isinstance(value, list) else [value]:
        pairs = item.items() if isinstance(item, dict) else [(item, None)]
        for role, degree in pairs:
            if role in ("role", "name") and isinstance(degree, str):
                role, degree = degree, None  # {role: investigation}
            written = " ".join(str(role).split())
            role = ROLE_KEYS.get(_role_key(written))
            if role is None:
                reporter.warning(
                    f"{written!r} (a role of {name}) is not a CRediT role: left "
                    f"out (known: {', '.join(CREDIT_ROLES)})",
                    reporter.locate(written), source=NAME)
                continue
            degree = str(degree or "").strip().lower()
            if degree and degree not in CREDIT_DEGREES:
                reporter.warning(
                    f"{degree!r} (the degree of {name}'s role {role!r}) is not "
                    f"one of {', '.join(CREDIT_DEGREES)}: left out",
                    reporter.locate(degree), source=NAME)
                degree = ""
            entry = f"{role} ({degree})" if degree else role
            if entry not in found:
                found.append(entry)
    return found


def _orcid(value, name: str, reporter: Reporter) -> str | None:
    if not value:
        return None
    found = ORCID.search(str(value))
    problem = None
    if not found:
        problem = "is not an ORCID iD (0000-0000-0000-0000)"
    elif not _orcid_checksum_ok(found.group(1)):
        problem = "has a wrong check digit (a typing error?)"
    if problem:
        reporter.warning(f"the ORCID {str(value)!r} of {name} {problem}: "
                         "shown without it", reporter.locate(str(value)),
                         source=NAME)
        return None
    return found.group(1).upper()


def _orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 MOD 11-2, as ORCID computes its last character."""
    digits = orcid.replace("-", "").upper()
    total = 0
    for digit in digits[:-1]:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


class _Affiliations:
    """The top-level affiliations list, plus any defined inline by authors."""

    def __init__(self, raw, reporter: Reporter):
        self.reporter = reporter
        self.by_key: dict[str, dict] = {}
        self.used: list[int] = []  # ids of affiliations in order of first use
        self.all: list[dict] = []
        self.listed: list[dict] = []  # the top-level list, to warn of unused
        self.warned: set[int] = set()  # affiliations with a malformed ROR
        for n, item in enumerate(raw if isinstance(raw, list) else [raw], 1):
            item = item if isinstance(item, dict) else {"name": item}
            self.listed.append(item)
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

    def warn_unused(self) -> None:
        for item in self.listed:
            if id(item) not in self.used:
                text = self.text(id(item))
                self.reporter.warning(
                    f"affiliation {text!r} is listed but no author names it: "
                    "not printed", self.reporter.locate(
                        str(item.get("name") or text)), source=NAME)

    def _item(self, key: int) -> dict:
        return next(item for item in self.all if id(item) == key)

    def index(self, key: int) -> int:
        return self.used.index(key) + 1

    def text(self, key: int) -> str:
        item = self._item(key)
        return ", ".join(str(item[part]) for part in AFFILIATION_PARTS[1:]
                         if item.get(part))

    def parts(self, key: int) -> dict[str, str]:
        """The affiliation's parts as given (`department`, `name`, `city`,
        ...), for writers that tag them (JATS `<aff>`)."""
        item = self._item(key)
        return {part: " ".join(str(item[part]).split())
                for part in AFFILIATION_PARTS[1:] if item.get(part)}

    def ror(self, key: int) -> str:
        """The affiliation's ROR as a URL, or "" (warned once if malformed)."""
        item = self._item(key)
        value = str(item.get("ror", "") or "").strip()
        found = ROR.match(value)
        if value and not found and key not in self.warned:
            self.warned.add(key)
            self.reporter.warning(f"{value!r} is not a ROR id (https://ror.org/"
                                  "0xxxxxxNN): left out", self.reporter.locate(value),
                                  source=NAME)
        return f"https://ror.org/{found.group(1).lower()}" if found else ""


# -- writing ---------------------------------------------------------------

def _byline(author: dict, mark: str) -> pf.MetaMap:
    entry = {"name": pf.MetaInlines(*pandoc.inlines(author["name"]))}
    if mark:
        entry["mark"] = pf.MetaString(mark)
    if author["orcid"]:
        entry["orcid"] = pf.MetaString(author["orcid"])
        entry["orcid-url"] = pf.MetaString(f"https://orcid.org/{author['orcid']}")
        # The link's accessible name (its only content is the icon), escaped
        # here: the writers leave a straight quote in text as it is, and it
        # would end the attribute.
        entry["orcid-label"] = pf.MetaInlines(pf.RawInline(html.escape(
            f"ORCID record of {author['name']}", quote=True), format="html"))
    return pf.MetaMap(**entry)


def _plain(author: dict, registry: _Affiliations) -> pf.MetaMap:
    entry = {key: pf.MetaString(author[key] or "")
             for key in ("name", "given", "family", "email", "orcid")
             if author[key] or key in ("name", "email", "orcid")}
    entry["affiliations"] = pf.MetaList(*(pf.MetaString(registry.text(aff))
                                          for aff in author["affiliations"]))
    rors = [registry.ror(aff) for aff in author["affiliations"]]
    if any(rors):  # one per affiliation, "" where it has none
        entry["affiliation-rors"] = pf.MetaList(*map(pf.MetaString, rors))
    parts = [registry.parts(aff) for aff in author["affiliations"]]
    if any(set(p) - {"name"} for p in parts):  # one map per affiliation
        entry["affiliation-parts"] = pf.MetaList(*(pf.MetaMap(**{
            key: pf.MetaString(value) for key, value in p.items()}) for p in parts))
    if author["id"]:
        entry["id"] = pf.MetaString(author["id"])
    if author["position"]:
        entry["position"] = pf.MetaString(author["position"])
    for key, flag in (("corresponding", "corresponding"), ("equal-contrib", "equal")):
        if author[flag]:
            entry[key] = pf.MetaBool(True)
    if author["roles"]:
        entry["roles"] = pf.MetaList(*map(pf.MetaString, author["roles"]))
    return pf.MetaMap(**entry)


def _numbered_mark(author: dict, registry: _Affiliations) -> str:
    """"1,2†*": the author's affiliations, then equal contribution and
    correspondence."""
    mark = ",".join(str(registry.index(aff)) for aff in author["affiliations"])
    mark += EQUAL_MARK if author["equal"] else ""
    return mark + (CORRESPONDING_MARK if author["corresponding"] else "")


def _numbered_notes(authors: list[dict], registry: _Affiliations,
                    reporter: Reporter) -> list[pf.MetaMap]:
    """One note per affiliation, then what the byline's symbols mean."""
    notes = [_note(str(registry.index(aff)), [*pandoc.inlines(registry.text(aff)), "."],
                   "affiliation") for aff in registry.used]
    equal = [a for a in authors if a["equal"]]
    if len(equal) == 1:
        reporter.warning(f"{equal[0]['name']} alone is marked as an equal "
                         "contributor (equal-contrib: true)",
                         reporter.locate("equal-contrib", "equal-contributor"),
                         source=NAME)
    if equal:
        notes.append(_note(EQUAL_MARK, ["These authors contributed equally."],
                           "equal-contrib"))
    corresponding = [a for a in authors if a["corresponding"]]
    if corresponding:
        parts = ["Corresponding author" + ("s" if len(corresponding) > 1 else "")
                 + ": "]
        for n, author in enumerate(corresponding):
            parts += ["; "] if n else []
            parts.append(author["name"])
            if author["email"]:
                parts += [" (", _mailto(author["email"]), ")"]
        notes.append(_note(CORRESPONDING_MARK, [*parts, "."], "corresponding"))
    return notes


def _author_note(author: dict, registry: _Affiliations) -> list:
    parts = [", ".join(p for p in [author["position"], *(
        registry.text(aff) for aff in author["affiliations"])] if p)]
    if author["email"]:
        parts += [". E-mail: ", _mailto(author["email"])]
    if author["corresponding"]:
        parts += [" (corresponding author)"]
    if author["equal"]:
        parts += [" (equal contribution)"]
    parts.append(".")
    return parts


def _note(mark: str, parts: list, kind: str = "") -> pf.MetaMap:
    entry = {"mark": pf.MetaString(mark), "text": pf.MetaInlines(*_inlines(parts))}
    if kind:  # the templates' class for it
        entry["class"] = pf.MetaString(kind)
    return pf.MetaMap(**entry)


def _mailto(email: str) -> pf.Link:
    return pf.Link(pf.Str(email), url=f"mailto:{email}")




def _inlines(parts: list) -> list[pf.Inline]:
    out: list[pf.Inline] = []
    for part in parts:
        out.extend(pandoc.inlines(part) if isinstance(part, str) else [part])
    return out


if __name__ == "__main__":
    main()
