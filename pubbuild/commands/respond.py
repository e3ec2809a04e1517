"""`python build.py respond [reviews.md]`: the response to reviewers.

The revised manuscript is read once (as `submit` reads it) and compared
with the revision the reviewers read (as `diff` compares them); its PDF
and DOCX are laid out (as `submit` writes them) to say on which page and
line each change is; `reviews.md` is read through the same pipeline as a
manuscript, with the article's bibliography; and the letter is written as
PDF, DOCX and HTML in OUT/response/, all or nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pubbuild import clock, formats, frontmatter, pandoc, pipeline
from pubbuild.commands import size
from pubbuild.diagnostics import BuildError, display_path
from pubbuild.files import write_all
from pubbuild.paths import STYLES

STYLESHEETS = ("diff.css", "response.css")


def run(args) -> int:
    from pubbuild import (
        compare,
        docxlines,
        locate,
        respond,
        reviews,
        submission,
        wordref,
    )
    from pubbuild import pdf as weasyprint
    from pubbuild.commands import diff, submit

    progress = pipeline.Progress(args.quiet)
    manuscript = args.manuscript.resolve()
    path = (args.reviews or manuscript.parent / "reviews.md").resolve()
    if not path.is_file():
        raise BuildError("reviews file not found (write reviews.md beside the "
                         "manuscript: docs/respond.md)", path)
    text = pandoc.read_utf8(path)
    header = frontmatter.fields(text)
    if not header and text.startswith("---"):
        pandoc.parse_markdown(text, path)  # a broken front matter: pandoc says where
    old = args.against or _revision(header, "old")
    new = _revision(header, "new")
    if not old:
        raise BuildError("no `old:` in the front matter: name the revision the "
                         "reviewers read (or --against OLD)", path, 1)
    profile = submission.load_profile(args.profile)
    with tempfile.TemporaryDirectory(prefix="pubbuild-respond-") as tmp:
        with progress.stage("read both revisions"):
            # OLD may be a file (a manuscript kept without git): the revised
            # one is then the working tree's.
            old_file = (Path(old) if args.against else path.parent / old).resolve()
            try:
                if old.endswith(".md") and old_file.is_file() and not new:
                    (old_path, old_rev), (new_path, new_rev) = _files(
                        old_file, manuscript)
                    relative = None
                else:
                    (old_path, old_rev), (new_path, new_rev), relative = \
                        diff.revisions_of(manuscript, old, new, Path(tmp))
            except BuildError as error:
                if error.message.startswith("not inside a git repository"):
                    raise BuildError(
                        f"{display_path(manuscript)} is not in a git repository: "
                        "give `old:` as the file of the version the reviewers "
                        "read (old: paper-v1.md)", path, _line_of(text, "old:")
                    ) from None
                if error.file is not None:
                    raise
                if error.message.startswith(f"{old}:") and args.against:
                    raise  # the command line's: no line of the file
                key = "old:" if error.message.startswith(f"{old}:") else "new:"
                raise BuildError(error.message, path,
                                 _line_of(text, key)) from None
            old_doc = diff.read_revision(old_path, old_rev, relative, args.csl)
            source = pipeline.read(new_path, args.csl)
            before = pipeline.run_filters(source, through_citeproc=False,
                                          without=("backlinks",))
            new_doc = pipeline.finish(pandoc.copy(before), source,
                                      without=("backlinks",))
        with progress.stage("compare"):
            result = compare.compare(old_doc, pandoc.copy(new_doc),
                                     author=new_rev.author, date=new_rev.date,
                                     labels=(old_rev.label, new_rev.label))
        when = clock.parse_iso(new_rev.date)
        job = formats.Job(new_path, new_path.stem, source.reporter, when)
        revised = (submit.anonymised(source, before, new_doc, profile)[0]
                   if args.anonymous else submit.as_submitted(new_doc, profile))
        with progress.stage("lay out the revised PDF"):
            pdf_lines = locate.pdf_lines(weasyprint.layout(
                formats.print_html(revised, job), manuscript=new_path, when=when))
        with progress.stage("lay out the revised DOCX"):
            settings = {**profile.docx, "line_numbers": True}
            docx_lines = docxlines.lines(formats.docx(
                revised, job, wordref.reference_docx(**settings)))
        with progress.stage("read the replies"):
            letter_source = pipeline.read(path, args.csl, inherit=source)
            parsed = reviews.parse(letter_source.doc, letter_source.reporter)
        units = respond.units(result.doc)
        places = respond.where(units, result.changes, pdf_lines, docx_lines)
        plan = respond.Plan.make(parsed, result, units, letter_source.reporter,
                                 draft=args.draft)
        pipeline.stop_on_errors(letter_source)
        for diagnostic in letter_source.reporter.warnings:
            progress.say(str(diagnostic))
        if args.strict:
            pipeline.stop_on_warnings(letter_source)
        # Counted as journal profiles count them.
        words = (submission.main_text_words(old_doc),
                 submission.main_text_words(new_doc))
        letter_source.doc.content = respond.letter(
            parsed, plan, header, new_doc, (old_rev.label, new_rev.label), words,
            anonymous=args.anonymous)
        respond.front(letter_source.doc, header, new_doc, anonymous=args.anonymous,
                      date=new_rev.date[:10])
        with progress.stage("filters + citeproc (the letter)"):
            letter = pipeline.run_filters(letter_source, without=("backlinks",))
        respond.fill(letter, plan, units, places, result.doc)
        out = args.out.resolve() / "response"
        letter_job = formats.Job(path, "response", letter_source.reporter, when)
        with progress.stage("write PDF, DOCX, HTML"):
            files = {
                out / "response.pdf": weasyprint.render(
                    formats.print_html(letter, letter_job), manuscript=path, when=when,
                    extra=tuple(STYLES / name for name in STYLESHEETS)),
                out / "response.docx": formats.docx(
                    # A letter: single spaced, no line numbers.
                letter, letter_job,
                wordref.reference_docx(line_numbers=False, spacing="single")),
                out / "response.html": formats.html(letter, letter_job, STYLESHEETS),
            }
    write_all(files)
    for line in plan.report(words):
        progress.say(line)
    for written in files:
        progress.say(f"wrote {display_path(written)} "
                     f"({size(written.stat().st_size)})")
    return 0


def _files(old: Path, manuscript: Path):
    """((path, Revision) of an old manuscript file, the same of the working
    tree's manuscript), as `diff --files` compares them."""
    from pubbuild import revisions

    when = clock.iso(clock.build_time([manuscript]).moment)
    return ((old, revisions.Revision(display_path(old), None, "Author", when)),
            (manuscript, revisions.working_tree(None, when)))


def _revision(header: dict, key: str) -> str | None:
    value = header.get(key)
    return None if value in (None, "") else str(value)


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(key):
            return number
    return None

