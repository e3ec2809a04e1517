"""Running the pandoc bundled with pypandoc_binary.

The one place that starts a pandoc process. No system pandoc is used, and
pandoc's own error messages are turned into one-line `BuildError`s that
name the file and line pandoc complained about.

This module must not know about the manuscript's structure or filters.
"""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
from pathlib import Path

import panflute as pf

from pubbuild.diagnostics import BuildError

_POSITION = re.compile(r'Error at "(?P<file>[^"]*)" \(line (?P<line>\d+), column \d+\)')
_YAML_POSITION = re.compile(r"\(line (?P<line>\d+), column \d+\)")


@functools.cache
def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


@functools.cache
def version() -> str:
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


def run(args: list[str], stdin: str | None = None, *, file: Path | None = None
        ) -> tuple[str, list[str]]:
    """Run pandoc; return (stdout, warnings). `file` names the input for errors."""
    proc = subprocess.run(
        [pandoc_path(), *args], input=stdin, capture_output=True, text=True,
        encoding="utf-8",
    )
    warnings = [line.removeprefix("[WARNING] ").strip()
                for line in proc.stderr.splitlines() if line.startswith("[WARNING]")]
    if proc.returncode != 0:
        raise _error(proc.stderr, file)
    return proc.stdout, warnings


def _error(stderr: str, file: Path | None) -> BuildError:
    lines = [line for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines)
    match = _POSITION.search(text)
    if match:
        # pandoc repeats the offending line and a caret after the message;
        # the message is what stands between the position and that echo.
        after = stderr[stderr.index(match.group(0)) + len(match.group(0)):]
        detail = after.strip().splitlines()[0].strip() if after.strip() else ""
        return BuildError(detail or "pandoc could not parse this",
                          Path(match.group("file")), int(match.group("line")))
    match = _YAML_POSITION.search(text)
    if match and file is not None:
        return BuildError(f"YAML front matter: {lines[-1].strip()}", file,
                          int(match.group("line")))
    return BuildError(f"pandoc: {lines[-1] if lines else 'failed'}", file)


def read_markdown(path: Path) -> pf.Doc:
    """Read a pandoc-Markdown file into a panflute Doc (one pandoc run)."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None
    out, _ = run(["--from", "markdown", "--to", "json"], text, file=path)
    return pf.load(io.StringIO(out))


def not_utf8(path: Path, exc: UnicodeDecodeError) -> BuildError:
    line = exc.object[: exc.start].count(b"\n") + 1
    return BuildError(f"not UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                      "save the file as UTF-8", path, line)


def to_json(doc: pf.Doc) -> str:
    stream = io.StringIO()
    pf.dump(doc, stream)
    return stream.getvalue()


def citeproc(doc: pf.Doc, *, resource_path: Path | None = None) -> pf.Doc:
    """Run pandoc's built-in citeproc on a Doc and return the result."""
    args = ["--from", "json", "--to", "json", "--citeproc"]
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
