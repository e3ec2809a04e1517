"""Cross-references in the JATS (pubbuild/jatsxref.py): what
filters/crossref.py numbered arrives as JATS structure, `<label>`s on the
figures, tables, listings, equations and sections, and typed `<xref>`s
whose `rid` names them, in a file that validates."""

from __future__ import annotations

import collections
import datetime
import re
import shutil

import pytest
from lxml import etree
from lxml import html as lxml_html

from conftest import ROOT, run_build, write_paper
from pubbuild import formats, jatsxref, pandoc, pipeline, submission

WHEN = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
MML = "{http://www.w3.org/1998/Math/MathML}"

# Quarto's and pandoc-crossref's syntaxes mixed, as authors mix them.
MANUSCRIPT = """\
---
title: "Counting Locks"
author: Ada Lovegrove
date: 2024-05-01
bibliography: refs.bib
csl: apa.csl
---

# Introduction {#sec-intro}

The counter is in @fig-x, the bridge and totals in [@fig:y; @tbl:z]
(figure -@fig:y again), the model is @eq-x, the protocol is in
@sec-method, both views are in @fig-s, the first of them alone in
@fig-sa, and the code is @lst-x, as in [@vu2021]. We counted 410 crossings.

# Method {#sec-method}

![An infrared counter.](counter.svg){#fig-x}

![The footbridge plan.](bridge.svg){#fig:y}

| Bridge | Mean |
|--------|-----:|
| Lock   |  410 |
| Mill   |  285 |

: Mean daily crossings. {#tbl:z}

$$ a^2 $$ {#eq-x}

::: {#fig-s}
![Counter view](counter.svg){#fig-sa}

![Bridge view](bridge.svg){#fig-sb}

Two views of bridge 7.
:::

```{#lst-x .python lst-cap="Code"}
print("counted", 410)
```

## Checks {#sec-checks}

Counts were checked by hand on 3 mornings.
"""

# What a reference's @ref-type promises about the element its @rid names.
ELEMENTS = {"fig": {"fig", "fig-group"}, "table": {"table-wrap"},
            "disp-formula": {"disp-formula"}, "sec": {"sec"}}


def _built(folder, text: str, images: bool = True):
    paper = write_paper(folder, text)
    if images:
        for svg in (ROOT / "tests" / "manuscripts" / "crossref").glob("*.svg"):
            shutil.copy(svg, folder / svg.name)
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    return doc, formats.Job(source.path, source.path.stem, source.reporter, WHEN)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """(JATS root, HTML root) of the manuscript, made in-process."""
    doc, job = _built(tmp_path_factory.mktemp("xref") / "paper", MANUSCRIPT)
    jats = formats.jats(doc, job)  # raises if the file does not validate
    return etree.fromstring(jats), lxml_html.fromstring(formats.html(doc, job))


@pytest.fixture(scope="module")
def jats(outputs):
    return outputs[0]


def _by_id(root) -> dict:
    return {e.get("id"): e for e in root.iter() if e.get("id")}


def _plain(elem) -> str:
    """The text, white space (the no-break space included) made single."""
    return " ".join("".join(elem.itertext()).split())


def _label(elem) -> str | None:
    label = elem.find("label")
    return None if label is None else _plain(label)


def _target(jats, source_id: str):
    """The element for a manuscript id, as pandoc escapes it (`fig:y` ->
    `figU003Ay`): found through the xref that names it."""
    wanted = source_id.replace(":", "U003A")
    return _by_id(jats)[wanted]


def test_every_xref_names_an_element_of_its_type(outputs):
    jats, page = outputs
    ids = _by_id(jats)
    xrefs = [x for x in jats.find("body").iter("xref")
             if x.get("ref-type") != "bibr"]
    # Every reference the HTML links, and each to an element of its type:
    # else a reader's link goes nowhere, or a JATS consumer files a table
    # reference under figures.
    assert len(xrefs) == len(page.xpath("//a[@class='xref']")) == 9
    for xref in xrefs:
        assert xref.get("rid") in ids, xref.get("rid")
        assert ids[xref.get("rid")].tag in ELEMENTS[xref.get("ref-type")], (
            xref.get("rid"), xref.get("ref-type"), ids[xref.get("rid")].tag)
    assert {x.get("ref-type") for x in xrefs} == set(ELEMENTS)
    # The colon of pandoc-crossref's ids is escaped alike in id and rid.
    assert {x.get("rid") for x in xrefs} >= {"figU003Ay", "tblU003Az"}


def test_figures_tables_listings_and_equations_carry_their_labels(jats):
    expected = {"fig-x": ("fig", "Figure 1"), "fig:y": ("fig", "Figure 2"),
                "fig-s": ("fig-group", "Figure 3"), "fig-sa": ("fig", "(a)"),
                "fig-sb": ("fig", "(b)"), "tbl:z": ("table-wrap", "Table 1"),
                "lst-x": ("fig", "Listing 1"), "eq-x": ("disp-formula", "(1)")}
    for source_id, (tag, label) in expected.items():
        elem = _target(jats, source_id)
        assert (elem.tag, _label(elem)) == (tag, label), source_id
    # The subfigures stay inside their group, in order.
    group = _target(jats, "fig-s")
    assert [f.get("id") for f in group.findall("fig")] == ["fig-sa", "fig-sb"]
    listing = _target(jats, "lst-x")
    assert listing.get("fig-type") == "listing"
    assert listing.find("code").text == 'print("counted", 410)'
    # The table's id is on the wrapper that holds label and caption, once.
    assert _target(jats, "tbl:z").find("table").get("id") is None


def test_captions_no_longer_carry_the_label(jats):
    captions = {source_id: _plain(_target(jats, source_id).find("caption"))
                for source_id in ("fig-x", "fig:y", "fig-s", "fig-sa", "tbl:z",
                                  "lst-x")}
    # "Figure 1: An infrared counter." would print as "Figure 1 Figure 1: …".
    assert captions == {"fig-x": "An infrared counter.",
                        "fig:y": "The footbridge plan.",
                        "fig-s": "Two views of bridge 7.",
                        "fig-sa": "Counter view", "tbl:z": "Mean daily crossings.",
                        "lst-x": "Code"}


def test_the_equation_is_one_formula_with_its_number_once(jats):
    formula = _target(jats, "eq-x")
    # The number as the formula's label, not also as text beside it.
    assert _plain(formula).startswith("(1)")
    assert _plain(formula.getparent()).count("(1)") == 1
    assert formula.find("alternatives/tex-math").text.strip() == "a^2"
    assert formula.find(f"alternatives/{MML}math") is not None


def test_sections_are_labelled_with_their_numbers(jats):
    sections = {s.get("id"): (_label(s), _plain(s.find("title")))
                for s in jats.iter("sec")}
    assert sections == {"sec-intro": ("1", "Introduction"),
                        "sec-method": ("2", "Method"),
                        "sec-checks": ("2.1", "Checks")}


def test_no_crossref_mark_is_left_as_named_content(jats):
    kinds = {e.get("content-type") for e in jats.iter("named-content")}
    assert kinds.isdisjoint({"xref-label", "xref-delim", "equation",
                             "equation-number", "header-section-number"})


def _words(elem, skip) -> collections.Counter:
    """The words of `elem`'s text, outside the subtrees `skip` names."""
    found: list[str] = []

    def walk(node):
        if not skip(node):
            found.extend(re.findall(r"\w+", node.text or ""))
            for child in node:
                walk(child)
        found.extend(re.findall(r"\w+", node.tail or ""))

    walk(elem)
    return collections.Counter(found)


def test_no_word_or_number_is_lost_or_doubled_against_the_html(outputs):
    jats, page = outputs
    # Math is written twice in JATS (TeX and MathML) and the image's alt
    # text is an element there, an attribute in HTML: neither is body text,
    # nor is the HTML's table of contents (inside the article, after the
    # abstract, so that a phone shows the title first).
    in_jats = _words(jats.find("body"), lambda e: e.tag in (
        "tex-math", "alt-text", f"{MML}math"))
    [article] = page.xpath("//main//article")
    in_html = _words(article, lambda e: isinstance(e.tag, str) and (
        e.tag in ("header", "nav", f"{MML}math", "math")
        or e.get("id") == "bibliography"))
    # Every "Figure", "1", "2.1" and "(a)" the reader sees in the HTML, as
    # often, the caption delimiter aside.
    assert in_jats == in_html, (in_jats - in_html, in_html - in_jats)


def test_a_document_without_these_marks_is_written_as_pandoc_writes_it(tmp_path):
    text = ("---\ntitle: Plain\nbibliography: refs.bib\ncsl: apa.csl\n---\n\n"
            "# Start\n\nText [@vu2021], a [link](#start), $x$ and\n\n"
            "$$ y^2 $$\n\n![](counter.svg)\n\n"
            "| a |\n|---|\n| 1 |\n")
    doc, job = _built(tmp_path / "paper", text)
    written, _ = pandoc.write(pandoc.copy(doc), "jats_publishing",
                              ["--standalone"], file=job.manuscript, env=job.env)
    # Nothing numbered: byte for byte what pandoc wrote.
    assert jatsxref.finish(written) is written


def test_a_number_outside_a_section_title_is_dropped_not_duplicated():
    xml = (b'<?xml version="1.0"?>\n<article><body><boxed-text><title>'
           b'<named-content content-type="header-section-number">4</named-content>'
           b' Aside</title></boxed-text></body></article>\n')
    out = jatsxref.finish(xml)
    assert out.startswith(b'<?xml version="1.0"?>\n<article>')
    assert b"<title>Aside</title>" in out and b"<label>" not in out


@pytest.mark.slow
def test_the_command_line_builds_valid_jats_with_typed_xrefs(tmp_path):
    folder = tmp_path / "paper"
    write_paper(folder, MANUSCRIPT)
    for svg in (ROOT / "tests" / "manuscripts" / "crossref").glob("*.svg"):
        shutil.copy(svg, folder / svg.name)
    out = tmp_path / "dist"
    result = run_build("-q", "--manuscript", str(folder / "paper.md"),
                       "--out", str(out), "jats")
    assert result.returncode == 0, result.stderr
    data = (out / "paper.jats.xml").read_bytes()
    assert submission.validate_jats(data) == []
    root = etree.fromstring(data)
    assert _label(_target(root, "fig:y")) == "Figure 2"
    assert {x.get("ref-type") for x in root.find("body").iter("xref")} == {
        *ELEMENTS, "bibr"}
