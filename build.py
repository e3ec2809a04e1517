#!/usr/bin/env python3
"""Build a scholarly article kept as pandoc Markdown + BibTeX.

Reads top to bottom as the pipeline: read the manuscript once into pandoc's
AST, load the bibliography, run the Panflute filters in their one declared
order, run citeproc once, then write each format from that AST.

    python build.py                  the default job (for now: check)
    python build.py check            the citation report; exit 1 on errors
    python build.py --help           every command and option
"""

from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

from filters import citations
from pubbuild import bibliography, citeindex, pandoc
from pubbuild.diagnostics import BuildError, Reporter, SourceText, where

ROOT = Path(__file__).resolve().parent
DEFAULT_MANUSCRIPT = ROOT / "manuscript" / "article.md"

# The filters, in the one order they run. Order matters:
# - citations runs first, before citeproc, because it creates the Cites
#   that citeproc renders.
FILTERS = [citations]


@dataclass
class Source:
    """The manuscript read once, with everything the stages share."""

    path: Path
    doc: pf.Doc
    reporter: Reporter
    bibliographies: list[bibliography.Bibliography]
    csl: Path
    index: citeindex.CitationIndex


# -- stages ----------------------------------------------------------------

def read(manuscript: Path) -> Source:
    """Pandoc reads the manuscript once; bibliography and style are loaded."""
    manuscript = manuscript.resolve()
    if not manuscript.is_file():
        raise BuildError("manuscript not found", manuscript)
    text = pandoc.read_utf8(manuscript)
    doc = pandoc.parse_markdown(text, manuscript)
    reporter = Reporter(SourceText(manuscript, text))
    bib_paths = _meta_paths(doc, "bibliography", reporter)
    if not bib_paths:
        raise BuildError("no `bibliography:` in the front matter", manuscript)
    csl = _meta_paths(doc, "csl", reporter)
    if not csl:
        raise BuildError("no `csl:` style in the front matter", manuscript)
    bibs, index = citeindex.load(bib_paths, csl[0])
    # citeproc resolves these later from any working directory.
    doc.metadata["bibliography"] = pf.MetaList(
        *(pf.MetaString(str(path)) for path in bib_paths))
    doc.metadata["csl"] = pf.MetaString(str(csl[0]))
    return Source(manuscript, doc, reporter, bibs, csl[0], index)


def _meta_paths(doc: pf.Doc, key: str, reporter: Reporter) -> list[Path]:
    """The files a metadata field names, relative to the manuscript's folder."""
    value = doc.get_metadata(key, default=None)
    if value is None:
        return []
    manuscript = Path(reporter.file)
    paths = []
    for item in value if isinstance(value, list) else [value]:
        path = (manuscript.parent / str(item)).resolve()
        if not path.is_file():
            raise BuildError(f"{key} file not found: {item}", manuscript,
                             reporter.locate(f"{key}:"))
        paths.append(path)
    return paths


def run_filters(source: Source) -> pf.Doc:
    """Every filter in FILTERS, in order, in-process on the one AST."""
    doc = source.doc
    doc.reporter = source.reporter
    doc.citation_index = source.index
    for module in FILTERS:
        doc = module.main(doc)
    return doc


def cite(doc: pf.Doc) -> pf.Doc:
    """Pandoc's citeproc, once: renders citations and the reference list."""
    return pandoc.citeproc(doc)


# -- commands --------------------------------------------------------------

def command_check(args) -> int:
    source = read(args.manuscript)
    for bib in source.bibliographies:
        bibliography.check(bib, source.reporter)
    doc = run_filters(source)
    rendered = _rendered_citations(cite(doc)) if not source.reporter.errors else {}
    records = sorted(doc.citation_records, key=lambda r: (r.line or 0, r.number))
    out = sys.stdout
    print(f"Citations in {where(source.path)}:", file=out)
    for record in records:
        shown = rendered.get(record.number, "")
        keys = ", ".join(record.keys)
        print(f"  {where(source.path, record.line)}: {record.written!r} -> {keys}"
              f"  {shown}", file=out)
    cited = {key for record in records for key in record.keys}
    _nocite(doc, cited, source)
    entries = [entry for bib in source.bibliographies for entry in bib]
    for bib in source.bibliographies:
        for entry in bib:
            if entry.key not in cited:
                source.reporter.warning(f"entry {entry.key!r} is never cited",
                                        entry.line, file=bib.path, source="bib")
    warnings = source.reporter.warnings
    tolerant = [d for d in warnings if d.source == citations.TOLERANT]
    print(f"\nTolerant matches ({len(tolerant)}):", file=out)
    for diagnostic in tolerant:
        print(f"  {diagnostic}", file=out)
    others = [d for d in warnings if d not in tolerant]
    print(f"\nOther warnings ({len(others)}):", file=out)
    for diagnostic in others:
        print(f"  {diagnostic}", file=out)
    # Errors go to stderr, one line each, so a script or an editor can
    # pick them up; the report above stays on stdout.
    for diagnostic in source.reporter.errors:
        print(diagnostic, file=sys.stderr)
    kinds = {kind: sum(r.kind == kind for r in records)
             for kind in ("link", "text", "narrative", "pandoc")}
    used = sum(entry.key in cited for entry in entries)
    errors = len(source.reporter.errors)
    print(f"\n{len(records)} citations ({kinds['link']} citation fields, "
          f"{kinds['text']} plain text, {kinds['narrative']} narrative, "
          f"{kinds['pandoc']} [@key]); {used} of {len(entries)} entries cited; "
          f"{errors} errors, {len(source.reporter.warnings)} warnings", file=out)
    return 1 if errors else 0


def _nocite(doc: pf.Doc, cited: set[str], source: Source) -> None:
    """Keys listed under `nocite:` count as cited (`@*` means all)."""
    nocite = doc.metadata.content.get("nocite") if doc.metadata else None
    if nocite is None:
        return
    for elem in _walk_cites(nocite):
        for citation in elem.citations:
            if citation.id == "*":
                cited.update(source.index.by_key)
            else:
                cited.add(citation.id)


def _walk_cites(element) -> list[pf.Cite]:
    found = []
    element.walk(lambda e, d: found.append(e) if isinstance(e, pf.Cite) else None)
    return found


def _rendered_citations(doc: pf.Doc) -> dict[int, str]:
    """citationHash -> the in-text citation as citeproc printed it."""
    rendered = {}
    for elem in _walk_cites(doc):
        if elem.citations:
            rendered[elem.citations[0].hash] = pf.stringify(elem)
    return rendered


# -- command line ----------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the command is not reset by the
    # command's own parser; defaults are filled in by main().
    common.add_argument("--manuscript", type=Path, default=argparse.SUPPRESS,
                        help="the pandoc-Markdown manuscript with YAML front "
                             "matter (default: manuscript/article.md)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback on errors (for bug reports)")
    top = argparse.ArgumentParser(
        prog="build.py", description=__doc__.split("\n\n")[0], parents=[common])
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", parents=[common],
        help="list every citation, what it resolved to and how it renders; "
             "report bibliography problems; exit 1 on any error")
    check.set_defaults(run=command_check)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.manuscript = getattr(args, "manuscript", DEFAULT_MANUSCRIPT)
    args.debug = getattr(args, "debug", False)
    if not getattr(args, "run", None):
        # Until the format writers land, the default job is the check.
        args.run = command_check
    try:
        return args.run(args)
    except BuildError as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}" if error.file is None else str(error),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
