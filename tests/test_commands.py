"""The commands in-process (pubbuild/commands/), on a small manuscript:
what `build.py check` reports and what `build.py pdf` and `html` write,
without a subprocess. (The real command line, every format and every
command are the slow layer's.)"""

from __future__ import annotations

import argparse
import json

import pytest
from pypdf import PdfReader

from conftest import GOOD_BIB, write_paper
from pubbuild import pdf
from pubbuild.commands import build, check

MANUSCRIPT = """\
---
title: A Small Paper
author:
  - name: Kim Vu
bibliography: refs.bib
csl: apa.csl
date: 2024-05-01
---

# Introduction

The talks stalled "again" ([Vu, 2021](#)), and $E = mc^2$ says nothing.
"""


@pytest.fixture
def paper(tmp_path):
    return write_paper(tmp_path / "paper", MANUSCRIPT,
                       bib=GOOD_BIB + "\n@book{unused2020, title={U},"
                       " author={Lee, A.}, date={2020}}\n")


def options(paper, **extra) -> argparse.Namespace:
    values = {"manuscript": paper, "csl": None, "debug": False, "strict": False,
              "out": paper.parent / "dist", "quiet": True, "format": None,
              "profile": None}
    return argparse.Namespace(**{**values, **extra})


def test_check_lists_each_citation_and_the_uncited_entry(paper, capsys):
    assert check.run(options(paper)) == 0
    report = capsys.readouterr().out
    assert "paper.md:12: 'Vu, 2021' -> vu2021  (Vu, 2021)" in report
    assert "entry 'unused2020' is never cited" in report
    assert "Quotations: 1 paired" in report
    assert "1 citations (1 citation fields" in report


def test_build_writes_the_pdf_from_the_one_ast(paper, monkeypatch):
    # What build.py's main does first (restored for the tests after this).
    monkeypatch.setenv("FONTCONFIG_FILE", str(pdf.fontconfig_file()))
    monkeypatch.delenv("FONTCONFIG_PATH", raising=False)
    out = paper.parent / "dist"
    assert build.run(options(paper, format="pdf")) == 0
    reader = PdfReader(out / "paper.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    assert "A Small Paper" in text and "With lukewarm diplomacy" in text
    # The sources and the manifest ride inside it, for `rebuild`.
    assert set(reader.attachments) == {"manifest.json", "paper.md", "refs.bib",
                                       "apa.csl"}
    listing = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert list(listing["outputs"]) == ["paper.pdf"]
    # Asked again: up to date, nothing written.
    before = (out / "paper.pdf").stat().st_mtime_ns
    assert build.run(options(paper, format="pdf")) == 0
    assert (out / "paper.pdf").stat().st_mtime_ns == before
