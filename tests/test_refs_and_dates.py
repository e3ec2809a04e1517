"""Manuscripts from other pipelines: their own reference heading, and their
`date:` as people write it.

The reference list goes under the manuscript's own heading (`# References`,
`# Bibliography {-}`, `## Works Cited`, a `::: {#refs}` div), once, with
the entries and their back-links; the build adds its own heading only when
the manuscript has none (filters/refsection.py). A `date:` in any of the
usual forms dates the build when nothing else does, Quarto's `today` and
`last-modified` print the sources' date, never the wall clock's, and a date
the build cannot read is a warning at its line (pubbuild/clock.py).

Pandoc's Markdown writer leaves out an empty div at the very end, so the
golden cases (tests/filters/refsection/) cannot show the `refs` div after a
final heading: these tests check it on the finished AST.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import panflute as pf
import pytest

from conftest import GOOD_BIB, paper_folder, run_build
from pubbuild import clock, frontmatter, pipeline

FRONT = """\
---
title: A Small Paper
bibliography: refs.bib
csl: apa.csl
{extra}---

# Introduction

The talks stalled [@vu2021].

"""

REFERENCE_NAMES = {"references", "bibliography", "works cited"}
SDE_2021_01_29 = "1611921600"  # 2021-01-29 12:00 UTC


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A manuscript's folder outside any git repository, with no
    SOURCE_DATE_EPOCH: the front matter's date is the only one."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return paper_folder(tmp_path / "paper")


def _write(folder, body: str = "", extra: str = ""):
    path = folder / "paper.md"
    path.write_text(FRONT.format(extra=extra) + body, encoding="utf-8")
    return path


def _finished(path) -> tuple[pipeline.Source, pf.Doc]:
    source = pipeline.read(path)
    return source, pipeline.run_filters(source)


def _reference_headings(doc: pf.Doc) -> list[pf.Header]:
    found = []
    doc.walk(lambda e, _d: found.append(e) if isinstance(e, pf.Header) and
             pf.stringify(e).casefold().rstrip(":") in REFERENCE_NAMES else None)
    return found


def _refs(doc: pf.Doc) -> pf.Div:
    found = []
    doc.walk(lambda e, _d: found.append(e) if isinstance(e, pf.Div)
             and e.identifier == "refs" else None)
    assert len(found) == 1, "the reference list should be one `refs` div"
    return found[0]


def _after(heading: pf.Header) -> list[pf.Block]:
    return list(heading.parent.content[heading.index + 1:])


# -- the reference heading ---------------------------------------------------

@pytest.mark.parametrize("heading", [
    "# References", "# Bibliography", "# References {-}",
    "# References {.unnumbered}", "## Works Cited", "# REFERENCES",
    "### Bibliography:",
])
def test_the_manuscripts_own_heading_heads_the_list_once(folder, heading):
    source, doc = _finished(_write(folder, f"{heading}\n"))
    headings = _reference_headings(doc)
    # Two "References" headings (and two in the table of contents) otherwise.
    assert len(headings) == 1, [pf.stringify(h) for h in headings]
    assert headings[0].level == heading.count("#")
    assert "unnumbered" in headings[0].classes  # as citeproc's own heading
    # The list is right under it, with the cited entry and its back-link.
    refs = _refs(doc)
    assert _after(headings[0]) == [refs]
    entries = [d for d in refs.content if isinstance(d, pf.Div)]
    assert [e.identifier for e in entries] == ["ref-vu2021"]
    assert "With lukewarm diplomacy" in pf.stringify(entries[0])
    links = []
    entries[0].walk(lambda e, _d: links.append(e.url)
                    if isinstance(e, pf.Link) else None)
    assert "#cite-1" in links, "the entry should link back to its citation"
    assert "reference-section-title" not in doc.metadata
    assert not source.reporter.diagnostics


def test_a_heading_in_the_middle_gets_the_list_before_the_appendix(folder):
    body = ("# References\n\nEntries marked * were interviews.\n\n"
            "# Appendix A\n\nThe questionnaire.\n")
    _, doc = _finished(_write(folder, body))
    (heading,) = _reference_headings(doc)
    after = _after(heading)
    # The note under the heading, then the list, then the appendix unchanged.
    assert pf.stringify(after[0]).startswith("Entries marked")
    assert after[1] is _refs(doc)
    assert isinstance(after[2], pf.Header) and pf.stringify(after[2]) == "Appendix A"
    assert "With lukewarm diplomacy" in pf.stringify(after[1])
    assert pf.stringify(after[3]).strip() == "The questionnaire."


def test_an_existing_refs_div_is_where_the_list_goes(folder):
    body = "# References\n\n::: {#refs}\n:::\n\n# Appendix\n\nThe questionnaire.\n"
    _, doc = _finished(_write(folder, body))
    (heading,) = _reference_headings(doc)
    refs = _refs(doc)
    assert _after(heading)[0] is refs
    assert "With lukewarm diplomacy" in pf.stringify(refs)
    assert "unnumbered" not in heading.classes  # the author's, untouched


def test_without_a_heading_the_build_adds_one(folder):
    _, doc = _finished(_write(folder, "# Conclusion\n\nDone.\n"))
    (heading,) = _reference_headings(doc)
    assert pf.stringify(heading) == "References"
    assert heading.identifier == "bibliography"  # citeproc's, at the end
    assert _after(heading) == [_refs(doc)]
    assert pf.stringify(doc.content[heading.index - 1]).strip() == "Done."


def test_entry_quotes_are_still_paired_under_the_authors_heading(folder):
    (folder / "refs.bib").write_text(GOOD_BIB.replace(
        "With lukewarm diplomacy", 'Seoul seeks "speedy resumption" of talks'),
        encoding="utf-8")
    _, doc = _finished(_write(folder, "# Bibliography\n"))
    quoted = []
    _refs(doc).walk(lambda e, _d: quoted.append(pf.stringify(e))
                    if isinstance(e, pf.Quoted) else None)
    # refquotes ran on the entries citeproc wrote into the author's section.
    assert quoted == ['"speedy resumption"']


# -- dates --------------------------------------------------------------------

JAN_29 = dt.datetime(2021, 1, 29, tzinfo=dt.UTC)
JAN_1 = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "moment"), [
    ("29 January 2021", JAN_29), ("January 29, 2021", JAN_29),
    ("29 Jan 2021", JAN_29), ("29th Jan. 2021", JAN_29),
    ("Friday, 29 January 2021", JAN_29), ("2021-01-29", JAN_29),
    ("2021-01-29T10:30:00Z", JAN_29), (dt.date(2021, 1, 29), JAN_29),
    ("2021-01", JAN_1), ("January 2021", JAN_1), ("2021", JAN_1), (2021, JAN_1),
])
def test_a_date_as_people_write_it_dates_the_build(value, moment, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    # Outside git, without SOURCE_DATE_EPOCH: else every output says 1980.
    assert clock.build_time([], value) == clock.BuildTime(moment, "date")


@pytest.mark.parametrize("value", ["Spring 2021", "01/02/2021", "31 February 2021",
                                   "29 Janvier 2021", "soon"])
def test_a_date_that_names_no_day_is_not_guessed(value):
    assert clock.parse_date(value) is None


@pytest.mark.parametrize(("line", "printed"), [
    ("date: 29 January 2021", "29 January 2021"),
    ("date: January 29, 2021", "January 29, 2021"),
    ("date: 2021-01-29", "2021-01-29"),  # YAML reads a date object
    ("date: 2021", "2021"),
])
def test_the_front_matter_date_is_printed_as_written_and_dates_the_build(
        folder, line, printed):
    path = _write(folder, "", extra=line + "\n")
    source, doc = _finished(path)
    assert doc.get_metadata("date") == printed  # the title block's $date$
    _, when = pipeline.plan(source, doc)
    assert when.origin == "date" and when.moment.year == 2021
    assert not source.reporter.warnings  # not "no date:", not 1980-01-01
    # The no-op check reads the front matter without pandoc: the same date.
    value = frontmatter.fields(path.read_text(encoding="utf-8"))["date"]
    assert clock.build_time([path], value) == when


@pytest.mark.parametrize("keyword", ["today", "last-modified"])
def test_today_is_the_source_date_not_the_wall_clock(folder, monkeypatch, keyword):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SDE_2021_01_29)
    source, doc = _finished(_write(folder, "", extra=f"date: {keyword}\n"))
    # The title block prints the day, not the word.
    assert doc.get_metadata("date") == "29 January 2021"
    _, when = pipeline.plan(source, doc)
    assert when.origin == "SOURCE_DATE_EPOCH"
    assert not source.reporter.warnings


def test_last_modified_is_the_day_of_the_sources_commit(folder):
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org",
           "GIT_AUTHOR_DATE": "2021-03-04T10:00:00Z",
           "GIT_COMMITTER_DATE": "2021-03-04T10:00:00Z",
           "HOME": str(folder), "PATH": "/usr/bin:/bin"}
    path = _write(folder, "", extra="date: last-modified\nlang: de\n")
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *command], cwd=folder, env=env, check=True)
    _, doc = _finished(path)
    # In German the day is written as ISO 8601, not with English month names.
    assert doc.get_metadata("date") == "2021-03-04"


def test_today_with_nothing_to_resolve_it_prints_no_date(folder):
    source, doc = _finished(_write(folder, "", extra="date: today\n"))
    assert "date" not in doc.metadata  # rather than the word, or 1980
    (warning,) = [w for w in source.reporter.warnings if "date" in w.message]
    assert warning.line == 5 and "`date: today`" in warning.message


def test_an_unreadable_date_is_a_warning_at_its_line(folder):
    source, doc = _finished(_write(folder, "", extra="date: Spring 2021\n"))
    assert doc.get_metadata("date") == "Spring 2021"  # printed as written
    (warning,) = source.reporter.warnings
    assert (warning.file, warning.line) == (folder / "paper.md", 5)
    assert "`date: Spring 2021`" in warning.message
    assert "no `date:`" not in str(warning)
    _, when = pipeline.plan(source, doc)
    # Not the fallback's "no date" warning a second time: this origin.
    assert (when.moment, when.origin) == (clock.FALLBACK, clock.UNREADABLE)


def test_an_unreadable_date_matters_only_when_nothing_else_dates_the_build(
        folder, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SDE_2021_01_29)
    source, doc = _finished(_write(folder, "", extra="date: Spring 2021\n"))
    assert doc.get_metadata("date") == "Spring 2021"
    assert not source.reporter.warnings


# -- the build ---------------------------------------------------------------

@pytest.mark.slow
def test_the_html_has_one_references_heading_and_one_toc_entry(folder, tmp_path):
    path = _write(folder, "# Discussion\n\nMore [@vu2021].\n\n# References\n",
                  extra="date: 29 January 2021\n")
    out = tmp_path / "out"
    result = run_build("--manuscript", str(path), "--out", str(out), "html")
    assert result.returncode == 0, result.stderr
    assert "no `date:`" not in result.stderr
    html = (out / "paper.html").read_text(encoding="utf-8")
    toc = re.search(r'<nav id="TOC".*?</nav>', html, re.S)
    assert toc, "the HTML should have its table of contents"
    body = html[toc.end():]
    headings = re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", body, re.S)
    # Readers would see the list's heading twice (and twice in the contents).
    assert [h for h in headings if h.strip() == "References"] == ["References"]
    assert toc[0].count(">References<") == 1
    assert body.count('class="csl-entry"') == 1
    assert "With lukewarm diplomacy" in body
    assert '<p class="date">29 January 2021</p>' in html
