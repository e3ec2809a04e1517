"""Writing each format from the one finished AST.

Every writer takes the document after the filters and citeproc have run and
returns bytes; none of them transforms content that another format would
need too. What differs per format is only how it is printed:

- screen HTML: pandoc's HTML writer, our template, MathML, a table of
  contents, styles inlined so the page is one self-contained file;
- print HTML (for WeasyPrint): math as SVG images (`mathsvg`), footnotes
  kept in place so WeasyPrint can set them at the page foot, a running head;
- EPUB 3: pandoc's EPUB writer, MathML, one file per top-level section, a
  stable identifier, accessibility metadata and the PDF's page list.

This module must not know about the manuscript's own content.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

from pubbuild import (
    a11ydocx,
    a11yhtml,
    clock,
    containment,
    docxfields,
    jatsxref,
    mathml,
    mathsvg,
    pandoc,
    scholarly,
)
from pubbuild.diagnostics import BuildError, Reporter
from pubbuild.paths import STYLES, TEMPLATES

# A fixed namespace for name-based EPUB identifiers (uuid5 of it + title +
# authors): the same article always gets the same identifier.
EPUB_NAMESPACE = uuid.UUID("6f1c2b44-3c55-5b0e-9d2a-4a7e0e2b7d10")

# Code blocks in the three reading formats: pandoc's tango theme (dark
# tokens on a pale ground, legible in print and in grey). Its CSS reaches
# each template as `highlighting-css`, set only when a block was
# highlighted: a document without code gets not one byte more.
HIGHLIGHTING = "--syntax-highlighting=tango"


@dataclass
class Job:
    """What every writer needs to know besides the document."""

    manuscript: Path
    name: str              # outputs are named after the manuscript
    reporter: Reporter
    when: datetime.datetime  # the build's one date (pubbuild.clock)
    # The PDF's embedded files: (name, data, relationship); see pubbuild.pdf.
    attachments: list = field(default_factory=list)
    # A context manager per named stage, for the progress lines (none here).
    stage: Callable[[str], ContextManager] = lambda _name: contextlib.nullcontext()
    # Where the PDF's pages start (pubbuild.pagelist.PageStart), when this
    # job makes the PDF and the EPUB: the PDF's render fulfils it, the
    # EPUB's writer, in its thread, waits for it. Without it the EPUB's
    # writer lays the pages out itself.
    pages: Future | None = None
    # Set by the PDF's writer once its print HTML is made (or it failed):
    # the writers beside it wait for it (pipeline.write).
    printed: threading.Event | None = None

    @property
    def env(self) -> dict[str, str]:
        # Pandoc dates the EPUB (dcterms:modified, zip entries) from this.
        return {"SOURCE_DATE_EPOCH": clock.epoch(self.when)}


def html(doc: pf.Doc, job: Job, extra_styles: tuple[str, ...] = ()) -> bytes:
    """`extra_styles`: more sheets from styles/ (the diff adds diff.css)."""
    doc = mathml.with_alt_text(_copy_with_images(doc, job), job.reporter)
    doc = doc.walk(_scrolling_table)
    meta = doc.get_metadata(default={})
    doc.metadata["scholarly-meta"] = pf.MetaBlocks(pf.RawBlock(
        scholarly.head(meta, job.name, clock.iso(job.when)), format="html"))
    # Styles (through the template) and images (data: URLs) go inline, so
    # the page is one file; not pandoc's --embed-resources, which would
    # fetch remote URLs and adds markup the Nu checker warns about.
    doc.metadata["inline-css"] = pf.MetaBlocks(pf.RawBlock(
        _styles("base.css", "screen.css", *extra_styles), format="html"))
    out, _ = pandoc.write(doc, "html5", [
        "--standalone", f"--template={TEMPLATES / 'article.html'}",
        "--mathml", "--toc", "--toc-depth=3",  # sections and subsections (h2, h3)
        # Notes after the paragraph that cites them, near the reader's eye.
        "--reference-location=block", HIGHLIGHTING,
        "--section-divs", *_common(doc, job, shift=True)],
        file=job.manuscript, env=job.env)
    return a11yhtml.finish(out)


def print_html(doc: pf.Doc, job: Job) -> str:
    """The HTML WeasyPrint renders: SVG math, in-place footnotes, running head."""
    doc = mathsvg.math_to_svg(pandoc.copy(doc), job.reporter)
    doc = doc.walk(_footnote_in_place).walk(_unwrap_citations).walk(_css_pixels)
    meta = doc.get_metadata(default={})
    doc.metadata["running-title"] = pf.MetaString(_short_title(meta))
    doc.metadata["running-authors"] = pf.MetaString(_running_authors(meta))
    doc.metadata["build-date"] = pf.MetaString(clock.iso(job.when))
    out, _ = pandoc.write(doc, "html5", [
        "--standalone", f"--template={TEMPLATES / 'print.html'}", HIGHLIGHTING,
        "--section-divs", *_common(doc, job, shift=True)],
        file=job.manuscript, env=job.env)
    return _list_starts(out.decode("utf-8"))


def pdf(doc: pf.Doc, job: Job) -> bytes:
    """The print HTML, rendered by WeasyPrint, with the job's attachments;
    where its pages start goes to the EPUB's writer (`Job.pages`)."""
    pages = job.pages
    try:
        from pubbuild import pagelist
        from pubbuild import pdf as weasyprint

        try:
            with job.stage("print HTML (pandoc, SVG math)"):
                printable = print_html(doc, job)
        finally:
            if job.printed is not None:
                job.printed.set()
        with job.stage("PDF (WeasyPrint)"):
            return weasyprint.render(
                printable, manuscript=job.manuscript, when=job.when,
                attachments=job.attachments,
                on_layout=None if pages is None else lambda document:
                pages.set_result(pagelist.page_starts(document)))
    except BaseException as exc:
        # The EPUB's writer waits for the pages: it fails with the PDF
        # rather than waiting for ever.
        if pages is not None and not pages.done():
            pages.set_exception(exc)
        raise


def epub(doc: pf.Doc, job: Job) -> bytes:
    """The EPUB, with its accessibility metadata (EPUB Accessibility 1.1)
    and a page list: markers where the PDF's pages start (pubbuild.pagelist)."""
    from pubbuild import pagelist

    finished = doc
    # Images as data: URLs: pandoc, in its sandbox, reads no other file.
    doc = mathml.with_alt_text(_copy_with_images(doc, job), job.reporter)
    doc = doc.walk(_figure_anchor)
    meta = doc.get_metadata(default={})
    if "identifier" not in doc.metadata:
        doc.metadata["identifier"] = pf.MetaString(epub_identifier(meta))
    # Pandoc writes these as the package's schema.org metadata; a
    # manuscript's own, if it has any, win.
    claims = epub_accessibility(finished)
    for name, value in claims.items():
        if name not in doc.metadata:
            doc.metadata[name] = (pf.MetaString(value) if isinstance(value, str) else
                                  pf.MetaList(*map(pf.MetaString, value)))
    # Outside the sandbox (it would hide SOURCE_DATE_EPOCH): pandoc reads the
    # template and the two stylesheets named here, and nothing else, since
    # the images are data: URLs by now.
    out, _ = pandoc.write(doc, "epub3", [
        f"--template={TEMPLATES / 'epub.xhtml'}",
        *(f"--css={STYLES / name}" for name in ("base.css", "epub.css")),
        "--mathml", "--toc-depth=2", "--split-level=1", "--epub-title-page=true",
        HIGHLIGHTING,
        *_common(doc, job, shift=False)], file=job.manuscript, env=job.env,
        sandbox=False)
    starts = (job.pages.result() if job.pages is not None
              else _page_starts(finished, job))
    title = str(meta.get("title") or job.name)
    # Conformance is claimed only where it holds: an image without a text
    # description fails WCAG 1.1.1 (`check` names it to the author).
    conforms = "textual" in claims["accessModeSufficient"]
    return pagelist.mark(out, starts, source=f"{title} (PDF, {job.name}.pdf)",
                         also=(("dcterms:conformsTo", EPUB_CONFORMS_TO),)
                         if conforms else ())


# Metadata that names files on this machine (set by pipeline.read).
MACHINE_PATHS = ("bibliography", "csl")


def docx(doc: pf.Doc, job: Job, reference: bytes | None = None) -> bytes:
    """Word: insertion/deletion Spans with author and date become tracked
    changes (w:ins, w:del) in pandoc's DOCX writer; then `track_paragraphs`
    makes whole inserted or deleted paragraphs tracked as paragraphs.
    `reference`: a reference .docx whose styles, page and footer it uses."""
    from pubbuild import docxfront  # the title block pandoc's writer leaves out

    doc = docxfront.front(doc)
    with tempfile.TemporaryDirectory(prefix="pubbuild-ref-") as tmp:
        args = _common(doc, job, shift=False)
        if reference is not None:
            path = Path(tmp, "reference.docx")
            path.write_bytes(reference)
            args.append(f"--reference-doc={path}")
        written = a11ydocx.prepare(docxfields.prepare(_copy_with_images(doc, job)))
        # Pandoc writes every other metadata field as a custom document
        # property: not the paths this machine read the sources from.
        for key in MACHINE_PATHS:
            if key in written.metadata.content:
                del written.metadata[key]
        out, _ = pandoc.write(written, "docx", args, file=job.manuscript,
                              env=job.env, sandbox=False)
    return a11ydocx.finish(docxfields.finish(track_paragraphs(out)))


def word(doc: pf.Doc, job: Job) -> bytes:
    """`build.py docx`: the Word file in the manuscript style (Times, double
    spaced; without line numbers, which `submit` adds for reviewers)."""
    from pubbuild import wordref

    return docx(doc, job, wordref.reference_docx(line_numbers=False))


def jats(doc: pf.Doc, job: Job) -> bytes:
    """JATS Journal Publishing 1.3 XML; a file that does not validate against
    the DTDs in schemas/jats is an error, not an output."""
    from pubbuild import jatsmeta, submission

    private = jatsmeta.prepare(jatsxref.prepare(pandoc.copy(doc)), job.when)
    # element_citations: the references as structured <element-citation>s
    # (from the `references` jatsmeta sets), not the style's formatted text.
    out, _ = pandoc.write(private, "jats_publishing+element_citations",
                          ["--standalone"],
                          file=job.manuscript, env=job.env)
    out = jatsmeta.finish(jatsxref.finish(out))
    errors = submission.validate_jats(out)
    if errors:
        raise BuildError(f"the JATS does not validate: {errors[0]}", job.manuscript)
    return out


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def track_paragraphs(data: bytes) -> bytes:
    """Tracked changes pandoc's writer cannot make: whole blocks (tables,
    lists, code, figures) and paragraph marks; unique ids (`docxtrack`)."""
    from pubbuild import docxtrack

    return docxtrack.track(data)


def epub_identifier(meta: dict) -> str:
    """The DOI if the manuscript has one, else a UUID named by title and authors."""
    if meta.get("doi"):
        return f"doi:{meta['doi']}"
    authors = meta.get("author") or []
    authors = authors if isinstance(authors, list) else [authors]
    name = "\n".join([str(meta.get("title", "")), *map(str, authors)])
    return f"urn:uuid:{uuid.uuid5(EPUB_NAMESPACE, name)}"


# What the EPUB claims (EPUB Accessibility 1.1, its conformance statement);
# tests/test_a11y_epub.py holds it to Ace by DAISY and EPUBCheck.
EPUB_CONFORMS_TO = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"


def epub_accessibility(doc: pf.Doc) -> dict[str, str | list[str]]:
    """The EPUB's accessibility metadata, as pandoc's EPUB writer takes it,
    from what the document holds: only what is true of this one."""
    images, formulas, headings = [], [], []

    def note(elem, _doc):
        for kind, found in ((pf.Image, images), (pf.Math, formulas),
                            (pf.Header, headings)):
            if isinstance(elem, kind):
                found.append(elem)

    doc.walk(note)
    described = all(pf.stringify(image).strip() or image.attributes.get("alt")
                    for image in images)
    features = ["readingOrder", "tableOfContents",
                # The PDF's page numbers: markers and the page list (pagelist).
                "pageBreakMarkers", "pageNavigation"]
    if headings:
        features.append("structuralNavigation")
    if images and described:
        features.append("alternativeText")
    if formulas:  # MathML, with the TeX as alt text (pubbuild/mathml.py)
        features += ["MathML", "describedMath"]
    sufficient = ["textual"] if described else []
    return {
        "accessModes": ["textual", "visual"] if images else ["textual"],
        "accessModeSufficient": (["textual,visual"] if images else []) + sufficient,
        "accessibilityFeatures": sorted(features),
        "accessibilityHazards": ["none"],
        "accessibilitySummary": _accessibility_summary(
            bool(headings), bool(images), described, bool(formulas)),
    }


def _accessibility_summary(headings: bool, images: bool, described: bool,
                           formulas: bool) -> str:
    """The summary a reading system shows, a sentence per feature."""
    found = (["This EPUB meets EPUB Accessibility 1.1 at WCAG 2.1 Level AA."]
             if described else [])
    ways = "Headings, a table of contents" if headings else "A table of contents"
    found.append(f"{ways} and a page list (the page numbers of the PDF "
                 "edition) lead through it.")
    if images and described:
        found.append("Every image has a text description, so the text alone "
                     "is enough.")
    elif images:
        found.append("Some images have no text description.")
    if formulas:
        found.append("Formulas are MathML, with their TeX source as a "
                     "description.")
    found.append("Nothing in it flashes, moves or makes a sound.")
    return " ".join(found)


def _page_starts(doc: pf.Doc, job: Job) -> list:
    """Where the PDF's pages start, when this job does not make the PDF:
    its print HTML laid out as for the PDF, not written."""
    from pubbuild import pagelist
    from pubbuild import pdf as weasyprint

    return pagelist.page_starts(weasyprint.layout(
        print_html(doc, job), manuscript=job.manuscript, when=job.when))


# -- helpers ---------------------------------------------------------------

def _common(doc: pf.Doc, job: Job, *, shift: bool) -> list[str]:
    # --wrap=none: a line break inside a <meta content> would reach the
    # PDF's Keywords and the indexers' tags.
    args = [f"--resource-path={job.manuscript.parent}", "--wrap=none"]
    # The title is the page's one <h1>: a manuscript whose sections start
    # at `#` has them moved down a level in the HTML and the PDF.
    if shift and _top_heading_level(doc) == 1:
        args.append("--shift-heading-level-by=1")
    return args


def _embed_image(elem, _doc, job: Job):
    if isinstance(elem, pf.Image):
        # Checked once, by the figures filter: here only found again. (An
        # image gone since, say an old revision's in a diff, is an error.)
        path = containment.local_path(elem.url, job.manuscript.parent)
        if path is not None:
            if not path.is_file():
                raise BuildError(f"image not found: {elem.url}", job.manuscript,
                                 job.reporter.locate(elem.url[:60]))
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            kind = containment.IMAGE_TYPES[path.suffix.lower()]
            elem.url = f"data:{kind};base64,{data}"
    return None


def _styles(*names: str) -> str:
    return "\n".join((STYLES / name).read_text(encoding="utf-8") for name in names)


def _copy_with_images(doc: pf.Doc, job: Job) -> pf.Doc:
    """A private copy (one format's changes never reach another) whose
    images are data: URLs, so the file is whole and pandoc reads nothing."""
    return pandoc.copy(doc).walk(functools.partial(_embed_image, job=job))


def _top_heading_level(doc: pf.Doc) -> int:
    """1 when sections start at `#`, 2 when at `##` (the two conventions)."""
    levels = [block.level for block in doc.content if isinstance(block, pf.Header)]
    return min(levels, default=1)


def _scrolling_table(elem, _doc):
    """A table in a box of its own that scrolls sideways where the table is
    wider than the screen (a phone), so that the page does not: the text
    around it stays put. The box can be reached with the keyboard (to
    scroll it) and is named by the table's caption (the scrolling-table
    pattern; a group, not a region: not a landmark in its own right)."""
    if not isinstance(elem, pf.Table) or any(
            isinstance(up, pf.Table) for up in _ancestors(elem)):
        return None
    label = " ".join(pf.stringify(elem.caption).split()) if elem.caption else ""
    return pf.Div(elem, classes=["table-scroll"], attributes={
        "role": "group", "tabindex": "0", "aria-label": label or "Table"})


def _ancestors(elem):
    while (elem := elem.parent) is not None:
        yield elem


def _figure_anchor(elem, _doc):
    """A figure's id on a div around it, for the EPUB.

    Pandoc's EPUB writer points a link to `#id` at the chapter file that
    holds the id, but it does not look at a figure's own id: "Figure 1" in
    one chapter would link to a fragment of its own file that does not
    exist (EPUBCheck RSC-012). A div's id it does follow.
    """
    if isinstance(elem, pf.Figure) and elem.identifier:
        ident, elem.identifier = elem.identifier, ""
        return pf.Div(elem, identifier=ident)
    return None


def _footnote_in_place(elem, _doc):
    """A Note becomes a span WeasyPrint floats to the page foot."""
    if not isinstance(elem, pf.Note):
        return None
    inlines: list[pf.Inline] = []
    for block in elem.content:
        if inlines:
            inlines.append(pf.Space())
        if isinstance(block, pf.Para | pf.Plain):
            inlines.extend(block.content)
        else:
            inlines.append(pf.Str(pf.stringify(block)))
    return pf.Span(*inlines, classes=["footnote"])


def _unwrap_citations(elem, _doc):
    """Citations as their rendered text and links, without wrapping spans.

    WeasyPrint treats each inline box as a unit when breaking lines and,
    around nested citation spans, once set a lone word on its own line
    (Kozea/WeasyPrint#1614). The links to the entries stay.
    """
    if isinstance(elem, pf.Cite) or (
            isinstance(elem, pf.Span) and "citation" in elem.classes):
        return list(elem.content)
    return None


def _css_pixels(elem, _doc):
    """An image's `{width=300}` (pixels) as inches, for WeasyPrint.

    Pandoc writes pixels as the `width`/`height` attributes, which browsers
    and e-readers honour but WeasyPrint treats as presentational hints and
    ignores; any other unit it writes as a `style`, which all of them read.
    96 px to the inch, as CSS counts them, so the size is the same.
    """
    if isinstance(elem, pf.Image):
        for key in ("width", "height"):
            value = elem.attributes.get(key, "")
            if pixels := re.fullmatch(r"(\d+(?:\.\d+)?)(?:px)?", value):
                elem.attributes[key] = f"{float(pixels[1]) / 96:g}in"
    return None


_OL_START = re.compile(r'<ol start="(-?\d+)"')


def _list_starts(html: str) -> str:
    """`<ol start="0">` counted from 0 by WeasyPrint too.

    WeasyPrint applies `start` only as a presentational hint (off in
    pubbuild.pdf, where a hint would also resize images and tables behind
    the stylesheet's back); the same counter reset, as the list's own
    style, numbers the list as browsers and e-readers do. (The list styles
    `type="a"` etc. are print.css's.)
    """
    return _OL_START.sub(lambda m: f'<ol style="counter-reset: list-item '
                                   f'{int(m[1]) - 1}" start="{m[1]}"', html)


def _short_title(meta: dict) -> str:
    for key in ("running-title", "short-title", "shorttitle"):
        if meta.get(key):
            return str(meta[key])
    title = str(meta.get("title", ""))
    return re.split(r"[:.?!]\s", title, maxsplit=1)[0]


def _running_authors(meta: dict) -> str:
    authors = meta.get("authors-plain") or []
    families = [a["name"].split()[-1] for a in authors if a.get("name")]
    if len(families) > 2:
        return f"{families[0]} et al."
    return " & ".join(families)
