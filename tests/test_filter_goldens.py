"""Golden cases of every filter, through the one harness (tests/goldens.py).

Each `tests/filters/<filter>/<case>.md` is read as the build reads it and
run through its filter in-process (a filter after citeproc gets citeproc's
result, as in the build); the result, written back as pandoc Markdown
(metadata as YAML), plus every diagnostic or the error, must equal
`<case>.out.md`. Regenerate after a deliberate change with `python -m
pytest tests/test_filter_goldens.py --update-goldens` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import panflute as pf
import pytest

import filters
from conftest import ROOT
from goldens import CASES_DIR, cases, expected, run_case
from pubbuild import pandoc

CASES = [case for name in filters.MODULES for case in cases(name)]


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(case, update_goldens):
    actual, _ = run_case(case)
    expected_path = expected(case)
    if update_goldens:
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no golden for {case.name}: run --update-goldens"
    # A difference here means readers would see other bylines, citations,
    # figures, markup, punctuation or links than before.
    assert actual == expected_path.read_text(encoding="utf-8")


def test_every_filter_has_golden_cases():
    """A registered filter without cases would go untested, and a folder
    named after no filter would be cases that never run."""
    missing = [name for name in filters.MODULES if not cases(name)]
    assert not missing, f"no golden cases in tests/filters/ for {missing}"
    folders = {path.name for path in CASES_DIR.iterdir() if path.is_dir()}
    assert folders <= set(filters.MODULES), (
        f"folders for no registered filter: {sorted(folders - set(filters.MODULES))}")


def test_no_golden_without_its_case():
    # Left behind by a renamed or deleted case, it would be checked by nothing.
    inputs = {case.with_suffix("") for case in CASES}
    stale = [path.name for path in CASES_DIR.glob("*/*.out.md")
             if path.with_suffix("").with_suffix("") not in inputs]
    assert not stale, f"goldens without a case: {stale}"


def test_authors_metadata_keys_are_consumed():
    _, doc = run_case(CASES_DIR / "authors" / "joss.md")
    # Left in, `authors`/`affiliations` would reach other writers' metadata.
    assert "authors" not in doc.metadata.content
    assert "affiliations" not in doc.metadata.content
    assert doc.get_metadata("author") == ["Adrian M. Price-Whelan", "Ludwig Beethoven"]


def test_backlinks_point_at_every_citation_of_an_entry():
    _, doc = run_case(CASES_DIR / "backlinks" / "cited_twice.md")
    anchors = []
    doc.walk(lambda e, d: anchors.append(e.identifier)
             if isinstance(e, pf.Span) and "citation" in e.classes else None)
    assert anchors == ["cite-1", "cite-2", "cite-3", "cite-4"]
    links = {}

    def collect(elem, _doc):
        if isinstance(elem, pf.Div) and elem.identifier.startswith("ref-"):
            found = []
            elem.walk(lambda e, d: found.append(e.url) if isinstance(e, pf.Link)
                      and e.url.startswith("#cite-") else None)
            links[elem.identifier] = found

    doc.walk(collect)
    # Vu is cited in the text twice and once in a footnote; Lee twice;
    # the nocite entry has no citation to go back to.
    assert links == {"ref-lee2021": ["#cite-2", "#cite-3"],
                     "ref-vu2021": ["#cite-1", "#cite-2", "#cite-4"],
                     "ref-uncited2020": []}


STANDALONE = [ROOT / "filters" / f"{name}.py" for name in filters.MODULES]


@pytest.mark.parametrize("script", STANDALONE, ids=lambda path: path.stem)
def test_each_filter_runs_as_a_pandoc_filter(script, tmp_path):
    """`pandoc --filter filters/NAME.py` works on its own, as the
    conventions promise authors who use the filters outside this build."""
    import os
    import subprocess
    import sys

    manuscript = tmp_path / "paper.md"
    manuscript.write_text(
        f"---\ntitle: T\nbibliography: {ROOT / 'bib' / 'references.bib'}\n"
        f"csl: {ROOT / 'bib' / 'apa.csl'}\n---\n\n"
        'Hello <span onclick="steal()">world</span> (Vu, 2021).\n', encoding="utf-8")
    # pandoc runs a .py filter with the `python3` on PATH: this one's.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    proc = subprocess.run([pandoc.pandoc_path(), str(manuscript), "-t", "html",
                           "--filter", str(script)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Hello" in proc.stdout and "world" in proc.stdout  # no words lost
    if script.stem == "rawhtml":
        assert "onclick" not in proc.stdout
        assert "the onclick handler of <span> removed" in proc.stderr
    if script.stem == "citations":
        assert 'data-cites="vu2021"' in proc.stdout
