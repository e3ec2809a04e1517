"""The JATS front matter: journal-meta and article-meta from the metadata.

Pandoc's `jats_publishing` template has variables for most of the front
matter (`journal.*`, `author` maps with name parts, ORCID and `cor-id`,
`affiliation` maps with a ROR, `article.author-notes`, `date` parts,
`copyright`, `license`, `tags`). `prepare` fills them, on the JATS writer's
private copy of the document, from what the filters left (`authors-plain`,
`keywords`, `abstract`) and from the build's one date. `finish` then says
in the written XML what the template cannot: the JATS 1.3 DOCTYPE, the
`ror` identifier type JATS4R recommends, and no empty optional elements.

`with_journal` gives a document the journal profile's `journal:` map (its
title, ISSNs, publisher), for the submission package.

It must not know about other formats, nor about labels and cross-references
(`pubbuild.jatsxref`).
"""

from __future__ import annotations

import datetime
import re

import panflute as pf

from pubbuild import pandoc

# The DTD the written file declares (schemas/jats/catalog.xml maps it).
PUBLIC_ID = "-//NLM//DTD JATS (Z39.96) Journal Publishing DTD v1.3 20210610//EN"
SYSTEM_ID = "JATS-journalpublishing1-3.dtd"
DTD_VERSION = "1.3"

# A journal profile's `journal:` keys -> the template's `journal.*` names.
JOURNAL_KEYS = {"title": "title", "abbrev-title": "abbrev-title",
                "issn": "pissn", "pissn": "pissn", "eissn": "eissn",
                "publisher": "publisher-name", "publisher-name": "publisher-name",
                "publisher-loc": "publisher-loc", "id": "publisher-id",
                "publisher-id": "publisher-id", "nlm-ta": "nlm-ta"}

_DOCTYPE = re.compile(rb"<!DOCTYPE article PUBLIC \"[^\"]*\"\s*\"[^\"]*\">")
_ROOT = re.compile(rb"<article[\s>]")


def with_journal(doc: pf.Doc, journal: dict | None) -> pf.Doc:
    """A copy of `doc` whose `journal` metadata is the profile's `journal:`
    map (over any the manuscript gives); `doc` itself when there is none."""
    if not journal:
        return doc
    doc = pandoc.copy(doc)
    given = doc.get_metadata("journal", default={}) or {}
    merged = {key: str(value) for key, value in given.items()
              if isinstance(value, (str, int))}
    for key, value in journal.items():
        if value not in (None, "") and key in JOURNAL_KEYS:
            merged[JOURNAL_KEYS[key]] = str(value)
    doc.metadata["journal"] = pf.MetaMap(
        **{key: pf.MetaString(value) for key, value in merged.items()})
    return doc


def prepare(doc: pf.Doc, when: datetime.datetime) -> pf.Doc:
    """Fill the template's variables on `doc`, the writer's private copy."""
    meta = doc.metadata
    _journal(doc)
    plain = doc.get_metadata("authors-plain", default=[]) or []
    if plain:
        authors, affiliations, corresp = _contribs(plain, _corresponding(doc))
        meta["author"] = pf.MetaList(*authors)
        if affiliations:
            meta["affiliation"] = pf.MetaList(*affiliations)
        if corresp:
            article = meta["article"] if isinstance(meta.get("article"),
                                                    pf.MetaMap) else pf.MetaMap()
            article["author-notes"] = pf.MetaMap(corresp=pf.MetaList(*corresp))
            meta["article"] = article
    # The build's one date (pubbuild.clock) is the publication date.
    meta["date"] = pf.MetaMap(
        year=pf.MetaString(f"{when.year:04d}"),
        month=pf.MetaString(f"{when.month:02d}"), day=pf.MetaString(f"{when.day:02d}"),
        **{"iso-8601": pf.MetaString(when.date().isoformat())})
    keywords = doc.get_metadata("keywords", default=None)
    if keywords and "tags" not in meta:
        keywords = keywords if isinstance(keywords, list) else [keywords]
        meta["tags"] = pf.MetaList(*(pf.MetaString(str(k)) for k in keywords))
    # An abstract on one line is inlines; <abstract> holds paragraphs.
    abstract = meta.get("abstract")
    if isinstance(abstract, (pf.MetaInlines, pf.MetaString)):
        inlines = (list(abstract.content) if isinstance(abstract, pf.MetaInlines)
                   else [pf.Str(abstract.text)])
        meta["abstract"] = pf.MetaBlocks(pf.Para(*inlines))
    _copyright(doc)
    _references(doc)
    return doc


def finish(xml: bytes) -> bytes:
    """The written JATS as Journal Publishing 1.3, with the front matter
    the template cannot write."""
    from lxml import etree

    start = _ROOT.search(xml)
    if start is None:
        return xml
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False,
                             strip_cdata=False, remove_blank_text=False)
    root = etree.fromstring(xml, parser)
    root.set("dtd-version", DTD_VERSION)
    for ident in root.iter("institution-id"):
        # JATS4R: the type in lower case, the id as the ror.org URL.
        if ident.get("institution-id-type", "").lower() == "ror":
            ident.set("institution-id-type", "ror")
    front = root.find("front")
    if front is not None:
        _drop_empty(front)
    prolog = _DOCTYPE.sub(
        f'<!DOCTYPE article PUBLIC "{PUBLIC_ID}" "{SYSTEM_ID}">'.encode(),
        xml[:start.start()])
    body = etree.tostring(root, encoding="utf-8", xml_declaration=False)
    return prolog + body + b"\n"


# -- the variables ---------------------------------------------------------

def _journal(doc: pf.Doc) -> None:
    """The template's `journal.*` from a `journal:` map in its own names or
    a profile's (`issn`, `publisher`)."""
    given = doc.get_metadata("journal", default=None)
    if not isinstance(given, dict):
        return
    names = {}
    for key, value in given.items():
        if key in JOURNAL_KEYS and isinstance(value, (str, int)) and str(value):
            names[JOURNAL_KEYS[key]] = str(value)
    doc.metadata["journal"] = pf.MetaMap(
        **{key: pf.MetaString(value) for key, value in names.items()})


def _corresponding(doc: pf.Doc) -> set[int]:
    """Which authors (by position) are corresponding authors."""
    plain = doc.get_metadata("authors-plain", default=[]) or []
    flagged = {i for i, a in enumerate(plain)
               if str(a.get("corresponding", "")).lower() in ("true", "yes")}
    if flagged or any("corresponding" in a for a in plain):
        return flagged
    # Until `authors-plain` says so: the byline's corresponding mark, or an
    # author note that calls its author the corresponding one.
    byline = doc.get_metadata("byline", default=[]) or []
    notes = doc.get_metadata("author-notes", default=[]) or []
    if any(n.get("class") == "corresponding" for n in notes):
        return {i for i, b in enumerate(byline) if "*" in str(b.get("mark", ""))}
    marked = {str(n.get("mark")) for n in notes
              if "corresponding author" in str(n.get("text", ""))}
    return {i for i, b in enumerate(byline) if b.get("mark") and
            str(b.get("mark")) in marked}


def _contribs(plain: list[dict], corresponding: set[int]):
    """(author maps, affiliation maps, corresp maps) for the template."""
    authors, affiliations, corresp = [], [], []
    known: dict[tuple[str, str], str] = {}
    for number, person in enumerate(plain):
        entry = {}
        family, given = person.get("family", ""), person.get("given", "")
        if family:
            entry["surname"] = pf.MetaString(family)
            entry["given-names"] = pf.MetaString(given)
        else:
            entry["name"] = pf.MetaString(person.get("name", ""))
        if person.get("orcid"):
            entry["orcid"] = pf.MetaString(f"https://orcid.org/{person['orcid']}")
        if person.get("email"):
            entry["email"] = pf.MetaString(person["email"])
        if str(person.get("equal-contrib", "")).lower() in ("true", "yes"):
            entry["equal-contrib"] = pf.MetaBool(True)
        if person.get("roles"):
            entry["roles"] = pf.MetaList(*map(_credit, person["roles"]))
        texts = person.get("affiliations") or []
        rors = person.get("affiliation-rors") or [""] * len(texts)
        ids = []
        for text, ror in zip(texts, rors, strict=False):
            key = (str(text), str(ror))
            if key not in known:
                known[key] = str(len(known) + 1)
                aff = {"id": pf.MetaString(known[key]),
                       "name": pf.MetaString(key[0])}
                if ror:
                    aff["ror"] = pf.MetaString(key[1])
                affiliations.append(pf.MetaMap(**aff))
            ids.append(pf.MetaString(known[key]))
        if ids:
            entry["affiliation"] = pf.MetaList(*ids)
        if number in corresponding and person.get("email"):
            cor = str(len(corresp) + 1)
            entry["cor-id"] = pf.MetaString(cor)
            corresp.append(pf.MetaMap(id=pf.MetaString(cor),
                                      email=pf.MetaString(person["email"])))
        authors.append(pf.MetaMap(**entry))
    return authors, affiliations, corresp


def _credit(role: str) -> pf.MetaMap:
    """A CRediT role as the authors filter writes it ("investigation (lead)")
    as the template's `<role vocab="credit">` variables."""
    found = re.fullmatch(r"(.+?)(?: \((lead|equal|supporting)\))?", str(role).strip())
    name, degree = found.group(1), found.group(2)
    entry = {"credit": pf.MetaString("-".join(re.findall(r"[a-z]+", name.lower()))),
             "credit-name": pf.MetaString(name[:1].upper() + name[1:])}
    if degree:
        entry["degree"] = pf.MetaString(degree)
    return pf.MetaMap(**entry)


def _copyright(doc: pf.Doc) -> None:
    """A copyright statement ("© 2024 The Authors") from the year and
    holder when the manuscript gives no statement."""
    given = doc.get_metadata("copyright", default=None)
    if not isinstance(given, dict) or given.get("statement"):
        return
    if given.get("holder"):
        year = f"{given['year']} " if given.get("year") else ""
        doc.metadata["copyright"]["statement"] = pf.MetaString(
            f"© {year}{given['holder']}")


def _references(doc: pf.Doc) -> None:
    """`references`: the cited works as CSL items, from which the writer's
    `element_citations` extension writes `<element-citation>`s (citeproc has
    already run, so the bibliography files are read once more here)."""
    from pathlib import Path

    cited = set()

    def collect(elem, _doc):
        if isinstance(elem, pf.Div) and elem.identifier.startswith("ref-"):
            cited.add(elem.identifier[len("ref-"):])

    doc.walk(collect)
    bibs = doc.get_metadata("bibliography", default=[]) or []
    # The writer would read the files itself, and its sandbox forbids it.
    if "bibliography" in doc.metadata:
        del doc.metadata["bibliography"]
    if not cited or "references" in doc.metadata:
        return
    items = [item for path in ([bibs] if isinstance(bibs, str) else bibs)
             for item in pandoc.csl_json(Path(path)) if item.get("id") in cited]
    if items:
        doc.metadata["references"] = _meta(items)


def _meta(value):
    """CSL JSON as metadata (numbers as strings, as YAML would give them)."""
    if isinstance(value, dict):
        return pf.MetaMap(**{key: _meta(item) for key, item in value.items()})
    if isinstance(value, list):
        return pf.MetaList(*map(_meta, value))
    if isinstance(value, bool):
        return pf.MetaBool(value)
    return pf.MetaString(str(value))


# -- the XML ---------------------------------------------------------------

# Optional elements the template writes even when they have nothing to say.
_OPTIONAL = ("publisher", "journal-title-group", "permissions", "author-notes")


def _drop_empty(front) -> None:
    for name in _OPTIONAL:
        for element in list(front.iter(name)):
            if not "".join(element.itertext()).strip():
                element.getparent().remove(element)
