"""Cross-reference mistakes, as the author meets them on the command line.

An unknown id is a warning that names the line and the nearest ids (an
error under `--strict`); two things with one id, an id that is also a
bibliography key, and a bracket that mixes a cross-reference with a
citation stop the build with one line naming file:line, exit status 1,
and the outputs of the last good build kept.
"""

from __future__ import annotations

import shutil

import pytest

from badinput import one_error_line
from conftest import ROOT, run_build, write_paper

pytestmark = pytest.mark.slow  # real builds, in a child process each

FRONT = """\
---
title: Gulls
bibliography: refs.bib
csl: apa.csl
date: 2024-06-01
---

"""
GOOD = FRONT + """\
![Nests on the breakwater.](map.svg){#fig-nests}

As @fig-nests shows, the gulls came back [@vu2021].
"""
BIB_WITH_ID = """\
@online{vu2021,
  author = {Vu, K.},
  date   = {2021},
  title  = {With lukewarm diplomacy},
  url    = {https://example.org/vu},
}

@misc{fig-nests,
  author = {Harbour Office},
  title  = {Nest map},
  date   = {2019},
}
"""


def _paper(tmp_path, text, bib=None):
    folder = tmp_path / "paper"
    paper = write_paper(folder, text, **({"bib": bib} if bib else {}))
    shutil.copy(ROOT / "tests" / "manuscripts" / "crossref" / "counter.svg",
                folder / "map.svg")
    return paper


def _line(paper, snippet: str) -> int:
    lines = paper.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if snippet in line)


def test_an_unknown_id_is_a_warning_with_the_nearest_and_strict_stops(tmp_path):
    paper = _paper(tmp_path, GOOD.replace("As @fig-nests", "As @fig-nest"))
    out = tmp_path / "out"
    result = run_build("--manuscript", str(paper), "--out", str(out), "html")
    assert result.returncode == 0, result.stderr
    expected = (f"paper.md:{_line(paper, '@fig-nest ')}: warning: cross-reference "
                "to unknown id fig-nest (it prints as the id); nearest ids: fig-nests")
    assert expected in result.stderr
    assert "??fig-nest" in (out / "paper.html").read_text(encoding="utf-8")

    strict = run_build("-q", "--strict", "--manuscript", str(paper), "--out",
                       str(tmp_path / "strict"), "html")
    line = one_error_line(strict)
    assert f"paper.md:{_line(paper, '@fig-nest ')}:" in line
    assert "unknown id fig-nest" in line and "(--strict)" in line
    assert not (tmp_path / "strict" / "paper.html").exists()


@pytest.mark.parametrize("case", ["duplicate", "bibliography key", "mixed bracket"])
def test_a_mistake_stops_the_build_with_one_line_and_keeps_the_outputs(tmp_path, case):
    paper = _paper(tmp_path, GOOD)
    out = tmp_path / "out"
    assert run_build("--manuscript", str(paper), "--out", str(out), "html"
                     ).returncode == 0
    good = (out / "paper.html").read_bytes()
    assert "Figure\u00a01" in good.decode("utf-8")
    if case == "duplicate":
        paper.write_text(GOOD + "\n| a |\n|---|\n| 1 |\n\n: Counts. {#fig-nests}\n",
                         encoding="utf-8")
        where, words = _line(paper, ": Counts."), ("duplicate id 'fig-nests'",
                                                   "first at line 8")
    elif case == "bibliography key":
        paper = _paper(tmp_path, GOOD, bib=BIB_WITH_ID)
        where, words = _line(paper, "{#fig-nests}"), (
            "id 'fig-nests' of a figure is also a key in the bibliography",
            "refs.bib:8")
    else:
        paper.write_text(GOOD.replace("[@vu2021]", "[@fig-nests; @vu2021]"),
                         encoding="utf-8")
        where, words = _line(paper, "[@fig-nests; @vu2021]"), (
            "mixes cross-references and citations",)
    result = run_build("-q", "--manuscript", str(paper), "--out", str(out), "html")
    line = one_error_line(result)
    assert f"paper.md:{where}: " in line, line
    for word in words:
        assert word in line, line
    assert (out / "paper.html").read_bytes() == good  # the last good build stays
