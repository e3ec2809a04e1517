"""Errors and warnings that carry a source position (file:line).

Every stage and every filter reports problems through a `Reporter`, so that
a user always sees `file:line: level: message`, one line each. Expected
failures end the build by raising `BuildError`; anything else is a bug.

This module must not know about pandoc, panflute or any output format.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path


def display_path(path: Path | str | None) -> str:
    """A path as the user should see it: relative to the cwd when inside it."""
    if path is None:
        return "<input>"
    path = Path(path)
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def where(file: Path | str | None, line: int | None = None) -> str:
    return f"{display_path(file)}:{line}" if line else display_path(file)


class BuildError(Exception):
    """An expected failure caused by the input, shown as one line."""

    def __init__(self, message: str, file: Path | str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        return f"{where(self.file, self.line)}: {self.message}"


@dataclass(frozen=True)
class Diagnostic:
    level: str  # "error" or "warning"
    message: str
    file: Path | str | None = None
    line: int | None = None
    source: str = ""  # which stage or filter said it

    def __str__(self) -> str:
        return f"{where(self.file, self.line)}: {self.level}: {self.message}"


class SourceText:
    """A source file's text, searchable for the line a snippet stands on.

    Pandoc's Markdown reader keeps no source positions, so a filter that
    wants to name a line finds the snippet it is looking at in the source.
    White space is folded (a snippet may be wrapped across lines), and the
    search moves forward from the previous hit, since filters walk the
    document in order: the second identical citation gets the second line.
    """

    def __init__(self, path: Path | str | None, text: str):
        self.path = path
        chars: list[str] = []
        lines: list[int] = []
        line = 1
        previous_space = False
        for char in text:
            if char.isspace():
                if not previous_space:
                    chars.append(" ")
                    lines.append(line)
                previous_space = True
            else:
                chars.append(char)
                lines.append(line)
                previous_space = False
            if char == "\n":
                line += 1
        self._folded = "".join(chars)
        self._lines = lines
        self._cursor = 0

    def rewind(self) -> None:
        """Search from the top again (a filter that starts a new walk)."""
        self._cursor = 0

    @classmethod
    def from_file(cls, path: Path) -> SourceText:
        return cls(path, Path(path).read_text(encoding="utf-8"))

    def locate(self, *snippets: str) -> int | None:
        """The line of the first snippet found, searching forward first."""
        for snippet in snippets:
            needle = re.sub(r"\s+", " ", snippet.replace("\xa0", " ")).strip()
            if not needle:
                continue
            index = self._folded.find(needle, self._cursor)
            if index < 0:
                index = self._folded.find(needle)
            if index >= 0:
                self._cursor = index + 1
                return self._lines[index]
        return None


@dataclass
class Reporter:
    """Collects diagnostics; `echo` also prints each one as it comes."""

    source: SourceText | None = None
    echo: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def file(self) -> Path | str | None:
        return self.source.path if self.source else None

    def locate(self, *snippets: str) -> int | None:
        return self.source.locate(*snippets) if self.source else None

    def report(self, level: str, message: str, line: int | None = None,
               source: str = "", file: Path | str | None = None) -> Diagnostic:
        diagnostic = Diagnostic(level, message, file or self.file, line, source)
        self.diagnostics.append(diagnostic)
        if self.echo:
            print(diagnostic, file=sys.stderr)
        return diagnostic

    def warning(self, message: str, line: int | None = None, **kw) -> Diagnostic:
        return self.report("warning", message, line, **kw)

    def error(self, message: str, line: int | None = None, **kw) -> Diagnostic:
        return self.report("error", message, line, **kw)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "warning"]
