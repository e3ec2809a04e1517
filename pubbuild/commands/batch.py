"""`python build.py batch DIR|GLOB…`: many manuscripts, each into OUT/NAME/."""

from __future__ import annotations

import json
import os
import sys
import time

from pubbuild import batch, limits
from pubbuild.diagnostics import BuildError
from pubbuild.paths import DEFAULT_MANUSCRIPT, DEFAULT_OUT


def run(args) -> int:
    """Build every manuscript the paths name, or print the plan (--plan)."""
    # Each child build keeps its own deadline (PUBBUILD_TIME_LIMIT, passed
    # on in the environment); a volume as a whole may take longer than one.
    limits.stop()
    # build.py fills in DEFAULT_OUT itself when --out is not given: that
    # very object means "not given", and a batch's default is dist/batch.
    out = DEFAULT_OUT / "batch" if args.out is DEFAULT_OUT else args.out
    if args.manuscript is not DEFAULT_MANUSCRIPT:
        raise BuildError("error: batch builds the manuscripts its paths name: "
                         "give the manuscript as a path, not --manuscript")
    if args.jobs is not None and args.jobs < 1:
        raise BuildError(f"error: --jobs {args.jobs}: at least 1")
    options = batch.Options(args.format, args.csl, args.strict, args.debug)
    jobs = batch.jobs(args.paths, out)
    if args.plan:
        try:
            for entry in batch.plan(jobs, options):
                print(json.dumps(entry, ensure_ascii=False), flush=True)
        except BrokenPipeError:
            # The reader stopped reading (`| head`): nothing wrong with the
            # build, and nothing more to say; stdout is closed quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        return 0
    if args.jobs is not None:
        workers, why = args.jobs, "--jobs"
    else:
        workers, why = batch.default_jobs()
    if not args.quiet:
        noun = "manuscript" if len(jobs) == 1 else "manuscripts"
        at_once = "job" if workers == 1 else "jobs"
        print(f"batch: {len(jobs)} {noun}, {workers} {at_once} at a time ({why})",
              file=sys.stderr, flush=True)

    def report(done: int, total: int, result: batch.Result) -> None:
        if result.outcome == "failed" or not args.quiet:
            print(batch.progress_line(done, total, result), file=sys.stderr,
                  flush=True)

    started = time.perf_counter()
    try:
        results = batch.build(jobs, options, workers, report)
    except KeyboardInterrupt:
        print("batch: interrupted; the builds still running were stopped, and "
              "their previous outputs are unchanged", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - started
    if not args.quiet:
        print("\n".join(batch.table(results)))
    print(batch.totals(results, seconds, workers), flush=True)
    return 1 if any(result.outcome == "failed" for result in results) else 0
