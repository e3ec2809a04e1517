"""The commands: one module each, `run(args) -> int`, dispatched by build.py.

build.py owns the command line (the parser); `dispatch` runs a parsed
command with the one-line errors (for build.py, and for each paper of a
batch worker); a command module owns what its command does and reads its options
from `args`; the pipeline they share is `pubbuild.pipeline`.
"""

from __future__ import annotations

import errno
import importlib
import logging
import sys
import traceback
from pathlib import Path

from pubbuild import limits
from pubbuild.diagnostics import BuildError, display_path

EXPECTED = (limits.OutOfTime, BuildError, OSError, RecursionError, KeyboardInterrupt)


def size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def one_line(exc: BaseException, manuscript: Path) -> str:
    """What went wrong, in one line, for each kind of expected failure."""
    where = display_path(manuscript)
    if isinstance(exc, limits.OutOfTime):
        # Every pandoc run was killed (pandoc.pool); the outputs are as they were.
        return f"{where}: {limits.message()}"
    if isinstance(exc, BuildError):
        # A message that carries its level already (a Diagnostic's) is not
        # prefixed again: one "error:" a line.
        return str(exc) if exc.file is not None or exc.message.startswith(
            "error: ") else f"error: {exc}"
    if isinstance(exc, OSError):
        # The machine, not the manuscript: a full disk or a file size limit
        # while a tool wrote a temporary file, a file it may not open.
        # Nothing was written to --out.
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or not exc.filename:
            what = f"{where}: {exc.strerror or exc} while writing a temporary file"
        else:
            what = f"{display_path(exc.filename)}: {exc.strerror or exc}"
        return f"{what}; the previous outputs are unchanged"
    if isinstance(exc, RecursionError):
        # Thousands of nested brackets or block quotes: deeper than the
        # document tree can be walked. An input problem, not a crash.
        return (f"{where}: nested too deeply to process (thousands of levels "
                "of brackets, lists or block quotes)")
    return f"{where}: interrupted; the previous outputs are unchanged"


def expected(exc: BaseException) -> BaseException | None:
    """The expected failure `exc` is, or the one it was raised from.

    Python wraps an exception raised inside some of its own machinery: a
    Ctrl-C that lands while a class body is being set up (a dataclass's
    `__set_name__`, during an import) reaches us as a RuntimeError caused
    by the KeyboardInterrupt. That is still a Ctrl-C."""
    while exc is not None and not isinstance(exc, EXPECTED):
        exc = exc.__cause__
    return exc


def dispatch(args) -> int:
    """Run the command `args.run` as `python build.py` does: the bundled
    fonts and the clock set first; an expected failure is one line on
    stderr and exit status 1 (130 for Ctrl-C). Anything else goes on up."""
    from pubbuild import pdf

    # A library that logs through the root logger (ziafont, for math) would
    # make its first call set up logging on stderr, and every WeasyPrint
    # warning would then be printed: the build reports what matters itself.
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        # The process's environment is settled here, before any thread runs.
        pdf.only_bundled_fonts()
        if args.run != "watch":  # the watcher limits each rebuild
            limits.start()
        return importlib.import_module(f"pubbuild.commands.{args.run}").run(args)
    except BaseException as raised:
        exc = expected(raised)
        if exc is None:
            raise
        limits.stop()  # no alarm while the message is printed
        if args.debug:
            traceback.print_exc()
        print(one_line(exc, args.manuscript), file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        limits.stop()
