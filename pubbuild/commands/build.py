"""`python build.py [pdf|html|epub]`: the outputs, unless they are up to date."""

from __future__ import annotations

import sys
import time

from pubbuild import pdf, uptodate
from pubbuild.commands import size
from pubbuild.diagnostics import display_path
from pubbuild.outputs import DEFAULT, FORMATS


def run(args) -> int:
    """Build the formats asked for (all three by default) into --out."""
    started = time.perf_counter()
    wanted = [args.format] if args.format else list(DEFAULT)
    if uptodate.up_to_date(args.manuscript, args.out, wanted, args.csl):
        if not args.quiet:
            seconds = time.perf_counter() - started
            print(f"Nothing to do: {', '.join(wanted)} of "
                  f"{display_path(args.manuscript)} up to date in "
                  f"{display_path(args.out)} ({seconds:.2f} s)", file=sys.stderr)
        return 0
    # Only now the pipeline and its imports (panflute, the filters): a
    # no-op build does not pay for them.
    from pubbuild import pipeline

    progress = pipeline.Progress(args.quiet)
    progress.started = started
    progress.say(f"Building {', '.join(wanted)} from {display_path(args.manuscript)}")
    with progress.stage("read (pandoc) + bibliography"):
        source = pipeline.read(args.manuscript, args.csl)
    if any(FORMATS[fmt].lays_out for fmt in wanted):
        # WeasyPrint's import and font set-up, while the filters wait for
        # pandoc's citeproc and the print HTML's writer.
        pdf.warm()
    with progress.stage("filters + citeproc"):
        doc = pipeline.run_filters(source)
    for diagnostic in source.reporter.warnings:
        progress.say(str(diagnostic))
    if args.strict:
        pipeline.stop_on_warnings(source)
    written = pipeline.write(wanted, doc, source, args.out.resolve(), progress,
                             args.csl)
    total = time.perf_counter() - progress.started
    for path in written:
        progress.say(f"wrote {display_path(path)} ({size(path.stat().st_size)})")
    progress.say(f"done in {total:.2f} s")
    return 0
