"""The submission's title page: what a journal's editor needs about the
manuscript and its authors, kept apart from the (anonymisable) text.

Built from the finished document (after the filters and citeproc): the
title; every author with position, affiliations (and their ROR ids),
ORCID, e-mail, the corresponding author marked; author notes (equal
contribution, correspondence); the word counts (main text and abstract,
counted as the journal profile counts them) and the keywords; then, where
the manuscript has them, Funding, Acknowledgements, Author contributions
(CRediT: "Name: Role, Role."), Conflict of interest, Data availability,
Code availability and Licence.

The statements are read from the metadata, in Quarto's schema where it has
one (`funding:` as a statement and/or `awards` with `source`, `id`,
`recipient`/`investigator`; `license:`, `copyright:`), or else from a
section of the body with that heading ("Acknowledgements", "Funding", ...),
which stays in the manuscript as written.

This module must not know about the output formats or the command line:
it returns a pandoc document that the writers turn into PDF and Word.
"""

from __future__ import annotations

import re

import panflute as pf

from pubbuild import pandoc
from pubbuild.pandoc import inlines as _text
from pubbuild.submission import main_text_words, words

# The statements, in the order journals print them: the heading, the
# metadata keys that may hold it, and the body headings that may hold it.
STATEMENTS = (
    ("Funding", ("funding",), r"funding|funding (?:statement|information)"),
    ("Acknowledgements", ("acknowledgements", "acknowledgments", "thanks"),
     r"acknowledge?ments?"),
    ("Conflict of interest", ("conflict-of-interest", "conflicts-of-interest",
                              "competing-interests", "declaration-of-interest"),
     r"(?:conflicts? of interest|competing interests?|declarations? of interests?)"
     r"(?: statement)?"),
    ("Data availability", ("data-availability", "data-availability-statement"),
     r"data availability(?: statement)?"),
    ("Code availability", ("code-availability", "software-availability"),
     r"(?:code|software) availability(?: statement)?"),
)
ENTRY_STYLE = "text-indent: 0; text-align: left; margin-bottom: 2mm"
# What the title page must not print: it says these itself, in its body.
DROPPED = ("author", "byline", "author-notes", "correspondence", "abstract",
           "keywords", "authors-plain", *(k for _, keys, _ in STATEMENTS
                                          for k in keys))


def title_page(doc: pf.Doc) -> pf.Doc:
    """The title page of a finished document, as a document of its own."""
    source = pandoc.copy(doc)
    meta = source.get_metadata(default={})
    authors = meta.get("authors-plain") or [
        {"name": name} for name in _list(meta.get("author"))]
    page = pandoc.copy(doc)
    for key in DROPPED:
        if key in page.metadata:
            del page.metadata[key]
    blocks: list[pf.Block] = []
    if authors:
        blocks += [_heading("Authors"), *(_author(a) for a in authors)]
    notes = _author_notes(authors)
    if notes:
        blocks += [_heading("Author notes"), *notes]
    blocks += [_heading("Word counts and keywords"), *_measures(doc, meta)]
    for title, keys, heading in STATEMENTS:
        found = statement(source, meta, keys, heading)
        if found:
            blocks += [_heading(title), *found]
        if title == "Acknowledgements":  # CRediT follows them, as Elsevier's
            contributions = _contributions(authors)
            if contributions:
                blocks += [_heading("Author contributions"), *contributions]
    licence = _licence(meta)
    if licence:
        blocks += [_heading("Licence"), *licence]
    # Each paragraph in a Div of its own: a title page is a list of entries,
    # set flush left, not running text whose paragraphs the print style
    # indents; Word ignores the Divs.
    page.content = [block if isinstance(block, pf.Header) else pf.Div(
        block, classes=["title-page-entry"], attributes={"style": ENTRY_STYLE})
        for block in blocks]
    return page


# -- the authors -------------------------------------------------------------

def _author(author: dict) -> pf.Para:
    lines: list[list[pf.Inline]] = []
    first = [pf.Strong(*_text(author["name"]))]
    if author.get("corresponding"):
        first += _text(" (corresponding author)")
    lines.append(first)
    if author.get("position"):
        lines.append(_text(author["position"]))
    rors = author.get("affiliation-rors") or []
    for n, affiliation in enumerate(_list(author.get("affiliations"))):
        line = _text(affiliation)
        if n < len(rors) and rors[n]:
            line += [*_text(" (ROR "), _link(rors[n]), pf.Str(")")]
        lines.append(line)
    if author.get("orcid"):
        lines.append([*_text("ORCID: "),
                      _link(f"https://orcid.org/{author['orcid']}")])
    if author.get("email"):
        lines.append([*_text("E-mail: "), _link(f"mailto:{author['email']}",
                                                author["email"])])
    inlines: list[pf.Inline] = []
    for n, line in enumerate(lines):
        inlines += ([pf.LineBreak()] if n else []) + line
    return pf.Para(*inlines)


def _author_notes(authors: list[dict]) -> list[pf.Block]:
    notes = []
    corresponding = [a for a in authors if a.get("corresponding")]
    if corresponding:
        parts = _text("Corresponding author" + ("s" if len(corresponding) > 1
                                                 else "") + ": ")
        for n, author in enumerate(corresponding):
            parts += _text("; " if n else "") + _text(author["name"])
            if author.get("email"):
                parts += [*_text(", "), _link(f"mailto:{author['email']}",
                                              author["email"])]
        notes.append(pf.Para(*parts, pf.Str(".")))
    equal = [a["name"] for a in authors if a.get("equal-contrib")]
    if equal:
        notes.append(pf.Para(*_text(f"{_and(equal)} contributed equally to this "
                                    "work.")))
    return notes


def _contributions(authors: list[dict]) -> list[pf.Block]:
    """CRediT, as journals print it: "Name: Role, Role."."""
    return [pf.Para(pf.Strong(*_text(author["name"] + ":")), pf.Space(),
                    *_text(", ".join(_capital(r) for r in author["roles"]) + "."))
            for author in authors if author.get("roles")]


# -- the measures -------------------------------------------------------------

def _measures(doc: pf.Doc, meta: dict) -> list[pf.Block]:
    counts = [f"Main text: {main_text_words(doc):,} words"]
    abstract = str(meta.get("abstract", "") or "")
    if abstract:
        counts.append(f"abstract: {words(abstract):,} words")
    blocks = [pf.Para(*_text("; ".join(counts) + "."))]
    keywords = [str(k) for k in _list(meta.get("keywords"))]
    if keywords:
        blocks.append(pf.Para(pf.Strong(pf.Str("Keywords:")), pf.Space(),
                              *_text("; ".join(keywords) + ".")))
    return blocks


# -- the statements -----------------------------------------------------------

def statement(doc: pf.Doc, meta: dict, keys: tuple[str, ...],
               heading: str) -> list[pf.Block]:
    for key in keys:
        if key not in doc.metadata:
            continue
        if key == "funding":
            return _funding(meta.get("funding"), meta)
        return _blocks(doc.metadata[key])
    return _section(doc, re.compile(rf"^(?:{heading})$", re.IGNORECASE))


def _funding(value, meta: dict) -> list[pf.Block]:
    """Quarto's `funding:`: a statement, or items with a `statement` and/or
    `awards` (also `source`, `id`, `recipient`/`investigator` on the item
    itself, as Quarto's front matter page writes them)."""
    names = {str(a.get("id")): a["name"] for a in meta.get("authors-plain") or []
             if isinstance(a, dict) and a.get("id")}
    statements, awards = funding_parts(value)
    return [*(pf.Para(*_text(text)) for text in statements),
            *(pf.Para(*_text(_award(award, names))) for award in awards)]


def funding_parts(value) -> tuple[list[str], list[dict]]:
    """Quarto's `funding:` as (statements, award maps); the JATS's
    funding-group reads it too (pubbuild/jatsmeta.py)."""
    statements, awards = [], []
    for item in _list(value):
        if not isinstance(item, dict):
            statements.append(str(item))
            continue
        if item.get("statement"):
            statements.append(str(item["statement"]))
        found = _list(item.get("awards")) or (
            [item] if item.get("source") or item.get("id") else [])
        awards += [award for award in found if isinstance(award, dict)]
    return statements, awards


def _award(award: dict, names: dict[str, str]) -> str:
    """"NIH (US), award 1-R01-MH99999-01A1 ("Name"), to Norah Jones."."""
    def person(value) -> str:
        if isinstance(value, dict):
            ref = str(value.get("ref", "") or "")
            return str(value.get("name") or names.get(ref, ref))
        return str(value)

    sources = []
    for source in _list(award.get("source")):
        if isinstance(source, dict):
            country = f" ({source['country']})" if source.get("country") else ""
            sources.append(f"{source.get('text', '')}{country}")
        else:
            sources.append(str(source))
    text = "; ".join(s for s in sources if s) or "Funder not named"
    if award.get("id"):
        text += f", award {award['id']}"
    if award.get("name"):
        text += f" (“{award['name']}”)"
    if award.get("description"):
        text += f": {award['description']}"
    people = [person(p) for key in ("recipient", "investigator")
              for p in _list(award.get(key))]
    if people:
        text += f", to {_and(people)}"
    return text + "."


def _licence(meta: dict) -> list[pf.Block]:
    """Quarto's `license:` (a string or `{text, type, link}`) and
    `copyright:` (a string or `{holder, year, statement}`)."""
    blocks = []
    for licence in _list(meta.get("license")):
        if isinstance(licence, dict):
            parts = [*_text(str(licence.get("text") or licence.get("type") or ""))]
            if licence.get("link"):
                parts += [*_text(" " if parts else ""), _link(str(licence["link"]))]
            if parts:
                blocks.append(pf.Para(*parts))
        elif licence:
            blocks.append(pf.Para(*_text(str(licence))))
    copyright_ = meta.get("copyright")
    if isinstance(copyright_, dict):
        text = str(copyright_.get("statement") or " ".join(
            str(copyright_[k]) for k in ("year", "holder") if copyright_.get(k)))
        if text:
            blocks.append(pf.Para(*_text(text if copyright_.get("statement")
                                         else f"© {text}")))
    elif copyright_:
        blocks.append(pf.Para(*_text(str(copyright_))))
    return blocks


def _section(doc: pf.Doc, heading: re.Pattern) -> list[pf.Block]:
    """The blocks under the first body heading that matches, to the next
    heading of its level or above."""
    found, level = [], None
    for block in doc.content:
        if isinstance(block, pf.Header):
            if level is not None and block.level <= level:
                break
            if level is None and heading.match(pf.stringify(block).strip()):
                level = block.level
                continue
        if level is not None:
            found.append(block)
    return found


# -- small helpers ------------------------------------------------------------

def _blocks(value) -> list[pf.Block]:
    if isinstance(value, pf.MetaBlocks):
        return list(value.content)
    if isinstance(value, pf.MetaInlines):
        return [pf.Para(*value.content)]
    if isinstance(value, pf.MetaList):
        return [b for item in value.content for b in _blocks(item)]
    text = pf.stringify(value) if not isinstance(value, pf.MetaString) else value.text
    return [pf.Para(*_text(text))] if text.strip() else []


def _heading(text: str) -> pf.Header:
    return pf.Header(*_text(text), level=2, classes=["unnumbered"])


def _link(url: str, text: str | None = None) -> pf.Link:
    return pf.Link(pf.Str(text or url), url=url)




def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _capital(role: str) -> str:
    return role[:1].upper() + role[1:]


def _list(value) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]
