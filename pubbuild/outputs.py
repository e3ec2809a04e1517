"""The output formats a build makes: one table, read by everything else.

The command line (a subcommand per format, the default set), the pipeline
(which writer, in a thread beside the PDF or not), the up-to-date check
(what each output depends on), `watch` (what it serves), `verify` and the
tests all read `FORMATS`. Adding a format is one entry here and its writer
(a function `(doc, job) -> bytes`, named as "module:function" so that this
table stays light to import: the no-op check reads it before pandoc,
panflute or WeasyPrint are loaded).

This module must not know about pandoc, panflute or WeasyPrint.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass

# Pipeline files every output depends on, besides the formats' own
# (fnmatch patterns, relative to the project). Every module of the package
# is one of them unless a format claims it as its own (`depends`), so that
# a new module cannot fall outside the key; the command line (build.py),
# the commands (pubbuild/commands/) and the batch runner (which starts
# `build.py` once per manuscript) are not: they make no byte of an output.
COMMON = ("requirements.txt", "filters/*.py", "templates/titleblock.html",
          "pubbuild/*.py")
NOT_OUTPUT = ("build.py", "pubbuild/commands/*", "pubbuild/batch.py")


@dataclass(frozen=True)
class Format:
    name: str          # the command (`build.py html`) and the manifest's word
    suffix: str        # the output is NAME + suffix, NAME the manuscript's
    what: str          # for --help
    writer: str        # "module:function", (doc, job) -> bytes
    depends: tuple[str, ...]  # its own pipeline files (fnmatch patterns)
    beside_pdf: bool   # written in a thread while WeasyPrint renders
    default: bool = True  # made by `python build.py` with no format named

    @property
    def lays_out(self) -> bool:
        """Whether making it lays pages out with WeasyPrint (the PDF, and
        the EPUB's page list): the build then imports WeasyPrint early."""
        return "pubbuild/pdf.py" in self.depends

    def write(self, doc, job) -> bytes:
        module, function = self.writer.split(":")
        return getattr(importlib.import_module(module), function)(doc, job)


FORMATS = {fmt.name: fmt for fmt in (
    Format("pdf", ".pdf", "the PDF (WeasyPrint, print stylesheet)",
           "pubbuild.formats:pdf",
           ("templates/print.html", "templates/meta.html", "styles/print.css",
            "fonts/*", "pubbuild/pdf.py", "pubbuild/mathsvg.py"),
           beside_pdf=False),
    Format("html", ".html", "the standalone HTML page", "pubbuild.formats:html",
           ("templates/article.html", "templates/meta.html", "styles/base.css",
            "styles/screen.css"),
           beside_pdf=True),
    # Its page list marks where the PDF's pages start: the print pipeline
    # lays the pages out, so each of its files is one of the EPUB's too.
    Format("epub", ".epub", "the EPUB 3", "pubbuild.formats:epub",
           ("templates/epub.xhtml", "styles/base.css", "styles/epub.css",
            "pubbuild/pagelist.py", "templates/print.html", "templates/meta.html",
            "styles/print.css", "fonts/*", "pubbuild/pdf.py", "pubbuild/mathsvg.py"),
           beside_pdf=True),
    # For journals; made when asked for (`build.py docx`), and by `submit`.
    Format("docx", ".docx", "the Word file, in the manuscript style",
           "pubbuild.formats:word", ("pubbuild/wordref.py",), beside_pdf=True,
           default=False),
    Format("jats", ".jats.xml", "the JATS XML (Publishing 1.2), validated",
           "pubbuild.formats:jats", (), beside_pdf=True, default=False),
)}
DEFAULT = tuple(name for name, fmt in FORMATS.items() if fmt.default)


def output_name(stem: str, fmt: str) -> str:
    return f"{stem}{FORMATS[fmt].suffix}"


@functools.cache
def claimed() -> frozenset[str]:
    """The pipeline patterns some format claims as its own."""
    return frozenset(pattern for fmt in FORMATS.values() for pattern in fmt.depends)
