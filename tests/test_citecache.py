"""The watcher's citeproc shortcut (pubbuild.citecache) gives what citeproc
gives: on every test manuscript, an edit that leaves the citations alone
is answered from the last run, and the document is the same as a real
citeproc run's; an edit that changes a citation runs citeproc again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import manuscripts
from pubbuild import citecache, pandoc, pipeline
from pubbuild.paths import ROOT


@pytest.fixture
def counted(monkeypatch):
    """citecache on, no record, and the real citeproc runs counted."""
    runs = []
    real = pandoc.citeproc

    def citeproc(doc, **kwargs):
        runs.append(1)
        return real(doc, **kwargs)

    monkeypatch.setattr(pandoc, "citeproc", citeproc)
    monkeypatch.setattr(citecache, "enabled", True)
    citecache.forget()
    yield runs
    citecache.forget()


def _copy(name: str, tmp: Path) -> Path:
    """The manuscript's folder (and the article's bib/ beside it) in tmp."""
    path = manuscripts()[name]
    shutil.copytree(path.parent, tmp / path.parent.name)
    if name == "article":
        shutil.copytree(ROOT / "bib", tmp / "bib")
    return tmp / path.parent.name / path.name


def _filtered(path: Path) -> str:
    return pandoc.to_json(pipeline.run_filters(pipeline.read(path)))


def _edit_words(text: str) -> str:
    """The first plain paragraph line (no citation, no markup at its start)
    gets its first word changed, and a paragraph is added after it."""
    front_end = text.index("\n---", 3) + 4
    body = text[front_end:]
    match = re.search(r"(?m)^([A-Z][a-z]+)([^\n@\[\]]*)$", body)
    assert match, "no plain paragraph line to edit"
    edited = (body[:match.start()] + "Edited" + match.group(2)
              + "\n\nA paragraph added while watching." + body[match.end():])
    return text[:front_end] + edited


@pytest.mark.parametrize("name", sorted(manuscripts()))
def test_an_edit_without_citations_is_answered_as_citeproc_answers_it(
        name, tmp_path, counted):
    paper = _copy(name, tmp_path)
    _filtered(paper)  # the watcher's first build: citeproc runs, is kept
    paper.write_text(_edit_words(paper.read_text(encoding="utf-8")), encoding="utf-8")
    before = len(counted)
    reused = _filtered(paper)
    skipped = len(counted) == before
    citecache.forget()
    real = _filtered(paper)
    assert reused == real
    if name == "article":  # author-date, its list at the end: always kept
        assert skipped, "citeproc ran again for an edit without citations"


def test_a_changed_citation_runs_citeproc_again(tmp_path, counted):
    paper = _copy("article", tmp_path)
    _filtered(paper)
    text = paper.read_text(encoding="utf-8")
    assert "([Snyder, 2019](#))" in text
    paper.write_text(text.replace("([Snyder, 2019](#))",
                                  "([Snyder, 2019, p. 4](#))", 1), encoding="utf-8")
    before = len(counted)
    reused = _filtered(paper)
    assert len(counted) == before + 1
    citecache.forget()
    assert reused == _filtered(paper)


def test_a_changed_bibliography_runs_citeproc_again(tmp_path, counted):
    paper = _copy("article", tmp_path)
    _filtered(paper)
    bib = tmp_path / "bib" / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace(
        "Snyder", "Snyderr", 1), encoding="utf-8")
    before = len(counted)
    _filtered(paper)
    assert len(counted) == before + 1


def test_off_outside_the_watcher(tmp_path, monkeypatch):
    runs = []
    real = pandoc.citeproc
    monkeypatch.setattr(pandoc, "citeproc", lambda doc, **kw: runs.append(1) or
                        real(doc, **kw))
    assert citecache.enabled is False
    paper = _copy("article", tmp_path)
    _filtered(paper)
    _filtered(paper)
    assert len(runs) == 2
