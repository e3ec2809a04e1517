"""`python build.py diff OLD [NEW]`: what changed, as HTML, PDF, DOCX and JSON."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import panflute as pf

from pubbuild import clock, formats, pipeline
from pubbuild.commands import size
from pubbuild.diagnostics import BuildError, Reporter, display_path
from pubbuild.files import write_all
from pubbuild.paths import STYLES


def run(args) -> int:
    """What changed between two revisions (or two files), in four files."""
    from pubbuild import compare, pdf, revisions, wordref

    if not args.files and not args.old:
        raise BuildError("diff needs OLD (a git revision) or --files OLD.md NEW.md")
    with tempfile.TemporaryDirectory(prefix="pubbuild-diff-") as tmp:
        if args.files:
            old_path, new_path = (Path(f).resolve() for f in args.files)
            when = clock.iso(clock.build_time([new_path]).moment)
            old_rev = revisions.Revision(display_path(old_path), None, "Author", when)
            new_rev = revisions.Revision(display_path(new_path), None,
                                         args.author or "Author", when)
            relative = None
        else:
            (old_path, old_rev), (new_path, new_rev), relative = revisions_of(
                args.manuscript, args.old, args.new, Path(tmp))
        docs = [read_revision(path, revision, relative, args.csl)
                for path, revision in ((old_path, old_rev), (new_path, new_rev))]
        author = args.author or new_rev.author
        date = args.date or new_rev.date
        result = compare.compare(*docs, author=author, date=date,
                                 labels=(old_rev.label, new_rev.label))
        name = f"{new_path.stem}-diff"
        out = args.out.resolve() / "diff"
        job = formats.Job(new_path, name, Reporter(None), clock.parse_iso(date))
        files = {
            out / f"{name}.html": formats.html(result.doc, job, ("diff.css",)),
            out / f"{name}.pdf": pdf.render(
                formats.print_html(result.doc, job), manuscript=new_path,
                when=job.when, extra=(STYLES / "diff.css",)),
            # Set as the submission is, with the line numbers reviewers cite.
            out / f"{name}.docx": formats.docx(
                compare.for_word(result.doc), job,
                wordref.reference_docx(line_numbers=True)),
            out / f"{name}.json": compare.to_json(result, old_rev, new_rev, author,
                                                 date),
        }
    write_all(files)
    summary = result.summary
    if not args.quiet:
        print(f"{len(result.changes)} changes from {old_rev.label} to "
              f"{new_rev.label}: {summary['words']['inserted']} words inserted, "
              f"{summary['words']['deleted']} deleted", file=sys.stderr)
    for path in files:
        if not args.quiet:
            print(f"wrote {display_path(path)} ({size(path.stat().st_size)})",
                  file=sys.stderr)
    return 0


def revisions_of(manuscript: Path, old: str, new: str | None, tmp: Path):
    """((path, Revision) of OLD, the same of NEW (the working tree if None),
    the manuscript's path in the repository): each revision written out
    under `tmp` (pubbuild.revisions)."""
    from pubbuild import revisions

    manuscript = manuscript.resolve()
    repo = revisions.repository(manuscript)
    relative = manuscript.relative_to(repo).as_posix()
    old_rev = revisions.resolve(old, repo)
    old_path = revisions.materialise(old_rev, manuscript, repo, tmp / "old")
    if new:
        new_rev = revisions.resolve(new, repo)
        new_path = revisions.materialise(new_rev, manuscript, repo, tmp / "new")
    else:
        new_rev = revisions.working_tree(repo, clock.iso(
            clock.build_time([manuscript]).moment))
        new_path = manuscript
    return (old_path, old_rev), (new_path, new_rev), relative


def read_revision(path: Path, revision, relative: str | None,
                   csl: str | None) -> pf.Doc:
    """A revision through the same reading and filters as a build; an error
    in a committed revision names it (`HEAD~1:text/paper.md:2: …`)."""
    try:
        source = pipeline.read(path, csl)
        return pipeline.run_filters(source, without=("backlinks",))
    except BuildError as error:
        if revision.commit is None:
            raise
        raise BuildError(error.message, Path(f"{revision.label}:{relative}"),
                         error.line) from None
