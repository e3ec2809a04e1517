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

from filters import authors, backlinks, figures
from pubbuild import pandoc
from pubbuild.diagnostics import BuildError, Reporter, SourceText

CASES_DIR = Path(__file__).parent / "filters"
FILTERS = {"authors": authors, "figures": figures, "backlinks": backlinks}
CASES = sorted(case for name in FILTERS for case in (CASES_DIR / name).glob("*.md")
               if not case.name.endswith(".out.md"))


def run_case(path: Path) -> tuple[str, pf.Doc | None]:
    text = path.read_text(encoding="utf-8")
    doc = pf.convert_text(text, standalone=True, pandoc_path=pandoc.pandoc_path())
    # The case's folder stands in for the manuscript's (images, .bib).
    doc.reporter = Reporter(SourceText(path, text))
    module = FILTERS[path.parent.name]
    try:
        if module is backlinks:
            bib = doc.get_metadata("bibliography")
            doc.metadata["bibliography"] = pf.MetaString(str(path.parent / bib))
            doc = pandoc.citeproc(doc)
            doc.reporter = Reporter(SourceText(path, text))
            del doc.metadata["bibliography"]  # not part of what is compared
        doc = module.main(doc)
    except BuildError as error:
        return f"<!-- error\n{error.line}: {error.message}\n-->\n", None
    markdown = pf.convert_text(
        # -citations: Cites print as citeproc rendered them, refs included.
        doc, input_format="panflute", output_format="markdown-citations",
        standalone=True,
        extra_args=["--wrap=none"], pandoc_path=pandoc.pandoc_path())
    diagnostics = "\n".join(f"{d.line}: {d.level}: {d.message}"
                            for d in doc.reporter.diagnostics)
    return f"{markdown.rstrip()}\n\n<!-- diagnostics\n{diagnostics}\n-->\n", doc


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
