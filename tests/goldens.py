"""The one harness of the filters' golden cases.

`tests/filters/<filter>/<case>.md` is a case for the filter of that name
(one of `filters.MODULES`); its folder stands in for the manuscript's
(images, `.bib` files). `run_case` does what the build does to that one
filter's input, in-process:

- it reads the case with `pubbuild.pandoc.parse_markdown`, the build's own
  reader (`pandoc.MARKDOWN`: without `smart`);
- it puts a `pubbuild.context.Context` on the document, with the citation
  index of the bibliography (the case's `bibliography:`, else the folder's
  `.bib` files) against the case's `csl:`, else `DEFAULT_CSL`;
- a filter placed after citeproc (`filters.AFTER_CITEPROC`) gets citeproc's
  result, with the context carried over (`context.carry`), as in the
  build; citeproc uses the case's `csl:` if it names one, else pandoc's
  default style (Chicago author-date, as the build's own default);
- it runs the filter's `main`.

What it returns is the result printed as pandoc Markdown (metadata as
YAML), then every diagnostic, or the `BuildError` that stopped it: the
text a `<case>.out.md` holds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import panflute as pf

import filters
from pubbuild import citeindex, context, pandoc
from pubbuild.diagnostics import BuildError, Diagnostic, Reporter, SourceText, where
from pubbuild.paths import ROOT

CASES_DIR = Path(__file__).parent / "filters"
DEFAULT_CSL = ROOT / "bib" / "apa.csl"  # the index's style when a case names none
STEPS = {step.name: step for step in filters.PIPELINE}
AFTER_CITEPROC = {step.name for step in filters.AFTER_CITEPROC} - {filters.CITEPROC}
# Filters whose goldens show each Quoted as a span, so that a paired quotation
# is told apart from marks that are only characters.
SHOW_QUOTED = {"quotes", "refquotes"}
LOCAL_PATHS = ("bibliography", "csl")  # resolved here, so not printed


def cases(name: str) -> list[Path]:
    """The cases of the filter `name`: its folder's `.md` inputs."""
    return sorted(path for path in (CASES_DIR / name).glob("*.md")
                  if not path.name.endswith(".out.md"))


def expected(case: Path) -> Path:
    return case.with_name(case.stem + ".out.md")


def run_case(path: Path) -> tuple[str, pf.Doc | None]:
    """The case's golden text, and the document (None after an error)."""
    name = path.parent.name
    if name not in filters.MODULES:
        raise ValueError(f"{path}: {name!r} is not a registered filter")
    text = path.read_text(encoding="utf-8")
    reporter = Reporter(SourceText(path, text))
    try:
        doc = pandoc.parse_markdown(text, path)
        bibs, csl = _local_files(doc, path.parent)
        doc.context = context.Context.for_manuscript(
            reporter, index(bibs, csl or DEFAULT_CSL) if bibs else None)
        if name in AFTER_CITEPROC:
            doc = context.carry(doc, pandoc.citeproc(doc))
        doc = STEPS[name].module().main(doc)
    except BuildError as error:
        return f"<!-- error\n{error.line}: {error.message}\n-->\n", None
    for key in LOCAL_PATHS:
        if key in doc.metadata:
            del doc.metadata[key]
    return f"{markdown(doc, name)}\n\n{diagnostics(doc)}", doc


def _local_files(doc: pf.Doc, folder: Path) -> tuple[tuple[Path, ...], Path | None]:
    """The bibliographies and the style, as absolute paths, set in the
    metadata as the build sets them (citeproc and refquotes read them)."""
    named = doc.get_metadata("bibliography", default=None)
    if named:
        names = [named] if isinstance(named, str) else named
        bibs = tuple((folder / str(item)).resolve() for item in names)
    else:
        bibs = tuple(sorted(folder.glob("*.bib")))
    if bibs:
        doc.metadata["bibliography"] = pf.MetaList(
            *(pf.MetaString(str(bib)) for bib in bibs))
    csl = doc.get_metadata("csl", default=None)
    if csl:
        csl = (folder / str(csl)).resolve()
        doc.metadata["csl"] = pf.MetaString(str(csl))
    return bibs, csl


@functools.cache
def index(bibs: tuple[Path, ...], csl: Path) -> citeindex.CitationIndex:
    """The citation index, as the build makes it (once per files)."""
    return citeindex.load(list(bibs), csl)[1]


def markdown(doc: pf.Doc, name: str) -> str:
    """The document as pandoc Markdown: Cites as `[@key]` until citeproc
    has rendered them, then as the text it rendered (references included);
    without `smart`, so every mark prints as the character it is (a
    straight " or ' left in the text shows)."""
    if name in SHOW_QUOTED:
        doc = doc.walk(_show_quoted)
    rendered = name in AFTER_CITEPROC
    out = pf.convert_text(
        doc, input_format="panflute", standalone=True, extra_args=["--wrap=none"],
        output_format="markdown-smart" + ("-citations" if rendered else ""),
        pandoc_path=pandoc.pandoc_path())
    return out.rstrip()


def _show_quoted(elem, _doc):
    """A Quoted as a visible span: [text]{.Quoted-double}."""
    if isinstance(elem, pf.Quoted):
        kind = "double" if elem.quote_type == "DoubleQuote" else "single"
        return pf.Span(*elem.content, classes=[f"Quoted-{kind}"])
    return None


def diagnostic(d: Diagnostic) -> str:
    """One diagnostic, its file by name only (the cases' folders move)."""
    return f"{where(Path(d.file).name if d.file else None, d.line)}: " \
           f"{d.level}: {d.message}"


def diagnostics(doc: pf.Doc) -> str:
    lines = "\n".join(diagnostic(d) for d in doc.context.reporter.diagnostics)
    return f"<!-- diagnostics\n{lines}\n-->\n"
