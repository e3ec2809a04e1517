"""`python build.py check --accessibility` (pubbuild/a11ycheck.py): what an
author must fix for readers with assistive technology, one `file:line` each:
images without alt text, tables without a header row, skipped heading
levels, links whose text says nothing; a figure described by its caption
only and the colour note as notes. Over the fixture with every problem
(tests/a11y_fixtures/bad), the article and the test manuscripts, and small
manuscripts for what must not be reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, manuscripts, run_build, write_paper
from pubbuild import a11ycheck, pipeline
from pubbuild.diagnostics import Reporter

BAD = ROOT / "tests" / "a11y_fixtures" / "bad" / "paper.md"
MANUSCRIPTS = list(manuscripts(revisions=True).values())
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       '<rect width="10" height="10" fill="#2b6cb0"/></svg>\n')


def checked(paper: Path) -> tuple[list, a11ycheck.Findings]:
    """(level, line, message) of each diagnostic, and the counts."""
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source, through_citeproc=False)
    source.reporter.source.rewind()
    reporter = Reporter(source.reporter.source)
    found = a11ycheck.check(doc, reporter)
    return [(d.level, d.line, d.message) for d in reporter.diagnostics], found


def paper(tmp_path: Path, body: str) -> Path:
    (tmp_path / "dot.svg").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "dot.svg").write_text(SVG, encoding="utf-8")
    return write_paper(tmp_path, "---\ntitle: T\nbibliography: refs.bib\n---\n\n"
                       + body + "\n\nText [@vu2021].\n")


# -- the fixture with every problem ------------------------------------------

@pytest.fixture(scope="module")
def bad():
    return checked(BAD)


def test_every_problem_on_its_line(bad):
    diagnostics, _ = bad
    assert [(level, line) for level, line, _ in diagnostics] == [
        ("warning", 14),  # [here](...)
        ("warning", 16),  # [click here](...)
        ("warning", 18),  # ### after #
        ("warning", 20),  # inline ![](weir.svg)
        ("warning", 23),  # ![](weir.svg) alone
        ("note", 30),     # a figure with only its caption
        ("warning", 35),  # a simple table without its header line
        ("warning", 51),  # [Read more](...)
        ("warning", 52),  # [this link](...)
        ("warning", 53),  # [](...)
        ("warning", 56),  # ##### after ##
        ("note", None),   # colour
    ]


def test_the_messages_say_what_to_do(bad):
    messages = [message for _, _, message in bad[0]]
    assert messages[0] == ("link text 'here' says nothing out of context: say "
                           "what https://example.org/counts.csv is")
    assert messages[2] == "heading ### 'Site' follows a # heading: ## skipped"
    assert messages[3].startswith("image weir.svg has no alt text: ")
    assert 'fig-alt="..."' in messages[5]
    assert messages[6].startswith("table 'Table 1: Weekday counts before and after' "
                                  "has no header row")
    assert messages[9] == "link to https://example.org/empty has no text"
    assert messages[10] == ("heading ##### 'Limits' follows a ## heading: "
                            "### and #### skipped")
    assert "colour" in messages[11]


def test_the_summary_counts_them(bad):
    assert bad[1].summary() == (
        "Accessibility: 2 images without alt text, 1 figure described only by "
        "its caption, 1 table without a header row, 2 skipped heading levels, "
        "5 links whose text says nothing; colour not judged in 4 images")


# -- what must not be reported -----------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("manuscript", MANUSCRIPTS,
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_no_warning_for_the_manuscripts_in_the_repository(manuscript):
    diagnostics, found = checked(manuscript)
    assert [d for d in diagnostics if d[0] != "note"] == []
    assert found.images == found.tables == found.headings == found.links == 0


def test_the_article_has_nothing_to_fix():
    diagnostics, found = checked(ROOT / "manuscript" / "article.md")
    assert diagnostics == [] and found.summary() == "Accessibility: nothing to fix"


def test_alt_text_however_written_counts(tmp_path):
    diagnostics, found = checked(paper(tmp_path, (
        "# One\n\n"
        '![Caption.](dot.svg){#fig-a fig-alt="A blue square."}\n\n'
        '![](dot.svg){alt="A blue square, once more."}\n\n'
        "An ornament ![](dot.svg){.decorative} in the text.\n\n"
        "[![The project's logo.](dot.svg)](https://example.org)\n")))
    assert diagnostics == [("note", None, diagnostics[-1][2])]  # colour only
    assert found.pictures == 3 and found.images == found.captioned == 0


def test_headings_that_climb_back_and_sections_under_the_title(tmp_path):
    diagnostics, _ = checked(paper(tmp_path / "a",
                                   "# A\n\n## B\n\n### C\n\n# D\n\n## E"))
    assert diagnostics == []
    # `##` sections (the title is the `#`), as Quarto writes them.
    diagnostics, _ = checked(paper(tmp_path / "b", "## A\n\n### B\n\n## C"))
    assert diagnostics == []
    diagnostics, _ = checked(paper(tmp_path / "c", "# A\n\n## B\n\n#### C"))
    assert [(line, message) for _, line, message in diagnostics] == [
        (10, "heading #### 'C' follows a ## heading: ### skipped")]


def test_links_that_say_where_they_go(tmp_path):
    diagnostics, found = checked(paper(tmp_path, (
        "# A\n\nThe data are at <https://example.org/data>, in [the survey "
        "sheets](https://example.org/sheets) and [Here and there: a "
        "history](https://example.org/book).\n\n"
        "| Day | Count |\n|-----|------:|\n| Mon | 3 |\n")))
    assert diagnostics == [] and found.links == found.tables == 0


# -- the command ---------------------------------------------------------------

@pytest.mark.slow
def test_the_flag_is_on_check_only():
    assert "--accessibility" in run_build("check", "--help").stdout
    refused = run_build("html", "--accessibility")
    assert refused.returncode == 2 and "unrecognized arguments: --accessibility" \
        in refused.stderr


@pytest.mark.slow
def test_check_accessibility_prints_one_line_each_and_exits_0():
    result = run_build("check", "--accessibility", "--manuscript", str(BAD))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len([line for line in lines if re.match(
        r"\S*tests/a11y_fixtures/bad/paper\.md:\d+: warning: ", line)]) == 10
    assert lines[-1].startswith("Accessibility: 2 images without alt text, ")
    assert "Citations in" not in result.stdout  # the accessibility report only
    assert result.stderr == ""


@pytest.mark.slow
def test_strict_makes_them_errors():
    result = run_build("check", "--accessibility", "--strict", "--manuscript", str(BAD))
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 10 and "Traceback" not in result.stderr
    assert all(re.match(r"\S*paper\.md:\d+: error: .* \(--strict\)$", line)
               for line in errors)


@pytest.mark.slow
def test_check_reports_accessibility_with_the_rest():
    result = run_build("check", "--manuscript", str(BAD))
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("\nAccessibility: 2 images without alt text, ")[1]
    section = section.split("\n", 1)[1]
    assert re.match(r"  \S*paper\.md:14: warning: link text 'here'", section)
    # The citation summary stays the last line.
    assert result.stdout.strip().splitlines()[-1].startswith("2 citations ")
