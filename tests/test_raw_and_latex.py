"""Raw content of any format and LaTeX typed in Markdown, through the build.

Manuscripts written for other pipelines carry raw blocks of formats
panflute does not know (```{=comment}```, ```{=typst}```) and LaTeX commands
(`\\autoref{fig:x}`, `\\textbf{…}`, `$$… \\label{eq:x}$$`). The build reads
them without a traceback (pubbuild/pandoc.py), says once per element with
its line what it drops, and prints the words the commands carry in every
output (filters/latex.py).
"""

from __future__ import annotations

import datetime
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import panflute as pf
import pytest

import filters
from conftest import ROOT, run_build, write_paper
from filters import latex
from outputs import html_text, pdf_text
from pubbuild import formats, pandoc, pipeline

MANUSCRIPT = """\
---
title: Readers on the Train
author:
  - name: Kim Vu
bibliography: refs.bib
csl: {csl}
date: 2024-05-01
---

# Introduction

On the left side of \\autoref{{fig:share}} we see commuters \\textbf{{reading}}
on the train, as \\citet{{vu2021}} described it.

```{{=comment}}
Reviewer 2: cut this paragraph?
```

```{{=typst}}
#set page(columns: 2)
```

A page break `<w:r><w:br w:type="page"/></w:r>`{{=openxml}} for Word only.

$$a^n + b^n = c^n \\label{{eq:fermat}}$$

As \\eqref{{eq:fermat}} shows, \\emph{{nothing}} is lost \\citep[p.~4]{{vu2021}}.
Flagged by \\mycolour{{red}} ink.
"""
WHEN = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)


@pytest.fixture
def paper(tmp_path):
    return write_paper(tmp_path / "paper", MANUSCRIPT.format(csl="apa.csl"))


def _line(path: Path, snippet: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if snippet in line)


def _built(paper):
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    job = formats.Job(source.path, source.path.stem, source.reporter, WHEN)
    return source, doc, job


def test_raw_blocks_of_any_format_are_read_and_written_unchanged(tmp_path):
    # Formats panflute does not know made the read end in a TypeError.
    text = ("```{=typst}\n#set page(columns: 2)\n```\n\n"
            "Hidden `note`{=comment} and `x`{=made-up_format} kept.\n")
    doc = pandoc.parse_markdown(text, tmp_path / "paper.md")
    raw = []
    doc.walk(lambda e, d: raw.append((e.format, e.text))
             if isinstance(e, pf.RawBlock | pf.RawInline) else None)
    assert raw == [("typst", "#set page(columns: 2)"), ("comment", "note"),
                   ("made-up_format", "x")]
    # Unchanged through a copy (citeproc's JSON round trip) to a writer.
    out, _ = pandoc.write(pandoc.copy(doc), "markdown", [])
    assert b"{=typst}" in out and b"{=made-up_format}" in out


def test_each_kept_raw_format_reaches_only_its_writers():
    """`latex.KEPT` is what the writers do: what it calls kept is printed,
    and a format it drops is printed by none of them."""
    inlines = [pf.RawInline(f"RAW-{name}", format=name)
               for name in [*latex.KEPT, "typst", "comment"]]
    doc = pf.Doc(pf.Para(*inlines))
    html, _ = pandoc.write(doc, "html5", [])
    jats, _ = pandoc.write(doc, "jats_publishing", [])
    docx, _ = pandoc.write(doc, "docx", [])
    with zipfile.ZipFile(io.BytesIO(docx)) as word:
        docx_xml = word.read("word/document.xml")
    printed = {writer: {name for name in [*latex.KEPT, "typst", "comment"]
                        if f"RAW-{name}".encode() in out}
               for writer, out in [("html", html), ("jats", jats),
                                   ("docx", docx_xml)]}
    assert printed == {"html": {"html"}, "jats": {"jats"}, "docx": {"openxml"}}


def test_what_is_dropped_or_unresolved_is_said_once_with_its_line(paper):
    source, _, _ = _built(paper)
    said = [(d.line, d.source, d.message) for d in source.reporter.diagnostics
            if d.source in ("latex", "crossref")]
    assert said == [
        (_line(paper, "{=typst}"), "latex", "raw typst block dropped (no output "
                                            "format of this build uses it)"),
        (_line(paper, "mycolour"), "latex", "LaTeX command \\mycolour{red} is not "
                                            "supported here; kept as its text "
                                            "'mycolour{red}'"),
        # \eqref{eq:fermat} resolves (the labelled formula is equation 1);
        # \autoref{fig:share} names no figure: said, with the nearest id.
        (_line(paper, "autoref"), "crossref", "cross-reference to unknown id "
                                              "fig:share (it prints as the id); "
                                              "known ids: eq:fermat"),
    ]  # the comment goes silently; the openxml is kept for the DOCX


def test_the_words_of_the_latex_commands_are_in_the_html(paper):
    _, doc, job = _built(paper)
    markup = formats.html(doc, job).decode("utf-8")
    text = html_text(markup)
    # Before: "On the left side of we see commuters on the train, as described".
    assert "On the left side of ??fig:share we see commuters reading on the " \
           "train, as Vu (2021) described it." in text
    assert "As (1) shows, nothing is lost" in text  # \eqref, resolved
    assert "<strong>reading</strong>" in markup and "<em>nothing</em>" in markup
    assert "(Vu, 2021, p. 4)" in text  # \citep went through citeproc
    assert "mycolour{red} ink" in text
    # The formula without its label, and the label an anchor around it.
    assert 'id="eq:fermat"' in markup and "\\label" not in markup
    assert "label" not in markup.split('id="eq:fermat"')[1].split("</math>")[0]
    # The PDF's formula is drawn from the TeX without the label (its alt text).
    assert 'alt="Equation 1: a^n + b^n = c^n"' in formats.print_html(doc, job)
    # Nothing of the comment, the Typst or the Word markup in a web page.
    assert "Reviewer 2" not in markup and "#set page" not in markup
    assert "w:br" not in markup


def test_the_docx_keeps_the_openxml_and_nothing_of_the_comment(paper):
    _, doc, job = _built(paper)
    with zipfile.ZipFile(io.BytesIO(formats.docx(doc, job))) as word:
        body = word.read("word/document.xml").decode("utf-8")
    # The author's page break for Word is a page break in Word.
    assert '<w:br w:type="page"' in body
    assert "Reviewer 2" not in body and "#set page" not in body
    assert "reading" in body and "fig:share" in body


def test_the_filter_runs_alone_on_raw_formats_panflute_does_not_know(tmp_path):
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("```{=typst}\n#pagebreak()\n```\n\nSee \\textbf{this}.\n",
                          encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    proc = subprocess.run([pandoc.pandoc_path(), str(manuscript), "-t", "html",
                           "--filter", str(ROOT / "filters" / "latex.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "<strong>this</strong>" in proc.stdout
    assert "raw typst block dropped" in proc.stderr


def test_what_latex_makes_is_cleaned_like_any_link_or_raw_html(paper):
    text = paper.read_text(encoding="utf-8")
    paper.write_text(text + "\nClick \\href{javascript:steal()}{here}.\n\n"
                     "```{=html5}\n<p>Kept</p><script>steal()</script>\n```\n",
                     encoding="utf-8")
    _, doc, job = _built(paper)
    markup = formats.html(doc, job).decode("utf-8")
    # A script in a published page would run in every reader's browser.
    assert "steal()" not in markup and "javascript:" not in markup
    assert "Click here." in html_text(markup) and "<p>Kept</p>" in markup


def test_latex_runs_where_its_output_is_checked():
    # rawhtml checks the links (\href{javascript:…}) and raw HTML it leaves,
    # citations the Cites it makes; citeproc renders them.
    names = filters.NAMES
    assert names.index("latex") < names.index("rawhtml")
    assert names.index("latex") < names.index("citations") < names.index(
        filters.CITEPROC)


@pytest.mark.slow
def test_the_real_build_prints_the_words_and_no_latex(paper, tmp_path):
    out = tmp_path / "dist"
    result = run_build("--manuscript", str(paper), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "raw typst block dropped" in result.stderr
    text = pdf_text(out / "paper.pdf")
    assert "On the left side of ??fig:share we see commuters reading" in text
    assert "nothing is lost" in text and "(Vu, 2021, p. 4)" in text
    assert "\\label" not in text and "Reviewer 2" not in text \
        and "#set page" not in text
    # The formula is drawn (SVG) from its TeX without the label, which it
    # drew as "\label eq : fermat"; the tagged PDF carries that TeX as the
    # formula's alternative text.
    assert _alternative_texts(out / "paper.pdf") == ["Equation 1: a^n + b^n = c^n"]


def _alternative_texts(path: Path) -> list[str]:
    """The /Alt entries of the PDF's structure tree (its tags)."""
    from pypdf import PdfReader

    found, seen = [], set()

    def walk(node):
        node = node.get_object() if hasattr(node, "get_object") else node
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, dict):
            if "/Alt" in node:
                found.append(str(node["/Alt"]))
            for key, value in node.items():
                if key not in ("/P", "/Parent", "/Pg"):  # not back up the tree
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(PdfReader(path).trailer["/Root"].get("/StructTreeRoot"))
    return found
