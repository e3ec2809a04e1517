"""The Word files' front matter (pubbuild/docxfront.py): after the title, the
names with their marks, the affiliations and author notes, the date, the
abstract and the keywords, each in a named paragraph style; the anonymised
manuscript without names, affiliations or e-mails."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from conftest import finished, run_build, write_paper
from pubbuild import docxfields, formats, submission

W = docxfields.W
NS = {"w": docxfields.W_NS}
ARTICLE_NEEDLES = ["Waseem", "Ishaque", "Mudassir", "Mukhtar",
                   "waseemishaque91@gmail.com"]
ARTICLE_KEYWORDS = ["North Korea", "US", "Joe Biden", "Donald Trump", "Moon Jae-in",
                    "South Korea"]

MANUSCRIPT = """\
---
title: Locks and Tides
author:
  - name: Ana Lima
    email: ana.lima@example.org
    corresponding: true
    affiliations: [{ref: harbour}, {ref: river}]
  - name: Ben Ode
    affiliations: [{ref: river}]
affiliations:
  - id: harbour
    name: Harbour University
  - id: river
    name: River Institute
date: 1 May 2024
abstract: |
  Tides move the locks.

  The locks hold the tides.
keywords: [tides, locks, canals]
bibliography: refs.bib
---

# Introduction

The canal opens.
"""
NEEDLES = ["Ana Lima", "Lima", "Ben Ode", "ana.lima@example.org", "Harbour University",
           "River Institute"]


def _paragraphs(data: bytes) -> list[tuple[str, str, str]]:
    """(style id, text, superscript text) of each body paragraph."""
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        root = etree.fromstring(docx.read("word/document.xml"))
    out = []
    for paragraph in root.iter(f"{W}p"):
        style = paragraph.find("w:pPr/w:pStyle", NS)
        text = "".join(t.text or "" for t in paragraph.iter(f"{W}t"))
        raised = "".join(t.text or "" for run in paragraph.iter(f"{W}r")
                         if run.find("w:rPr/w:vertAlign[@w:val='superscript']", NS)
                         is not None for t in run.iter(f"{W}t"))
        out.append((style.get(f"{W}val") if style is not None else "", text, raised))
    return out


def _core(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        return docx.read("docProps/core.xml").decode("utf-8")


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    return write_paper(tmp_path_factory.mktemp("front"), MANUSCRIPT)


def _docx(paper, anonymous: bool = False) -> bytes:
    return formats.docx(*finished(paper, anonymous))


def test_front_matter_in_order_and_in_named_styles(paper):
    front = _paragraphs(_docx(paper))[:11]
    # An editor restyles each part by its style; a reader sees who works where.
    assert front == [
        ("Title", "Locks and Tides", ""),
        ("Author", "Ana Lima1,2*", "1,2*"),
        ("Author", "Ben Ode2", "2"),
        ("Affiliation", "1 Harbour University.", "1"),
        ("Affiliation", "2 River Institute.", "2"),
        ("AuthorNote", "* Corresponding author: Ana Lima (ana.lima@example.org).", "*"),
        ("Date", "1 May 2024", ""),
        ("AbstractTitle", "Abstract", ""),
        ("Abstract", "Tides move the locks.", ""),
        ("Abstract", "The locks hold the tides.", ""),
        ("Keywords", "Keywords: tides; locks; canals", ""),
    ]


def test_author_property_keeps_the_plain_names(paper):
    # Word's File > Properties > Author: the names, without the marks.
    assert "<dc:creator>Ana Lima; Ben Ode</dc:creator>" in _core(_docx(paper))


def test_anonymised_front_matter_names_nobody(paper):
    data = _docx(paper, anonymous=True)
    assert submission.scan({"paper.docx": data}, NEEDLES) == []
    styles = [style for style, _, _ in _paragraphs(data)[:6]]
    # The keywords and the abstract stay: reviewers need them.
    assert styles == ["Title", "Date", "AbstractTitle", "Abstract", "Abstract",
                      "Keywords"]
    # The scan can fail: the named file has every needle.
    assert len(submission.scan({"paper.docx": _docx(paper)}, NEEDLES)) >= len(NEEDLES)


@pytest.mark.slow
def test_article_docx_has_affiliations_and_keywords(tmp_path):
    result = run_build("docx", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    front = _paragraphs((tmp_path / "article.docx").read_bytes())[:9]
    assert [style for style, _, _ in front] == [
        "Title", "Author", "Author", "Affiliation", "Affiliation", "AbstractTitle",
        "Abstract", "Keywords", "Heading1"]
    assert [(text, raised) for _, text, raised in front[1:3]] == [
        ("Waseem Ishaque*", "*"), ("Mudassir Mukhtar†", "†")]
    assert "Department of International Relations, NUML" in front[3][1]
    assert "waseemishaque91@gmail.com" in front[3][1]
    assert "Department of Mass Communication, NUML" in front[4][1]
    assert front[7][1] == "Keywords: " + "; ".join(ARTICLE_KEYWORDS)


@pytest.mark.slow
def test_submitted_anonymised_docx_names_no_author(tmp_path):
    result = run_build("submit", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "submission"
    blind = (folder / "manuscript-anonymous.docx").read_bytes()
    assert submission.scan({"manuscript-anonymous.docx": blind}, ARTICLE_NEEDLES) == []
    front = _paragraphs(blind)
    assert ("Keywords", "Keywords: " + "; ".join(ARTICLE_KEYWORDS), "") in front
    assert not any(style in ("Author", "Affiliation", "AuthorNote")
                   for style, _, _ in front)
    # The named manuscript of the same package has them.
    named = _paragraphs((folder / "article.docx").read_bytes())
    assert [style for style, _, _ in named].count("Affiliation") == 2
