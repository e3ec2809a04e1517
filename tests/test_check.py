"""`python build.py check` over the real article, and the index it uses."""

from __future__ import annotations

import re
from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT, run_build
from pubbuild import bibliography, citeindex, pandoc


@pytest.fixture(scope="module")
def report():
    result = run_build("check")
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_article_numbers(report):
    # The published article: 38 citations, every one of the 31 references
    # cited, nothing unresolved.
    summary = report.stdout.strip().splitlines()[-1]
    assert summary.startswith("38 citations (37 citation fields, 1 plain text,")
    assert "31 of 31 entries cited; 0 errors" in summary
    assert report.stderr == ""


@pytest.mark.slow
def test_article_tolerant_matches_are_listed(report):
    section = report.stdout.split("Tolerant matches")[1].split("Other warnings")[0]
    matches = re.findall(r"citation '([^']*)' resolved to (\w+)", section)
    # The authors' own slips, resolved and named (seeds README).
    assert matches == [("S.Im, 2021", "im2021"), ("Bremer, 2019", "bremner2019"),
                       ("Armstrong, C. K. 2020", "armstrong2020")]
    assert "manuscript/article.md:" in section


@pytest.mark.slow
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


@pytest.mark.slow
def test_check_from_another_directory_names_paths_relative_to_it(tmp_path: Path):
    result = run_build("check", cwd=tmp_path)
    assert result.returncode == 0
    assert "../" in result.stdout  # paths shown relative to where the user is


@pytest.mark.slow
def test_article_quotations_report(report):
    section = report.stdout.split("Quotations: ")[1].split("Other warnings")[0]
    assert section.startswith("27 paired; 8 broken")
    assert "10 spacing repairs" in section.splitlines()[0]
    broken = re.findall(r"article\.md:(\d+): warning: (opening|closing) quotation "
                        r"mark with no (?:opening|closing) one: '…(.*?)…'", section)
    # Counted by hand in the source (README, "Quotations"): five closing
    # marks whose opening one is missing, three opening marks never closed.
    assert [(int(line), side) for line, side, _ in broken] == [
        (77, "closing"), (81, "closing"), (85, "closing"), (89, "opening"),
        (97, "closing"), (101, "closing"), (105, "opening"), (105, "opening")]
    shown = [context for _, _, context in broken]
    assert "reciprocal response from the United States”" in shown[0]
    assert "economic incentives for North Korea.”" in shown[1]
    assert "on US bases in Japan”" in shown[2]
    assert 'remarked that "Games are a "precious opportunity"' in shown[3]
    assert 'that "a speedy resumption' in shown[6]
    assert 'summits "I think in the past year' in shown[7]
    repairs = re.findall(r"article\.md:(\d+): note: (.*?):", section)
    assert repairs[0] == ("65", "space on the wrong side of a closing mark, moved")
    assert [line for line, _ in repairs[1:]] == ["73", "73", "81", "81", "85", "85",
                                                "97", "97", "105"]


def test_article_quotations_in_the_finished_ast():
    from pubbuild import paths, pipeline

    source = pipeline.read(paths.DEFAULT_MANUSCRIPT)
    doc = pipeline.run_filters(source)
    quoted = []
    doc.walk(lambda e, d: quoted.append(e) if isinstance(e, pf.Quoted) else None)
    # 27 in the text and 2 in the reference list (titles typed with straight
    # and with single quotes in the .bib), each a Quoted the writers print
    # as “…”; none nested, since the one nested pair's outer quotation is
    # the unclosed "Games are a …".
    texts = [pf.stringify(q) for q in quoted]
    assert len(quoted) == 29
    assert texts[-2:] == ['"handshake summit"', '"speedy resumption"']
    assert all(q.quote_type == "DoubleQuote" for q in quoted)
    straight = []
    doc.walk(lambda e, d: straight.append(e.text) if isinstance(e, pf.Str)
             and ('"' in e.text or "'" in e.text) else None)
    assert straight == []  # every mark and apostrophe is typographic
