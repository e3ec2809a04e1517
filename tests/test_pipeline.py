"""The pipeline (pubbuild/pipeline.py), in-process on a small manuscript:
read once, the filters in the registry's order sharing one context, the
formats written from the one AST, and the no-op check that follows."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib

import panflute as pf
import pytest

import filters
from conftest import write_paper
from pubbuild import pipeline, uptodate
from pubbuild.diagnostics import BuildError

MANUSCRIPT = """\
---
title: A Small Paper
author:
  - name: Kim Vu
bibliography: refs.bib
csl: {csl}
date: 2024-05-01
---

# Introduction

The talks stalled "again" -- as before ([Vu, 2021](#)).

![A figure](figure.png)
"""


def _png() -> bytes:
    """A valid 1×1 PNG, made here rather than kept as a binary file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (struct.pack(">I", len(data)) + body
                + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def paper(tmp_path):
    path = write_paper(tmp_path / "paper", MANUSCRIPT.format(csl="apa.csl"))
    (path.parent / "figure.png").write_bytes(_png())
    return path


def test_the_filters_share_one_context_and_leave_what_the_build_reads(paper):
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    shared = doc.context
    assert shared.reporter is source.reporter and shared.index is source.index
    # figures -> the manifest's sources; citations -> check's report
    assert shared.image_files == [paper.parent / "figure.png"]
    assert [record.keys for record in shared.citation_records] == [["vu2021"]]
    # quotes paired the straight quotes; citeproc wrote the reference list
    assert shared.quotes_paired == 1
    quoted = []
    doc.walk(lambda e, d: quoted.append(e) if isinstance(e, pf.Quoted) else None)
    assert [pf.stringify(q) for q in quoted] == ['"again"']
    assert "With lukewarm diplomacy" in pf.stringify(doc)
    # backlinks ran after citeproc: the entry links back to its citation
    assert shared.cited_at == {"vu2021": ["cite-1"]}


def test_stopping_before_citeproc_leaves_the_citations_unrendered(paper):
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source, through_citeproc=False)
    cites = []
    doc.walk(lambda e, d: cites.append(e) if isinstance(e, pf.Cite) else None)
    assert [c.citations[0].id for c in cites] == ["vu2021"]
    assert "With lukewarm diplomacy" not in pf.stringify(doc)  # no references yet
    assert filters.NAMES.index("citations") < filters.NAMES.index(filters.CITEPROC)


def test_a_filter_left_out_does_not_run(paper):
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source, without=("backlinks",))
    assert doc.context.cited_at == {}


def test_write_makes_the_format_then_nothing_is_left_to_do(paper, tmp_path):
    out = tmp_path / "out"
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    progress = pipeline.Progress(quiet=True)
    written = pipeline.write(["html"], doc, source, out, progress)
    assert written == [out / "paper.html"]
    html = (out / "paper.html").read_text(encoding="utf-8")
    assert "A Small Paper" in html and "data:image/png;base64," in html
    listing = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert sorted(listing["outputs"]) == ["paper.html"]
    assert "figure.png" in " ".join(listing["sources"])
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "paper.html"]
    assert uptodate.up_to_date(paper, out, ["html"])
    assert not uptodate.up_to_date(paper, out, ["html", "epub"])  # never built
    paper.write_text(paper.read_text(encoding="utf-8") + "\nMore.\n",
                     encoding="utf-8")
    assert not uptodate.up_to_date(paper, out, ["html"])


def test_a_save_during_the_build_is_not_recorded_as_built(paper, tmp_path):
    """The watcher's race: the author saves again while the last edit's
    outputs are being made. What is recorded (and carried in the PDF) is
    the manuscript as read, so the next look sees the new save as a change."""
    out = tmp_path / "out"
    read = paper.read_bytes()
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    paper.write_text(paper.read_text(encoding="utf-8") + "\nSaved meanwhile.\n",
                     encoding="utf-8")
    pipeline.write(["html"], doc, source, out, pipeline.Progress(quiet=True))
    listing = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    recorded = listing["sources"][listing["manuscript"]]["sha256"]
    assert recorded == hashlib.sha256(read).hexdigest()
    assert not uptodate.up_to_date(paper, out, ["html"])


def test_an_error_in_a_filter_stops_before_citeproc_with_its_line(paper):
    text = paper.read_text(encoding="utf-8") + "\nAnd [@nobody2020] said so.\n"
    paper.write_text(text, encoding="utf-8")
    source = pipeline.read(paper)
    with pytest.raises(BuildError) as caught:
        pipeline.run_filters(source)
    lines = text.splitlines()
    assert caught.value.line == lines.index("And [@nobody2020] said so.") + 1
    assert "nobody2020" in caught.value.message
