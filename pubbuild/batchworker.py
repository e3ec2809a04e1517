"""One warm process of `build.py batch`: manuscript after manuscript.

A build started afresh spends most of a short paper's time starting:
Python, panflute and citeproc-py imported, WeasyPrint imported and its
fonts set up (about a second of CPU). A volume's worker does that once and
then builds each manuscript it is handed, the way `python build.py
--manuscript M --out O` does (`pubbuild.commands.dispatch`, the same
clock, the same one-line errors), so each paper's bytes are the ones its
author gets alone: `tests/test_batch.py` compares them.

The protocol, one JSON object a line: the batch writes a request
`{"manuscript", "out", "format", "csl", "strict", "debug"}` to the
worker's stdin; the worker answers on its stdout `{"status", "stderr"}`
(what the build said). After a failed build the worker answers and ends:
what a failure leaves behind (a thread, a half-set state) never reaches
another paper; the batch starts a fresh worker for the next one. A worker
that dies (a signal, the machine's memory) ends its stdout: the batch
reports that paper as failed with the signal's name.

Run as `python -m pubbuild.batchworker` (the batch sets PYTHONPATH), in
the batch's working directory. This module must not know about the
batch's discovery or its summary.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path


def main() -> int:
    from pubbuild import pdf
    from pubbuild.commands import dispatch

    pdf.only_bundled_fonts()  # before any thread, as build.py's main does
    # Answers go to the real stdout; anything else written there (by a
    # library) goes nowhere rather than into the protocol.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    for line in sys.stdin:
        request = json.loads(line)
        args = argparse.Namespace(
            manuscript=Path(request["manuscript"]), out=Path(request["out"]),
            format=request.get("format"), csl=request.get("csl"),
            strict=bool(request.get("strict")), debug=bool(request.get("debug")),
            quiet=False, profile=None, run="build")
        said = io.StringIO()
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            try:
                status = dispatch(args)
            except Exception:  # a bug: its traceback, as a build alone shows it
                traceback.print_exc()
                status = 1
        answers.write(json.dumps({"status": status, "stderr": said.getvalue()})
                      + "\n")
        answers.flush()
        if status != 0:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
