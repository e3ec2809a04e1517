"""`python build.py check`: every citation, what it resolved to, how it renders;
every numbered figure, table, equation, listing and section, and where it is
referenced; what readers with assistive technology would miss
(`pubbuild.a11ycheck`). `--accessibility` prints only the last."""

from __future__ import annotations

import sys

import panflute as pf

from pubbuild import a11ycheck, pipeline
from pubbuild.diagnostics import Reporter, display_path, where


def _by_line(diagnostic) -> int:
    return diagnostic.line or 0


def run(args) -> int:
    source = pipeline.read(args.manuscript, args.csl)
    if getattr(args, "accessibility", False):
        doc = pipeline.run_filters(source, through_citeproc=False)
        return _accessibility(doc, source, sys.stdout, args.strict, indent="")
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
    _cross_references(doc, source, out)
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
    failed_a11y = _accessibility(doc, source, out, args.strict, indent="  ")
    kinds = {kind: sum(r.kind == kind for r in records)
             for kind in ("link", "text", "narrative", "pandoc")}
    used = sum(entry.key in cited for entry in entries)
    errors = len(source.reporter.errors)
    print(f"\n{len(records)} citations ({kinds['link']} citation fields, "
          f"{kinds['text']} plain text, {kinds['narrative']} narrative, "
          f"{kinds['pandoc']} [@key]); {used} of {len(entries)} entries cited; "
          f"{errors} errors, {len(source.reporter.warnings)} warnings", file=out)
    failed = _check_profile(args.profile, doc, source, out) if args.profile else []
    return 1 if errors or failed or failed_a11y else 0


def _accessibility(doc: pf.Doc, source: pipeline.Source, out, strict: bool,
                   indent: str) -> int:
    """The accessibility report and its summary line (the lines indented
    under it in the whole report); 1 if `strict` and it has a warning (each
    then also on stderr as an error), else 0. Its own Reporter: the
    citation report's counts stay the citations'."""
    text = source.reporter.source
    if text is not None:
        text.rewind()  # the filters walked it; this walk starts at the top
    reporter = Reporter(text)
    found = a11ycheck.check(doc, reporter)
    if indent:  # a section of the whole report: the summary is its heading
        print(f"\n{found.summary()}", file=out)
    for diagnostic in reporter.diagnostics:
        print(f"{indent}{diagnostic}", file=out)
    if not indent:  # the report on its own: the summary ends it
        print(found.summary(), file=out)
    if not (strict and reporter.warnings):
        return 0
    for diagnostic in reporter.warnings:
        print(f"{str(diagnostic).replace(': warning: ', ': error: ', 1)} (--strict)",
              file=sys.stderr)
    return 1


# The targets a reader is sent to by the text: one nobody refers to is a
# note. Equations and sections are often numbered without being referred to.
NOTED = {"fig": "figure", "tbl": "table", "lst": "listing"}


def _cross_references(doc: pf.Doc, source: pipeline.Source, out) -> None:
    """Every target of the crossref filter in document order, its number as
    the text prints it and the lines that refer to it; nothing when the
    manuscript has none."""
    targets = doc.context.cross_references
    if targets is None or not targets.by_id:
        return
    words = doc.context.options["crossref"]
    print(f"\nCross-references in {where(source.path)}:", file=out)
    notes = []
    for target in _in_document_order(targets):
        referenced = _referenced_lines(target)
        print(f"  {where(source.path, target.line)}: {target.id}  "
              f"{_label(target, words)}  {referenced}", file=out)
        if target.kind in NOTED and not _family_referenced(target, targets):
            notes.append(source.reporter.report(
                "note", f"{NOTED[target.kind]} {target.id!r} "
                f"({_label(target, words)}) is never referenced", target.line,
                source="crossref"))
    for note in notes:
        print(f"  {note}", file=out)


def _in_document_order(targets) -> list:
    """By line: the filter registers a figure with subfigures after them. A
    target whose line was not found keeps its place after the one before."""
    keyed, line = [], 0
    for position, target in enumerate(targets.by_id.values()):
        line = target.line or line
        keyed.append((line, position, target))
    return [target for _, _, target in sorted(keyed, key=lambda k: k[:2])]


def _label(target, words: dict) -> str:
    """"Figure 1", "Figure 2b", "Section 2.1": the caption's label word
    (a section has none: the reference word), as the filter chose it."""
    word = (words["sec-prefix"][0] if target.kind == "sec"
            else words[f"{target.kind}-title"])
    return f"{word} {target.number}" if target.number else f"{word} (unnumbered)"


def _referenced_lines(target) -> str:
    """"referenced at lines 12, 30"; "?" for a reference whose line was not
    found (each line once: two references on one line are one place)."""
    lines = [str(line) for line in sorted({n for n in target.referenced_at if n})]
    if None in target.referenced_at:
        lines.append("?")
    if not lines:
        return "not referenced"
    return f"referenced at line{'s' if len(lines) > 1 else ''} {', '.join(lines)}"


def _family_referenced(target, targets) -> bool:
    """Whether the reader is sent to this target: a subfigure ("2b") counts
    as referenced when its whole figure ("2") is, and the whole figure when
    one of its subfigures is."""
    if target.referenced_at:
        return True
    if target.kind != "fig":
        return False
    stem = target.number.rstrip("abcdefghijklmnopqrstuvwxyz")
    return any(other.referenced_at for other in targets.by_id.values()
               if other.kind == "fig"
               and other.number.rstrip("abcdefghijklmnopqrstuvwxyz") == stem)


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
    statements = [r.name for r in failed if r.kind == "statement"]
    if statements:
        print(f"  Missing statements the journal requires: {', '.join(statements)}"
              " (in the front matter, or as a section with that heading)", file=out)
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
