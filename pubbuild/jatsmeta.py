"""The JATS front matter: journal-meta and article-meta from the metadata.

Pandoc's `jats_publishing` template has variables for most of the front
matter (`journal.*`, `author` maps with name parts, ORCID and `cor-id`,
`affiliation` maps with a ROR, `article.author-notes`, `date` parts,
`copyright`, `license`, `tags`). `prepare` fills them, on the JATS writer's
private copy of the document, from what the filters left (`authors-plain`,
`keywords`, `abstract`, `funding`) and from the build's one date. `finish`
then says in the written XML what the template cannot: the JATS 1.3
DOCTYPE, the `ror` identifier type JATS4R recommends, a department inside
its `<institution-wrap>`, and no empty optional elements.

The template has one slot where JATS wants several elements: the awards
(`<award-group>`) and statements of `<funding-group>`, and the author notes
(`<fn>`: equal contribution, an author's position). `prepare` writes them
as raw JATS inside that slot (`<funding-statement>`, `<fn fn-type="con">`),
and `finish` lifts them out and links each note from its contribs
(`<xref ref-type="fn">`).

`with_journal` gives a document the journal profile's `journal:` map (its
title, ISSNs, publisher), for the submission package.

It must not know about other formats, nor about labels and cross-references
(`pubbuild.jatsxref`).
"""

from __future__ import annotations

import datetime
import re
from xml.sax.saxutils import escape

import panflute as pf

from pubbuild import pandoc, titlepage

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


DATA_AVAILABILITY = "data-availability-statement"  # its id, body -> back

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
    corresp = []
    if plain:
        authors, affiliations, corresp = _contribs(plain, _corresponding(doc))
        meta["author"] = pf.MetaList(*authors)
        if affiliations:
            meta["affiliation"] = pf.MetaList(*affiliations)
    notes = {}
    if plain and corresp:
        notes["corresp"] = pf.MetaList(*corresp)
    fns = _author_fns(doc, plain)
    if fns:
        notes["con"] = pf.MetaInlines(pf.RawInline(fns, format="jats"))
    conflict = _statement(doc, "Conflict of interest")
    if conflict:  # `finish` makes it JATS 1.2's "coi-statement"
        notes["conflict"] = conflict
    if notes:
        _article(doc)["author-notes"] = pf.MetaMap(**notes)
    _funding(doc)
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
    data = _statement(doc, "Data availability")
    if data:  # a section at the end of the body; `finish` moves it to <back>
        doc.content.append(pf.Header(pf.Str("Data"), pf.Space(), pf.Str("availability"),
                                     level=1, identifier=DATA_AVAILABILITY))
        doc.content.append(pf.Para(*data.content))
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
    for fn in root.iterfind("front/article-meta/author-notes/fn[@fn-type='conflict']"):
        fn.set("fn-type", "coi-statement")  # JATS 1.2's best practice
    for ident in root.iter("institution-id"):
        # JATS4R: the type in lower case, the id as the ror.org URL.
        if ident.get("institution-id-type", "").lower() == "ror":
            ident.set("institution-id-type", "ror")
    _data_availability(root)
    front = root.find("front")
    if front is not None:
        _lift(front)
        _department(front)
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
        parts = person.get("affiliation-parts") or [{}] * len(texts)
        ids = []
        for text, ror, part in zip(texts, rors, parts, strict=False):
            key = (str(text), str(ror))
            if key not in known:
                known[key] = str(len(known) + 1)
                affiliations.append(_affiliation(known[key], key[0], key[1], part))
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


def _affiliation(number: str, text: str, ror: str, parts: dict) -> pf.MetaMap:
    """The template's affiliation map: the institution, its department and
    place tagged where the authors filter has the parts, else the text."""
    aff = {"id": number, "name": text}
    if parts.get("name"):
        aff["name"] = parts["name"]
        if parts.get("department"):
            aff["department"] = parts["department"]
        # The template tags a city, or else lists address lines.
        lines = [parts[k] for k in ("address", "city", "region", "state",
                                    "postal-code") if parts.get(k)]
        if len(lines) > 1 or (lines and not parts.get("city")):
            aff["street-address"] = lines
        elif parts.get("city"):
            aff["city"] = parts["city"]
        if parts.get("country"):
            aff["country"] = parts["country"]
    if ror:
        aff["ror"] = ror
    return _meta(aff)


def _article(doc: pf.Doc) -> pf.MetaMap:
    """The template's `article` map, made if the manuscript has none."""
    if not isinstance(doc.metadata.get("article"), pf.MetaMap):
        doc.metadata["article"] = pf.MetaMap()
    return doc.metadata["article"]


# The author notes' ids: `finish` links each from its contribs.
EQUAL_FN = "fn-equal"
POSITION_FN = "fn-author-{}"  # the contrib's position, from 1


def _author_fns(doc: pf.Doc, plain: list[dict]) -> str:
    """The author notes the template has no variable for, as raw JATS."""
    fns = []
    byline = doc.get_metadata("byline", default=[]) or []
    notes = doc.get_metadata("author-notes", default=[]) or []
    if any(str(a.get("equal-contrib", "")).lower() in ("true", "yes")
           for a in plain):
        # The byline's symbol for it (†), where the byline has one.
        mark = next((str(n.get("mark")) for n in notes
                     if n.get("class") == "equal-contrib"), "")
        label = f"<label>{escape(mark)}</label>" if mark else ""
        fns.append(f'<fn fn-type="equal" id="{EQUAL_FN}">{label}<p>These authors '
                   "contributed equally to this work.</p></fn>")
    # Note-marked authors: the byline's mark is the note's.
    marks = {str(n.get("mark")) for n in notes if not n.get("class")}
    for number, person in enumerate(plain, 1):
        if not person.get("position"):
            continue
        mark = (str(byline[number - 1].get("mark", "")) if number <= len(byline)
                else "")
        label = f"<label>{escape(mark)}</label>" if mark in marks else ""
        fns.append(f'<fn fn-type="other" id="{POSITION_FN.format(number)}">{label}'
                   f"<p>{escape(str(person['position']))}</p></fn>")
    return "".join(fns)


def _statement(doc: pf.Doc, title: str) -> pf.MetaInlines | None:
    """A statement under one of the metadata keys pubbuild.titlepage reads
    for `title`, as the inlines of one `<p>` (paragraphs split in it)."""
    keys = next(keys for name, keys, _ in titlepage.STATEMENTS if name == title)
    value = next((doc.metadata[k] for k in keys if k in doc.metadata), None)
    if isinstance(value, pf.MetaInlines):
        return pf.MetaInlines(*value.content)
    if isinstance(value, pf.MetaString):
        return pf.MetaInlines(pf.Str(value.text)) if value.text.strip() else None
    if not isinstance(value, pf.MetaBlocks):
        return None
    inlines: list[pf.Inline] = []
    for block in value.content:
        if inlines:
            inlines.append(pf.RawInline("</p><p>", format="jats"))
        inlines += (list(block.content) if isinstance(block, (pf.Para, pf.Plain))
                    else [pf.Str(pf.stringify(block))])
    return pf.MetaInlines(*inlines) if inlines else None


def _funding(doc: pf.Doc) -> None:
    """`<funding-group>` from Quarto's `funding:` (as pubbuild.titlepage
    reads it): the awards, then the statements, as raw JATS in the
    template's `article.funding-statement`."""
    value = doc.get_metadata("funding", default=None)
    if value in (None, "", []):
        return
    # Recipients by author id or name, to give their name parts.
    plain = doc.get_metadata("authors-plain", default=[]) or []
    names = {str(a.get(key)): a for key in ("name", "id") for a in plain
             if isinstance(a, dict) and a.get(key)}
    statements, awards = titlepage.funding_parts(value)
    xml = "".join(_award(n, award, names) for n, award in enumerate(awards, 1))
    xml += "".join(f"<funding-statement>{escape(text)}</funding-statement>"
                   for text in statements)
    if xml:
        _article(doc)["funding-statement"] = pf.MetaInlines(
            pf.RawInline(xml, format="jats"))


def _award(number: int, award: dict, names: dict[str, dict]) -> str:
    """One `<award-group>`: funders (with a ROR or funder DOI where given),
    award id and name, recipients and investigators."""
    xml = [f'<award-group id="award-{number}">']
    for source in _list(award.get("source")):
        source = source if isinstance(source, dict) else {"text": source}
        name = str(source.get("text") or source.get("name") or "")
        ids = []
        if source.get("ror"):
            ror = str(source["ror"]).strip()
            ror = ror if ror.startswith("http") else f"https://ror.org/{ror}"
            ids.append(("ror", ror))
        if source.get("doi"):  # the Crossref Funder Registry's
            ids.append(("doi", str(source["doi"])))
        ids_xml = "".join(f'<institution-id institution-id-type="{kind}">'
                          f"{escape(ident)}</institution-id>" for kind, ident in ids)
        if name or ids_xml:
            xml.append(f"<funding-source><institution-wrap><institution>"
                       f"{escape(name)}</institution>{ids_xml}</institution-wrap>"
                       "</funding-source>")
    if award.get("id"):
        xml.append(f"<award-id>{escape(str(award['id']))}</award-id>")
    if award.get("name"):
        xml.append(f"<award-name>{escape(str(award['name']))}</award-name>")
    if award.get("description"):
        xml.append(f"<award-desc>{escape(str(award['description']))}</award-desc>")
    for key, element in (("recipient", "principal-award-recipient"),
                         ("investigator", "principal-investigator")):
        for person in _list(award.get(key)):
            xml.append(f"<{element}>{_person(person, names)}</{element}>")
    return "".join(xml) + "</award-group>"


def _person(value, names: dict[str, dict]) -> str:
    """A recipient: an author by `ref` (with name parts), or a name."""
    if isinstance(value, dict):
        author = names.get(str(value.get("ref", "") or ""), {})
        if value.get("name"):
            author = {"name": str(value["name"])}
    else:
        author = names.get(str(value), {"name": str(value)})
    if author.get("family"):
        return (f"<name><surname>{escape(author['family'])}</surname><given-names>"
                f"{escape(author.get('given', ''))}</given-names></name>")
    return f"<string-name>{escape(str(author.get('name', '')))}</string-name>"


def _list(value) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


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


def _data_availability(root) -> None:
    """The data availability statement as JATS4R places it: `<sec
    sec-type="data-availability">` in `<back>`, after the references."""
    from lxml import etree

    section = root.find(f"body/sec[@id='{DATA_AVAILABILITY}']")
    if section is None:
        return
    section.set("sec-type", "data-availability")
    back = root.find("back")
    if back is None:
        back = etree.SubElement(root, "back")
    back.append(section)


def _drop_empty(front) -> None:
    for name in _OPTIONAL:
        for element in list(front.iter(name)):
            if not "".join(element.itertext()).strip():
                element.getparent().remove(element)


def _lift(front) -> None:
    """The awards, statements and notes `prepare` wrote into one template
    slot, as elements of their own; each note linked from its contribs."""
    for carrier in list(front.iter("funding-statement")):
        if carrier.find("award-group") is not None or carrier.find(
                "funding-statement") is not None:
            _replace(carrier, carrier)
    for carrier in list(front.iter("fn")):
        paragraph = carrier.find("p")
        if (carrier.get("fn-type") == "con" and paragraph is not None
                and paragraph.find("fn") is not None):
            _replace(carrier, paragraph)
    contribs = front.findall("article-meta/contrib-group/contrib")
    for fn in front.iterfind("article-meta/author-notes/fn[@id]"):
        ident = fn.get("id")
        if ident == EQUAL_FN:
            linked = [c for c in contribs if c.get("equal-contrib") == "yes"]
        else:
            linked = [c for n, c in enumerate(contribs, 1)
                      if ident == POSITION_FN.format(n)]
        for contrib in linked:
            _link(contrib, ident, fn.findtext("label") or "")


def _replace(carrier, holder) -> None:
    """`carrier` gives way to the elements inside `holder`."""
    parent, at = carrier.getparent(), carrier.getparent().index(carrier)
    for offset, child in enumerate(list(holder)):
        child.tail = None
        parent.insert(at + offset, child)
    parent.remove(carrier)


def _link(contrib, rid: str, mark: str) -> None:
    from lxml import etree

    xref = etree.Element("xref", {"ref-type": "fn", "rid": rid})
    if mark:
        etree.SubElement(xref, "sup").text = mark
    # After the affiliations' xrefs, before the correspondence's.
    corresp = contrib.find("xref[@ref-type='corresp']")
    if corresp is not None:
        corresp.addprevious(xref)
    else:
        contrib.append(xref)
    xref.tail = "\n"


def _department(front) -> None:
    """JATS4R: the department inside its institution's `<institution-wrap>`
    (pandoc's template writes it before)."""
    for dept in list(front.iterfind(".//aff/institution[@content-type='dept']")):
        wrap = dept.getnext()
        if wrap is not None and wrap.tag == "institution-wrap":
            dept.tail = wrap.text
            wrap.insert(0, dept)
