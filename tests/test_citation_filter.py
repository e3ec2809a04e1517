"""Golden cases of the citation normaliser, run in-process.

Each `tests/filters/citations/<case>.md` is run through pandoc's reader and
`filters/citations.py`; the result, written back as pandoc Markdown, plus
every diagnostic, must equal `<case>.out.md`. Regenerate after a deliberate
change with `python -m pytest tests/test_citation_filter.py --update-goldens`
and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT
from filters import citations
from pubbuild import bibliography, citeindex, context, pandoc
from pubbuild.diagnostics import Reporter, SourceText

CASES_DIR = Path(__file__).parent / "filters" / "citations"
CASES = sorted(p for p in CASES_DIR.glob("*.md") if not p.name.endswith(".out.md"))


@pytest.fixture(scope="module")
def index() -> citeindex.CitationIndex:
    bib = bibliography.load(CASES_DIR / "references.bib")
    return citeindex.build(bib, ROOT / "bib" / "apa.csl")


def run_case(path: Path, index) -> tuple[str, pf.Doc]:
    text = path.read_text(encoding="utf-8")
    doc = pf.convert_text(text, standalone=True, pandoc_path=pandoc.pandoc_path())
    doc.context = context.Context(Reporter(SourceText(path.name, text)), path.parent,
                                  index)
    doc = citations.main(doc)
    markdown = pf.convert_text(
        doc, input_format="panflute", output_format="markdown", standalone=True,
        extra_args=["--wrap=none"], pandoc_path=pandoc.pandoc_path())
    diagnostics = "\n".join(str(d) for d in doc.context.reporter.diagnostics)
    return f"{markdown.rstrip()}\n\n<!-- diagnostics\n{diagnostics}\n-->\n", doc


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_golden(case, index, update_goldens):
    actual, _ = run_case(case, index)
    expected_path = case.with_name(case.stem + ".out.md")
    if update_goldens:
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no golden for {case.name}: run --update-goldens"
    # A difference here means readers would see other citations than before.
    assert actual == expected_path.read_text(encoding="utf-8")


def cites(doc: pf.Doc) -> list[pf.Cite]:
    found = []
    doc.walk(lambda e, d: found.append(e) if isinstance(e, pf.Cite) else None)
    return found


def test_link_fields_become_cites_with_locators(index):
    _, doc = run_case(CASES_DIR / "link_fields.md", index)
    found = [[(c.id, c.mode, pf.stringify(pf.Span(*c.suffix))) for c in cite.citations]
             for cite in cites(doc)]
    # The reader must see "(Vu, 2021, p. 4)": key, mode and locator kept.
    assert found[0] == [("vu2021", "NormalCitation", ", p. 4")]
    assert found[1] == [("falk2001", "NormalCitation", ", p. 2")]
    assert found[2] == [("lee2021", "NormalCitation", "")]
    # Two fields in one parenthesis and two citations in one field: one Cite.
    assert [c[0] for c in found[3]] == ["vu2021", "lee2021"]
    assert [c[0] for c in found[4]] == ["vu2021", "lee2021"]
    assert found[5] == [("snyder2019", "AuthorInText", "p. 2")]
    # The parentheses the author typed are gone: citeproc prints its own.
    first = pf.stringify(doc.content[0])
    assert "(" not in first and ")" not in first
    assert not doc.context.reporter.diagnostics


def test_citeproc_renders_the_normalised_citations(index):
    _, doc = run_case(CASES_DIR / "link_fields.md", index)
    doc.metadata["bibliography"] = pf.MetaString(str(CASES_DIR / "references.bib"))
    doc.metadata["csl"] = pf.MetaString(str(ROOT / "bib" / "apa.csl"))
    text = "\n".join(pf.stringify(block) for block in pandoc.citeproc(doc).content)
    # What a reader of the built article sees, in APA 7.
    assert "one per parenthesis (Vu, 2021, p. 4)," in text
    assert "with two authors (Falk & Fischbacher, 2001, p. 2)," in text
    # APA orders several works in one parenthesis alphabetically.
    assert "one parenthesis (Lee, 2021, p. 3; Vu, 2021) and" in text
    assert "narrative: Snyder (2019, p. 2) says so" in text


def test_errors_name_the_line(index):
    _, doc = run_case(CASES_DIR / "ambiguous.md", index)
    errors = [str(d) for d in doc.context.reporter.errors]
    assert errors[0].startswith("ambiguous.md:1: error: citation 'Snyder'")
    assert "snyder2019" in errors[0] and "snyder2021" in errors[0]
    assert errors[1].startswith("ambiguous.md:2: error: citation 'Sang-Hun, 2018'")


def test_options_are_removed_from_metadata(index):
    _, doc = run_case(CASES_DIR / "options.md", index)
    # Left in, the option block would leak into <meta> tags and the EPUB OPF.
    assert "citations" not in doc.metadata.content
    assert doc.get_metadata("title") == "Options"


def test_filter_runs_many_times_in_one_process(index):
    # Per-run state lives on the doc: a second run sees no leftovers.
    first, _ = run_case(CASES_DIR / "tolerant.md", index)
    second, doc = run_case(CASES_DIR / "tolerant.md", index)
    assert first == second
    assert len(doc.context.citation_records) == 4
