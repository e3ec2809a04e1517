"""The metadata scholarly indexers read from an article's HTML head.

Google Scholar and Zotero read Highwire Press `citation_*` tags; search
engines read schema.org JSON-LD (with given and family names, and ROR ids
of affiliations, where the manuscript gives them). Both are computed from the normalised
metadata (`filters/authors.py` writes `authors-plain`) and put into the
head of the screen HTML.

This module must not know about pandoc's writers or any other format.
"""

from __future__ import annotations

import html
import json


def head(meta: dict, output_name: str, modified: str | None) -> str:
    """The `<meta>` tags and the JSON-LD script, as HTML."""
    authors = meta.get("authors-plain") or [
        {"name": name} for name in _list(meta.get("author"))]
    keywords = [str(k) for k in _list(meta.get("keywords"))]
    tags: list[tuple[str, str]] = [("citation_title", meta.get("title", ""))]
    for author in authors:
        tags.append(("citation_author", author["name"]))
        tags += [("citation_author_institution", aff)
                 for aff in author.get("affiliations", [])]
        if author.get("email"):
            tags.append(("citation_author_email", author["email"]))
        if author.get("orcid"):
            tags.append(("citation_author_orcid",
                         f"https://orcid.org/{author['orcid']}"))
    date = str(meta.get("date", "") or "")
    if date:
        tags.append(("citation_publication_date", date.replace("-", "/")))
    for key, tag in (("journal", "citation_journal_title"), ("volume",
                     "citation_volume"), ("issue", "citation_issue"),
                     ("doi", "citation_doi"), ("lang", "citation_language")):
        if meta.get(key):
            tags.append((tag, str(meta[key])))
    if keywords:
        tags.append(("citation_keywords", "; ".join(keywords)))
    tags.append(("citation_pdf_url", f"{output_name}.pdf"))
    if modified:
        tags.append(("dcterms.modified", modified))
    lines = [f'<meta name="{name}" content="{html.escape(str(value))}">'
             for name, value in tags if value]
    lines.append('<script type="application/ld+json">'
                 + _json_ld(meta, authors, keywords, date) + "</script>")
    return "\n".join(lines)


def _json_ld(meta: dict, authors: list[dict], keywords: list[str], date: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "headline": meta.get("title", ""),
        "name": meta.get("title", ""),
        "inLanguage": meta.get("lang", ""),
        "author": [_person(author) for author in authors],
        "keywords": keywords,
        "abstract": meta.get("abstract", ""),
    }
    if date:
        data["datePublished"] = date
    if meta.get("doi"):
        data["identifier"] = f"https://doi.org/{meta['doi']}"
    # Funders and licence: Highwire has no tags for them; schema.org does.
    data["funder"] = [{"@type": "Organization", "name": name}
                      for name in funders(meta.get("funding"))]
    data.update(_licence(meta.get("license"), meta.get("copyright")))
    text = json.dumps({k: v for k, v in data.items() if v}, ensure_ascii=False,
                      indent=1)
    # "</" inside a script would end it early.
    return text.replace("</", "<\\/")


def _person(author: dict) -> dict:
    person = {"@type": "Person", "name": author["name"]}
    # Only where the manuscript gave the name in parts: a written name is
    # not split by guessing ("Gabriel García Márquez").
    if author.get("given"):
        person["givenName"] = author["given"]
    if author.get("family"):
        person["familyName"] = author["family"]
    if author.get("email"):
        person["email"] = author["email"]
    if author.get("orcid"):
        person["identifier"] = f"https://orcid.org/{author['orcid']}"
    if author.get("affiliations"):
        rors = author.get("affiliation-rors") or []
        person["affiliation"] = [_organisation(aff, rors[n] if n < len(rors) else "")
                                 for n, aff in enumerate(author["affiliations"])]
    return person


def _organisation(name: str, ror: str) -> dict:
    organisation = {"@type": "Organization", "name": name}
    if ror:  # the Research Organization Registry's URL for it
        organisation["identifier"] = ror
    return organisation


def funders(funding) -> list[str]:
    """The funders Quarto's `funding:` names (`awards[].source`, or `source`
    on the item itself), each once."""
    found: list[str] = []
    for item in _list(funding):
        if not isinstance(item, dict):
            continue
        for award in _list(item.get("awards")) or [item]:
            if not isinstance(award, dict):
                continue
            for source in _list(award.get("source")):
                name = str(source.get("text", "") if isinstance(source, dict)
                           else source).strip()
                if name and name not in found:
                    found.append(name)
    return found


def _licence(licence, copyright_) -> dict:
    """schema.org's `license` (preferably the licence's URL), and
    `copyrightHolder`/`copyrightYear` from Quarto's `copyright:`."""
    data = {}
    licence = (_list(licence) or [None])[0]
    if isinstance(licence, dict):
        licence = licence.get("link") or licence.get("text") or licence.get("type")
    if licence:
        data["license"] = str(licence)
    if isinstance(copyright_, dict):
        if copyright_.get("holder"):
            # A name as text: a person or an organisation, the metadata
            # does not say which.
            data["copyrightHolder"] = str(copyright_["holder"])
        if copyright_.get("year"):
            data["copyrightYear"] = str(copyright_["year"])
    return data


def _list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
