"""The submission's title page (pubbuild.titlepage), built in-process from a
small Quarto-style manuscript and written as Word and PDF: an editor must
find on it every fact the journal asks for, and no abstract."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile

import panflute as pf
import pytest
from pypdf import PdfReader

from conftest import write_paper
from pubbuild import formats, pipeline, scholarly, wordref
from pubbuild.titlepage import title_page

MANUSCRIPT = """\
---
title: "Counting Engines: A Study"
author:
  - id: ada
    name: {given: Ada, family: Lovelace}
    position: Research Fellow
    orcid: 0000-0002-1825-0097
    email: ada@example.org
    corresponding: true
    equal-contributor: true
    affiliations: [{ref: eng}]
    roles:
      - Conceptualisation
      - writing-original-draft
      - investigation: lead
  - name: Charles Babbage
    equal-contributor: true
    affiliations: [{ref: eng}]
    roles: [Software, Writing - Review and Editing]
affiliations:
  - id: eng
    department: School of Computing
    name: Analytical Engine Institute
    city: London
    country: UK
    ror: https://ror.org/041kmwe10
abstract: |
  Engines count words. This abstract has exactly nine words.
keywords: [engines, counting, history]
funding:
  statement: The work was funded by the Engine Trust.
  awards:
    - id: ET-1843
      name: Difference engines
      source: {text: Engine Trust, country: GB}
      recipient: {ref: ada}
data-availability: The tables are at <https://example.org/data>.
conflict-of-interest: The authors declare no competing interests.
license: {text: Creative Commons Attribution 4.0, link: "https://creativecommons.org/licenses/by/4.0/"}
bibliography: refs.bib
csl: apa.csl
---

# Introduction

One two three four five six seven ([Vu, 2021](#)).

# Acknowledgements

We thank the Analytical Society for its engines.
"""

REQUIRED = [
    "Counting Engines: A Study", "Ada Lovelace (corresponding author)",
    "Research Fellow", "Charles Babbage",
    "School of Computing, Analytical Engine Institute, London, UK",
    "https://ror.org/041kmwe10", "ORCID: https://orcid.org/0000-0002-1825-0097",
    "E-mail: ada@example.org",
    "Corresponding author: Ada Lovelace, ada@example.org.",
    "Ada Lovelace and Charles Babbage contributed equally to this work.",
    # As `check` counts them against the profile: the body's text without
    # headings and citations (7 + 8 words of acknowledgements).
    "Main text: 15 words; abstract: 9 words.",
    "Keywords: engines; counting; history.",
    "Funding", "The work was funded by the Engine Trust.",
    "Engine Trust (GB), award ET-1843 (“Difference engines”), to Ada Lovelace.",
    "Acknowledgements", "We thank the Analytical Society for its engines.",
    "Author contributions",
    "Ada Lovelace: Conceptualization, Writing – original draft, Investigation (lead).",
    "Charles Babbage: Software, Writing – review & editing.",
    "Conflict of interest", "The authors declare no competing interests.",
    "Data availability", "The tables are at https://example.org/data.",
    "Licence", "Creative Commons Attribution 4.0 "
    "https://creativecommons.org/licenses/by/4.0/",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = write_paper(tmp_path_factory.mktemp("titlepage"), MANUSCRIPT)
    source = pipeline.read(path)
    doc = pipeline.finish(pipeline.run_filters(source, through_citeproc=False),
                          source)
    job = formats.Job(path, "paper", source.reporter,
                      datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    return doc, title_page(doc), job


def plain(text: str) -> str:
    return " ".join(text.split())


def test_the_finished_document_is_left_as_it_was(page):
    doc, _, _ = page
    # The manuscript keeps its abstract, authors and acknowledgements.
    assert doc.get_metadata("abstract")
    assert doc.get_metadata("authors-plain")
    assert "We thank the Analytical Society" in pf.stringify(doc)


def test_the_word_title_page_has_every_required_item(page):
    _, title, job = page
    data = formats.docx(title, job, wordref.reference_docx(line_numbers=False))
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    # Paragraph by paragraph, the text Word shows.
    xml = xml.replace("<w:br/>", "<w:t> </w:t>")  # a line break reads as a space
    text = plain(" ".join("".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", p))
                          for p in re.findall(r"<w:p[\s>].*?</w:p>", xml, re.S)))
    text = text.replace("&amp;", "&")
    for expected in REQUIRED:
        assert expected in text, f"an editor would miss {expected!r}"
    # The reviewers' copy is elsewhere: no abstract on the title page.
    assert "Engines count words" not in text


def test_the_pdf_title_page_has_every_required_item(page):
    _, title, job = page
    reader = PdfReader(io.BytesIO(formats.pdf(title, job)))
    text = plain(" ".join(p.extract_text() for p in reader.pages))
    for expected in REQUIRED:
        assert plain(expected) in text, f"an editor would miss {expected!r}"
    assert "Engines count words" not in text


def test_without_statements_there_are_no_empty_sections(tmp_path):
    path = write_paper(tmp_path, "---\ntitle: Bare\nauthor: A. Author\n"
                       "bibliography: refs.bib\ncsl: apa.csl\n---\n\nText.\n")
    source = pipeline.read(path)
    doc = pipeline.finish(pipeline.run_filters(source, through_citeproc=False),
                          source)
    headings = [pf.stringify(b) for b in title_page(doc).content
                if isinstance(b, pf.Header)]
    assert headings == ["Authors", "Word counts and keywords"]


def test_the_html_head_names_the_funder_and_the_licence(page):
    doc, _, _ = page
    head = scholarly.head(doc.get_metadata(), "paper", None)
    data = json.loads(re.search(r"<script[^>]*>(.*)</script>", head, re.S).group(1))
    # Indexers read funders and licence from schema.org (Highwire has no tags).
    assert data["funder"] == [{"@type": "Organization", "name": "Engine Trust"}]
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert "citation_funder" not in head
