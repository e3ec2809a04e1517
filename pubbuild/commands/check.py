"""`python build.py check`: every citation, what it resolved to, how it renders."""

from __future__ import annotations

import sys

import panflute as pf

from pubbuild import pipeline
from pubbuild.diagnostics import display_path, where


def _by_line(diagnostic) -> int:
    return diagnostic.line or 0


def run(args) -> int:
    source = pipeline.read(args.manuscript, args.csl)
    from pubbuild import bibliography

    for bib in source.bibliographies:
        bibliography.check(bib, source.reporter)
    doc = pipeline.run_filters(source, through_citeproc=False)
    rendered = (_rendered_citations(pipeline.cite(doc))
                if not source.reporter.errors else {})
    records = sorted(doc.context.citation_records,
                     key=lambda r: (r.line or 0, r.number))
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
    from filters import citations, quotes

    tolerant = [d for d in warnings if d.source == citations.TOLERANT]
    print(f"\nTolerant matches ({len(tolerant)}):", file=out)
    for diagnostic in tolerant:
        print(f"  {diagnostic}", file=out)
    broken = [d for d in warnings if d.source == quotes.UNBALANCED]
    repaired = [d for d in source.reporter.diagnostics if d.source == quotes.REPAIRED]
    print(f"\nQuotations: {doc.context.quotes_paired} paired; {len(broken)} broken "
          "(a mark with no partner, printed for its side), "
          f"{len(repaired)} spacing repairs", file=out)
    for diagnostic in sorted(broken, key=_by_line) + sorted(repaired, key=_by_line):
        print(f"  {diagnostic}", file=out)
    others = [d for d in warnings if d not in tolerant and d not in broken]
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
    failed = _check_profile(args.profile, doc, source, out) if args.profile else []
    return 1 if errors or failed else 0


def _check_profile(name: str, doc: pf.Doc, source: pipeline.Source, out) -> list:
    """The journal profile's requirements, measured; the failed ones."""
    from pubbuild import submission

    profile = submission.load_profile(name)
    requirements = submission.check(profile, doc, source.csl)
    failed = [r for r in requirements if not r.ok]
    print(f"\nJournal profile {profile.path.stem!r} "
          f"({profile.get('name', profile.path.stem)}): "
          f"{len(requirements) - len(failed)} of {len(requirements)} requirements "
          "met", file=out)
    for requirement in requirements:
        print(requirement, file=out)
    for requirement in failed:
        print(f"{display_path(source.path)}: fails {profile.path.stem!r}: "
              f"{requirement.failure}", file=sys.stderr)
    return failed


def _nocite(doc: pf.Doc, cited: set[str], source: pipeline.Source) -> None:
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
