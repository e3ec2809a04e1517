"""Running the pandoc bundled with pypandoc_binary.

The one place that starts a pandoc process. No system pandoc is used, and
pandoc's own error messages are turned into one-line `BuildError`s that
name the file and line pandoc complained about.

This module must not know about the manuscript's structure or filters.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import panflute as pf

from pubbuild import children, limits, pandocbin
from pubbuild.diagnostics import BuildError


class AnyRawFormat(frozenset):
    """Every raw format name: pandoc accepts any (```{=typst}```,
    `` `x`{=comment} ``), where panflute checks RawBlock and RawInline
    against a fixed set and raises a TypeError on any other name. Iterating
    gives the names panflute knows; membership holds for every name."""

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name != ""


def accept_any_raw_format() -> None:
    """Let every raw format through panflute, unchanged, to the writers
    (each keeps the raw content of its own format and drops the rest; what
    the build does with each is filters/latex.py's to say). The one place
    panflute's `RAW_FORMATS` is widened; done on import of this module,
    which every JSON-to-panflute load of the build goes through, and called
    by a filter run alone (pandoc --filter), whose JSON panflute loads."""
    if not isinstance(pf.elements.RAW_FORMATS, AnyRawFormat):
        pf.elements.RAW_FORMATS = AnyRawFormat(pf.elements.RAW_FORMATS)


accept_any_raw_format()

_POSITION = re.compile(
    r'Error at "(?P<file>[^"]*)" \(line (?P<line>\d+), column \d+\)')
_YAML = re.compile(
    r'Error parsing YAML metadata at (?:"(?P<file>[^"]*)" )?\(line (?P<start>\d+), '
    r'column \d+\):\s*YAML parse exception at line (?P<line>\d+), column \d+,?')


# Pandoc sees only what it needs: no user locale, no user data directory
# (templates and filters in ~/.local/share/pandoc are never picked up, since
# every template the build uses is named by path).
# TZ is UTC as a POSIX rule ("UTC0"), not a zone name: a name sends every
# process, the small Python each child is started through included, to the
# system's zoneinfo files.
_ENV = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "TZ": "UTC0"}


# The bundled binary: where it is and its version (pubbuild.pandocbin,
# light enough for the no-op check).
pandoc_path, version = pandocbin.pandoc_path, pandocbin.version


# A data directory that does not exist: pandoc's built-in templates and
# reference documents, never a user's ~/.local/share/pandoc.
DATA_DIR = Path(__file__).resolve().parent.parent / ".pandoc-data-pinned"


def _command(args: list[str], sandbox: bool = True) -> list[str]:
    # The heap limit is pandoc's own (GHC's runtime): a pathological input
    # ends with "Heap exhausted" instead of taking the machine's memory.
    # --sandbox: pandoc reads only the files named on its command line (no
    # network, no file a manuscript's image or include names). It also hides
    # SOURCE_DATE_EPOCH, so the EPUB and DOCX writers, which date their
    # files, run without it on a document whose images are data: URLs.
    return [pandoc_path(), "+RTS", f"-M{limits.configured()[1]}m", "-RTS",
            *(["--sandbox"] if sandbox else []), f"--data-dir={DATA_DIR}", *args]


def run(args: list[str], stdin: str | None = None, *, file: Path | None = None,
        env: dict[str, str] | None = None, sandbox: bool = True
        ) -> tuple[str, list[str]]:
    """Run pandoc; return (stdout, warnings). `file` names the input for errors.

    `env` adds variables (SOURCE_DATE_EPOCH) to a minimal environment. The
    run is limited in time and memory (pubbuild.limits); past either it is an error.
    """
    proc = _execute(_command(args, sandbox), stdin, {**_ENV, **(env or {})}, file,
                    text=True)
    warnings = [line.removeprefix("[WARNING] ").strip()
                for line in proc.stderr.splitlines() if line.startswith("[WARNING]")]
    if proc.returncode < 0:
        raise BuildError(f"pandoc was stopped by signal {-proc.returncode} "
                         f"({_signal_name(-proc.returncode)})", file)
    if proc.returncode != 0:
        raise _error(proc.stderr, file)
    return proc.stdout, warnings


class _Group:
    """The pandoc runs of one pool's threads, and whether that pool is
    winding down after a failure. Per pool, not per process: the watcher
    builds the next edit's HTML while the last one's PDF and EPUB are being
    made, and one failing must not stop the other's pandoc runs."""

    def __init__(self):
        self.stopping = threading.Event()
        self.running: set[subprocess.Popen] = set()
        self.lock = threading.Lock()

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            for process in self.running:
                process.kill()


_thread = threading.local()  # .group: the _Group of a pool's worker thread


def _execute(command: list[str], stdin, env: dict, file: Path | None, *,
             text: bool) -> subprocess.CompletedProcess:
    """subprocess.run, with the build's deadline as the timeout, and the
    child known to its thread's pool while it runs."""
    group = getattr(_thread, "group", None)
    if group is not None and group.stopping.is_set():
        raise BuildError("stopped: the build failed elsewhere", file)
    # The timeout, the alarm, Ctrl-C: `started` kills the child on the way out.
    with children.started(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, text=text,
                          encoding="utf-8" if text else None) as process:
        if group is not None:
            with group.lock:
                group.running.add(process)
        try:
            out, err = process.communicate(stdin, timeout=limits.remaining())
        except subprocess.TimeoutExpired:
            raise limits.expired(file) from None
        finally:
            if group is not None:
                with group.lock:
                    group.running.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@contextlib.contextmanager
def pool(workers: int):
    """A thread pool for work that runs pandoc beside the main thread. If
    the work fails (an error, the deadline, Ctrl-C), the pandoc runs going
    on in its threads are killed, and none starts any more, rather than
    being waited for; then the failure goes on. Other pools' runs go on."""
    from concurrent.futures import ThreadPoolExecutor

    group = _Group()

    def join() -> None:
        _thread.group = group

    with ThreadPoolExecutor(max_workers=workers, initializer=join) as executor:
        try:
            yield executor
        except BaseException:
            group.stop()
            executor.shutdown(wait=True, cancel_futures=True)
            raise


def _signal_name(number: int) -> str:
    import signal

    try:
        name = signal.Signals(number).name
    except ValueError:
        return "unknown"
    return {"SIGXFSZ": "a file grew past the size limit: is the disk full?",
            "SIGKILL": "killed, perhaps for memory"}.get(name, name)


def run_bytes(args: list[str]) -> tuple[bytes, list[str]]:
    """Run pandoc for binary output on stdout (a data file, say)."""
    proc = _execute(_command(args), None, _ENV, None, text=False)
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise _error(stderr, None)
    warnings = [line.removeprefix("[WARNING] ").strip()
                for line in stderr.splitlines() if line.startswith("[WARNING]")]
    return proc.stdout, warnings


def _error(stderr: str, file: Path | None) -> BuildError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if "Heap exhausted" in stderr:
        return BuildError(f"pandoc needed more than {limits.configured()[1]} MiB "
                          "(PUBBUILD_MEMORY_LIMIT)", file)
    yaml = _YAML.search(stderr)
    if yaml:
        # The parser counts from the front matter's first line.
        line = int(yaml.group("start")) + int(yaml.group("line")) - 1
        detail = " ".join(stderr[yaml.end():].split()).rstrip(".")
        where = Path(yaml.group("file")) if yaml.group("file") else file
        return BuildError(f"YAML front matter: {detail}", where, line)
    match = _POSITION.search(stderr)
    if match:
        # pandoc echoes the offending line and a caret after its message.
        after = stderr[match.end():].lstrip(":").strip().splitlines()
        detail = after[0].strip() if after else "cannot parse this"
        if detail.startswith("unexpected '@'"):
            detail += " (is the entry above missing a closing brace?)"
        return BuildError(f"malformed: {detail}", Path(match.group("file")),
                          int(match.group("line")))
    return BuildError(f"pandoc: {lines[-1] if lines else 'failed'}", file)


def read_file(path: Path) -> bytes:
    """A file's bytes; one that cannot be read (missing, no permission) is
    a BuildError naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read: {exc.strerror or exc}", path) from None


def read_utf8(path: Path) -> str:
    """A text file's contents; one that is not UTF-8, or cannot be read, is a
    BuildError (never a silent latin-1 fallback)."""
    try:
        return read_file(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None


# Without `smart`: quotation marks and the spaces around them reach the
# filters as typed (filters/quotes.py pairs them; filters/punctuation.py
# does smart's dashes and ellipses).
MARKDOWN = "markdown-smart"


def parse_markdown(text: str, path: Path) -> pf.Doc:
    """pandoc Markdown into a panflute Doc (one pandoc run); `path` for errors."""
    out, _ = run(["--from", MARKDOWN, "--to", "json"], text, file=path)
    return pf.load(io.StringIO(out))


def read_markdown(path: Path) -> pf.Doc:
    return parse_markdown(read_utf8(path), path)


def not_utf8(path: Path, exc: UnicodeDecodeError) -> BuildError:
    line = exc.object[: exc.start].count(b"\n") + 1
    return BuildError(f"not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset "
                      f"{exc.start}); save the file as UTF-8", path, line)


def inlines(text: str) -> list[pf.Inline]:
    """Plain text as inlines: a Str per word, a Space per space."""
    out: list[pf.Inline] = []
    for n, word in enumerate(text.split(" ")):
        if n:
            out.append(pf.Space())
        if word:
            out.append(pf.Str(word))
    return out


def to_json(doc: pf.Doc) -> str:
    stream = io.StringIO()
    pf.dump(doc, stream)
    return stream.getvalue()


def copy(doc: pf.Doc) -> pf.Doc:
    """A deep copy of a Doc (its per-run attributes are not copied)."""
    return pf.load(io.StringIO(to_json(doc)))


def citeproc(doc: pf.Doc, *, resource_path: Path | None = None) -> pf.Doc:
    """Run pandoc's built-in citeproc on a Doc and return the result.

    The bibliographies and the style go on the command line, the only
    files pandoc reads in its sandbox."""
    args = ["--from", "json", "--to", "json", "--citeproc"]
    bibs = doc.get_metadata("bibliography", default=[]) or []
    for path in [bibs] if isinstance(bibs, str) else bibs:
        args.append(f"--bibliography={path}")
    csl = doc.get_metadata("csl", default=None)
    if csl:
        args.append(f"--csl={csl}")
    if resource_path is not None:
        args.append(f"--resource-path={resource_path}")
    out, _ = run(args, to_json(doc))
    return pf.load(io.StringIO(out))


def csl_json(bib_path: Path) -> list[dict]:
    """A BibTeX/BibLaTeX file as CSL JSON, as pandoc's citeproc reads it."""
    out, _ = run([str(bib_path), "--from", _bib_format(bib_path), "--to", "csljson"],
                 file=bib_path)
    return json.loads(out)


def _bib_format(path: Path) -> str:
    # The same rule pandoc's citeproc applies to `bibliography:` files.
    return "bibtex" if path.suffix.lower() == ".bibtex" else "biblatex"


def write(doc: pf.Doc, to: str, args: list[str], *, file: Path | None = None,
          env: dict[str, str] | None = None, sandbox: bool = True
          ) -> tuple[bytes, list[str]]:
    """Write a Doc in format `to`; return (the file's bytes, pandoc's warnings)."""
    with tempfile.TemporaryDirectory(prefix="pubbuild-") as tmp:
        target = Path(tmp) / f"out.{to}"
        _, warnings = run(["--from", "json", "--to", to, "--output", str(target),
                           *args], to_json(doc), file=file, env=env, sandbox=sandbox)
        return target.read_bytes(), warnings
