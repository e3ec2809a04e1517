"""`python build.py check` lists the numbered figures, tables, equations,
listings and sections, and where the text refers to each.

The manuscripts mix Quarto's ids (`fig-a`) and pandoc-crossref's (`fig:b`),
as authors who moved between the two do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_build, write_paper

COUNTER = ROOT / "tests" / "manuscripts" / "crossref" / "counter.svg"

MIXED = """\
---
title: Counting the towpath
bibliography: refs.bib
csl: apa.csl
---

# Method {#sec-method}

Towpaths are seldom counted ([Vu, 2021](#)). The counter is in @fig-a.

![A](a.svg){#fig-a}

![B](b.svg){#fig:b}

| Bridge | Mean |
|--------|-----:|
| Lock   |  410 |

: T {#tbl-x}

$$ x $$ {#eq-x}

As @sec-method says, [@fig-a; @tbl-x] agree.
"""

# The article's kind of manuscript: headings, a captioned figure and a
# table, but no ids and no references to them.
ARTICLE_LIKE = """\
---
title: Counting the towpath
bibliography: refs.bib
csl: apa.csl
---

# Method

Towpaths are seldom counted ([Vu, 2021](#)).

![An infrared counter.](a.svg)

| Bridge | Mean |
|--------|-----:|
| Lock   |  410 |

: Mean daily crossings.
"""


def check(folder: Path, text: str, *images: str):
    """`check` on `text` as folder/paper.md, run from the folder."""
    write_paper(folder, text)
    for name in images:
        shutil.copy(COUNTER, folder / name)
    result = run_build("check", "--manuscript", "paper.md", cwd=folder)
    assert result.returncode == 0, result.stderr
    return result


def section(stdout: str, heading: str) -> list[str]:
    """The lines of the report's section that starts with `heading`."""
    found = [block for block in stdout.split("\n\n") if block.startswith(heading)]
    assert len(found) == 1, stdout
    return found[0].splitlines()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return check(tmp_path_factory.mktemp("mixed"), MIXED, "a.svg", "b.svg")


def test_targets_listed_in_document_order_with_number_and_references(mixed):
    lines = section(mixed.stdout, "Cross-references in")
    # What the reader sees: the id, the label the text prints, and the
    # lines to look at; `[@fig-a; @tbl-x]` counts for both.
    assert lines[:6] == [
        "Cross-references in paper.md:",
        "  paper.md:7: sec-method  Section 1  referenced at line 23",
        "  paper.md:11: fig-a  Figure 1  referenced at lines 9, 23",
        "  paper.md:13: fig:b  Figure 2  not referenced",
        "  paper.md:19: tbl-x  Table 1  referenced at line 23",
        "  paper.md:21: eq-x  Equation 1  not referenced",
    ]


def test_only_the_unreferenced_figure_gets_a_note(mixed):
    lines = section(mixed.stdout, "Cross-references in")
    # The unreferenced equation is numbered for the reader's orientation:
    # no note for it; a figure nobody refers to is worth a look.
    assert lines[6:] == [
        "  paper.md:13: note: figure 'fig:b' (Figure 2) is never referenced"]
    # A note is no warning: the summary counts none.
    assert mixed.stdout.rstrip().endswith("0 errors, 0 warnings")
    assert mixed.stderr == ""


def test_citations_still_come_first_and_are_unchanged(mixed):
    assert section(mixed.stdout, "Citations in") == [
        "Citations in paper.md:",
        "  paper.md:9: 'Vu, 2021' -> vu2021  (Vu, 2021)"]
    # The cross-references are no citations.
    assert mixed.stdout.rstrip().splitlines()[-1].startswith("1 citations")


def test_the_filter_words_are_used(tmp_path: Path):
    text = (MIXED.replace("csl: apa.csl\n", "csl: apa.csl\nlang: de\n")
            .replace("@sec-method says", "@sec-method sagt"))
    lines = section(check(tmp_path, text, "a.svg", "b.svg").stdout,
                    "Cross-references in")
    # One line lower: the `lang` line in the front matter.
    assert lines[1:6] == [
        "  paper.md:8: sec-method  Abschnitt 1  referenced at line 24",
        "  paper.md:12: fig-a  Abbildung 1  referenced at lines 10, 24",
        "  paper.md:14: fig:b  Abbildung 2  not referenced",
        "  paper.md:20: tbl-x  Tabelle 1  referenced at line 24",
        "  paper.md:22: eq-x  Gleichung 1  not referenced",
    ]


def test_subfigures_listings_and_unnumbered_sections(tmp_path: Path):
    text = """\
---
bibliography: refs.bib
csl: apa.csl
---

# Data {#sec-data}

Towpaths are seldom counted ([Vu, 2021](#)); see @fig-s1.

::: {#fig-pair layout-ncol=2}
![East](a.svg){#fig-s1}

![West](b.svg){#fig-s2}

Both approaches
:::

```{#lst-tally .python lst-cap="The tally"}
total = sum(counts)
```
"""
    lines = section(check(tmp_path, text, "a.svg", "b.svg").stdout,
                    "Cross-references in")
    # The whole figure comes before its panels, as on the page; a
    # referenced panel stands for its figure and its sibling; a section
    # nobody refers to is not numbered (no `number-sections`).
    assert lines == [
        "Cross-references in paper.md:",
        "  paper.md:6: sec-data  Section (unnumbered)  not referenced",
        "  paper.md:10: fig-pair  Figure 1  not referenced",
        "  paper.md:11: fig-s1  Figure 1a  referenced at line 8",
        "  paper.md:13: fig-s2  Figure 1b  not referenced",
        "  paper.md:18: lst-tally  Listing 1  not referenced",
        "  paper.md:18: note: listing 'lst-tally' (Listing 1) is never referenced",
    ]


def test_no_section_without_targets(tmp_path: Path):
    result = check(tmp_path, ARTICLE_LIKE, "a.svg")
    assert "Cross-references" not in result.stdout
    # The report reads as it did before cross-references existed (and the
    # accessibility section, which came after).
    headings = [block.splitlines()[0] for block in result.stdout.split("\n\n")]
    assert [h.split(" (")[0].split(":")[0] for h in headings] == [
        "Citations in paper.md", "Tolerant matches", "Quotations",
        "Other warnings", "Accessibility", "1 citations"]
    assert result.stdout.rstrip().endswith("1 of 1 entries cited; 0 errors, "
                                           "0 warnings")
