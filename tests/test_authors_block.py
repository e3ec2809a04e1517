"""The title block of a manuscript whose authors are written as Open Journals
(JOSS) writes them, built in every format: ORCID iD icons linking to the
records, numbered affiliations under the names, † and * with their notes."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from pypdf import PdfReader

from conftest import run_build, write_paper

MANUSCRIPT = """\
---
title: "Gala: A Python package for galactic dynamics"
authors:
  - name: Adrian M. Price-Whelan
    orcid: 0000-0003-0872-7098
    equal-contrib: true
    affiliation: "1, 2"
  - given-names: Ludwig
    dropping-particle: van
    surname: Beethoven
    orcid: 0000-0002-1694-233X
    equal-contrib: true
    affiliation: 3
  - name: Ada Lovelace
    corresponding: true
    email: ada@example.org
    affiliation: 2
affiliations:
  - name: Lyman Spitzer, Jr. Fellow, Princeton University, United States
    index: 1
    ror: 00hx57361
  - name: Institution Name, Country
    index: 2
  - name: Independent Researcher, Country
    index: 3
bibliography: refs.bib
csl: apa.csl
---

# Summary

Gala is a package for galactic dynamics ([Vu, 2021](#)).
"""
ORCIDS = {"Adrian M. Price-Whelan": "0000-0003-0872-7098",
          "Ludwig van Beethoven": "0000-0002-1694-233X"}
AFFILIATIONS = ["Lyman Spitzer, Jr. Fellow, Princeton University, United States",
                "Institution Name, Country", "Independent Researcher, Country"]


@pytest.mark.slow
def test_joss_authors_get_orcid_icons_and_affiliations_under_the_names(
        tmp_path, vnu, epubcheck):
    path = write_paper(tmp_path, MANUSCRIPT)
    out = tmp_path / "dist"
    proc = run_build("--manuscript", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    # Every ORCID and ROR id here is well formed, every affiliation named:
    # a warning about them would be noise.
    noise = [line for line in proc.stderr.splitlines() if "warning" in line and any(
        word in line for word in ("ORCID", "ROR", "affiliation", "equal"))]
    assert not noise, noise

    page = (out / "paper.html").read_text(encoding="utf-8")
    header = page[page.index('<header id="title-block-header"'):page.index("</header>")]
    for name, orcid in ORCIDS.items():
        # The green iD icon is the link to the record, and a screen reader
        # says whose record it is (the link holds no text).
        link = re.search(rf'<a class="orcid" href="https://orcid\.org/{orcid}" '
                         rf'aria-label="ORCID record of {name}"><svg [^>]*'
                         r'aria-hidden="true"', header)
        assert link, f"no ORCID iD icon linking to {name}'s record"
    assert ">ORCID<" not in header  # the icon, not the word
    assert "<img" not in header and "url(" not in header  # nothing to fetch
    # Affiliations are a numbered list right under the names, in the order
    # the byline's numbers use, then what † and * mean.
    byline = header.index('class="byline"')
    items = re.findall(r'<li class="([\w-]+)"><sup class="author-mark">([^<]+)</sup> '
                       r'([^<]*)', header)
    assert [(kind, mark, text) for kind, mark, text in items] == [
        *(("affiliation", str(n), f"{aff}.") for n, aff in enumerate(AFFILIATIONS, 1)),
        ("equal-contrib", "†", "These authors contributed equally."),
        ("corresponding", "*", "Corresponding author: Ada Lovelace ("),
    ]
    assert byline < header.index('<li class="affiliation">')
    assert 'Price-Whelan<sup class="author-mark">1,2†</sup>' in header
    assert 'Lovelace<sup class="author-mark">2*</sup>' in header
    # Indexers get the name in parts and the affiliation's ROR id.
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                                page, re.S).group(1))
    beethoven = data["author"][1]
    assert (beethoven["givenName"], beethoven["familyName"]) == ("Ludwig", "Beethoven")
    assert data["author"][0]["affiliation"][0]["identifier"] == (
        "https://ror.org/00hx57361")
    errors, _ = vnu(out / "paper.html")
    assert not errors, "\n".join(errors)  # the inline SVG is valid HTML

    # The EPUB's title page has the same icons, and declares the SVG in it.
    with zipfile.ZipFile(out / "paper.epub") as epub:
        title_page = epub.read("EPUB/text/title_page.xhtml").decode("utf-8")
        package = epub.read("EPUB/content.opf").decode("utf-8")
    for name, orcid in ORCIDS.items():
        assert (f'href="https://orcid.org/{orcid}" aria-label="ORCID record of '
                f'{name}"><svg') in title_page
    assert re.search(r'href="text/title_page\.xhtml"[^>]*properties="[^"]*svg', package)
    summary, output = epubcheck(out / "paper.epub")
    assert "0 fatals / 0 errors" in summary, output

    # On paper the affiliations are under the names on the first page, not
    # footnotes at its foot (after the text), and the iDs are live links.
    first = PdfReader(out / "paper.pdf").pages[0]
    text = " ".join(first.extract_text().split())
    for aff in AFFILIATIONS:
        assert aff in text
        assert text.index("Ludwig van Beethoven") < text.index(aff) < text.index(
            "Summary"), "affiliation not printed under the names"
    assert "These authors contributed equally." in text
    assert "Corresponding author: Ada Lovelace (ada@example.org)." in text
    uris = {annot.get_object()["/A"].get("/URI")
            for annot in first.get("/Annots", [])
            if annot.get_object().get("/A")}
    assert {f"https://orcid.org/{orcid}" for orcid in ORCIDS.values()} <= uris
