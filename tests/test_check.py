"""`python build.py check` over the real article, and the index it uses."""

from __future__ import annotations

import re
from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT, run_build
from pubbuild import bibliography, citeindex, pandoc

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def report():
    result = run_build("check")
    assert result.returncode == 0, result.stderr
    return result


def test_article_numbers(report):
    # The published article: 38 citations, every one of the 31 references
    # cited, nothing unresolved.
    summary = report.stdout.strip().splitlines()[-1]
    assert summary.startswith("38 citations (37 citation fields, 1 plain text,")
    assert "31 of 31 entries cited; 0 errors" in summary
    assert report.stderr == ""


def test_article_tolerant_matches_are_listed(report):
    section = report.stdout.split("Tolerant matches")[1].split("Other warnings")[0]
    matches = re.findall(r"citation '([^']*)' resolved to (\w+)", section)
    # The authors' own slips, resolved and named (seeds README).
    assert matches == [("S.Im, 2021", "im2021"), ("Bremer, 2019", "bremner2019"),
                       ("Armstrong, C. K. 2020", "armstrong2020")]
    assert "manuscript/article.md:" in section


def test_article_citations_render_in_apa(report):
    lines = report.stdout.splitlines()
    # as written -> key, then citeproc's rendering of it
    assert any("'Vu, 2021, p. 1' -> vu2021  (Vu, 2021, p. 1)" in line
               for line in lines)
    assert any("'Sang-Hun, 2018a' -> sanghun2018a  (Sang-Hun, 2018a)" in line
               for line in lines)
    assert any("'Falk & Fischbacher, 2001, p. 1' -> falk2001" in line
               for line in lines)


def test_index_labels_agree_with_pandoc():
    """citeproc-py's labels (plus our year suffixes) are pandoc's labels.

    If they drifted apart, the normaliser would match "Sang-Hun, 2018a"
    to the entry pandoc prints as 2018b.
    """
    bib = bibliography.load(ROOT / "bib" / "references.bib")
    index = citeindex.build(bib, ROOT / "bib" / "apa.csl")
    markdown = "\n\n".join(f"[@{entry.key}]" for entry in index.entries)
    doc = pf.convert_text(markdown, standalone=True, pandoc_path=pandoc.pandoc_path())
    doc.metadata["bibliography"] = pf.MetaString(str(bib.path))
    doc.metadata["csl"] = pf.MetaString(str(ROOT / "bib" / "apa.csl"))
    rendered = [pf.stringify(block).strip() for block in pandoc.citeproc(doc).content
                if isinstance(block, pf.Para)]
    expected = [f"({entry.label})" for entry in index.entries]
    assert rendered == expected
    assert len(expected) == 31


def test_check_from_another_directory_names_paths_relative_to_it(tmp_path: Path):
    result = run_build("check", cwd=tmp_path)
    assert result.returncode == 0
    assert "../" in result.stdout  # paths shown relative to where the user is
