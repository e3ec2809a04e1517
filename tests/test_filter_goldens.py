"""Golden cases of the filters other than the citation normaliser.

Each `tests/filters/<filter>/<case>.md` is read by pandoc and run through
its filter in-process (the backlinks filter after citeproc, as in the
build); the result, written back as pandoc Markdown (metadata as YAML),
plus any diagnostic or error, must equal `<case>.out.md`. Regenerate after
a deliberate change with `python -m pytest tests/test_filter_goldens.py
--update-goldens` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT
from filters import authors, backlinks, figures, quotes, refquotes
from pubbuild import context, pandoc
from pubbuild.diagnostics import BuildError, Reporter, SourceText

CASES_DIR = Path(__file__).parent / "filters"
FILTERS = {"authors": authors, "figures": figures, "backlinks": backlinks,
           "quotes": quotes, "refquotes": refquotes}
AFTER_CITEPROC = (backlinks, refquotes)
CASES = sorted(case for name in FILTERS for case in (CASES_DIR / name).glob("*.md")
               if not case.name.endswith(".out.md"))


def run_case(path: Path) -> tuple[str, pf.Doc | None]:
    text = path.read_text(encoding="utf-8")
    # Read as the build reads (without pandoc's smart quotes).
    doc = pf.convert_text(text, input_format=pandoc.MARKDOWN, standalone=True,
                          pandoc_path=pandoc.pandoc_path())
    # The case's folder stands in for the manuscript's (images, .bib).
    doc.context = context.Context.for_manuscript(Reporter(SourceText(path, text)))
    module = FILTERS[path.parent.name]
    try:
        if module in AFTER_CITEPROC:
            bib = doc.get_metadata("bibliography")
            doc.metadata["bibliography"] = pf.MetaString(str(path.parent / bib))
            doc = context.carry(doc, pandoc.citeproc(doc))
        doc = module.main(doc)
        if "bibliography" in doc.metadata:
            del doc.metadata["bibliography"]  # a local path: not compared
    except BuildError as error:
        return f"<!-- error\n{error.line}: {error.message}\n-->\n", None
    if module in (quotes, refquotes):
        doc = doc.walk(_show_quoted)
    markdown = pf.convert_text(
        # -citations: Cites print as citeproc rendered them, refs included;
        # -smart: every mark prints as the character it is (a straight " or
        # ' left in the text would show).
        doc, input_format="panflute", output_format="markdown-citations-smart",
        standalone=True,
        extra_args=["--wrap=none"], pandoc_path=pandoc.pandoc_path())
    diagnostics = "\n".join(
        f"{Path(d.file).name if d.file else ''}:{d.line}: {d.level}: {d.message}"
        for d in doc.context.reporter.diagnostics)
    return f"{markdown.rstrip()}\n\n<!-- diagnostics\n{diagnostics}\n-->\n", doc


def _show_quoted(elem, _doc):
    """A Quoted as a visible span: [text]{.Quoted-double}, so the golden
    tells a paired quotation from marks that are only characters."""
    if isinstance(elem, pf.Quoted):
        kind = "double" if elem.quote_type == "DoubleQuote" else "single"
        return pf.Span(*elem.content, classes=[f"Quoted-{kind}"])
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(case, update_goldens):
    actual, _ = run_case(case)
    expected_path = case.with_name(case.stem + ".out.md")
    if update_goldens:
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no golden for {case.name}: run --update-goldens"
    # A difference here means readers would see other bylines, figures or
    # links than before.
    assert actual == expected_path.read_text(encoding="utf-8")


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


STANDALONE = sorted(path for path in (ROOT / "filters").glob("*.py")
                    if path.name != "__init__.py")


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
