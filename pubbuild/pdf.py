"""The PDF: WeasyPrint renders the print HTML with the print stylesheet.

Two things keep the render inside the project:

- fontconfig is pointed at a configuration that lists only the bundled
  fonts (`fontconfig_file`), before WeasyPrint (and Pango) start, so no
  glyph can come from the machine's fonts;
- every resource goes through `ProjectFetcher`, which allows `data:` URLs
  and files inside the project or the manuscript's folder, and nothing else
  (no network, no file outside).

This module must not know about pandoc or the other formats.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import io
import logging
import os
import re
import resource
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pubbuild import clock, containment, limits
from pubbuild.diagnostics import BuildError
from pubbuild.paths import FONTS, ROOT, STYLES

PRINT_CSS = STYLES / "print.css"


def render(html: str, *, manuscript: Path, when: datetime.datetime,
           attachments: list[tuple[str, bytes, str]] = (),
           stylesheet: Path = PRINT_CSS, extra: tuple[Path, ...] = (),
           on_layout=None) -> bytes:
    """The PDF of `html`; images resolve against the manuscript's folder.

    `on_layout`, if given, is called with WeasyPrint's laid-out document
    (its pages) before the PDF is written: the EPUB's page list is taken
    from it (pubbuild.pagelist).

    `attachments` are (name, data, relationship) embedded as associated
    files (the catalog's /AF, as PDF/A-3 defines them), dated `when`. The
    document /ID is a hash of the content, so it is the same on every build.
    """
    only_bundled_fonts()
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    missing = [(name, line) for name, line in _font_files(stylesheet)
               if not (stylesheet.parent / name).is_file()]
    if missing:
        raise BuildError(f"font file not found: {missing[0][0]}", stylesheet,
                         missing[0][1])
    from weasyprint.urls import FatalURLFetchingError

    fetcher = ProjectFetcher([ROOT, manuscript.parent])
    fonts = FontConfiguration()
    problems = _Problems()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(problems)
    try:
        sheets = [weasyprint.CSS(filename=str(sheet), url_fetcher=fetcher,
                                 font_config=fonts) for sheet in (stylesheet, *extra)]
        files = [weasyprint.Attachment(file_obj=io.BytesIO(data), name=name,
                                       created=when, modified=when,
                                       relationship=relationship)
                 for name, data, relationship in attachments]
        relationships = {name: relationship for name, _, relationship in attachments}
        options = {**weasyprint.DEFAULT_OPTIONS, "stylesheets": sheets,
                   "pdf_tags": True, "pdf_variant": "pdf/ua-1",
                   "pdf_identifier": True, "attachments": files}
        out = io.BytesIO()
        with _limited(), _dated(when), _hyphenated_lines_limited():
            rendered = _made_up(html, lambda markup: weasyprint.HTML(
                string=markup, base_url=f"{manuscript.parent}/",
                url_fetcher=fetcher).render(font_config=fonts, **options))
            if on_layout is not None:
                on_layout(rendered)
            with _tagged(rendered):
                rendered.write_pdf(out, finisher=lambda _doc, pdf: _associate(
                    pdf, relationships), **options)
    except FatalURLFetchingError as exc:
        raise BuildError(str(exc), manuscript) from None
    except MemoryError:
        raise BuildError(f"the PDF needed more than {limits.configured()[1]} MiB "
                         "(PUBBUILD_MEMORY_LIMIT)", manuscript) from None
    finally:
        logger.removeHandler(problems)
    if problems.errors:
        raise BuildError(problems.errors[0], manuscript)
    return out.getvalue()


def layout(html: str, *, manuscript: Path, when: datetime.datetime):
    """WeasyPrint's laid-out document of `html`, as `render` lays it out,
    not written: the EPUB's page list comes from it when the PDF is not
    made in the same build (`build.py epub`). It is render's own run,
    stopped once the pages are laid out, so they break where the PDF's
    do: there is no second set-up to drift from the first."""
    def stop(document):
        raise _LaidOut(document)

    try:
        render(html, manuscript=manuscript, when=when, on_layout=stop)
    except _LaidOut as laid_out:
        return laid_out.document
    raise AssertionError("render() wrote a PDF without laying it out")


class _LaidOut(Exception):
    """Not an error: how `layout` stops `render` before it writes."""

    def __init__(self, document):
        super().__init__("laid out")
        self.document = document


@contextlib.contextmanager
def _limited():
    """The render's memory limit, the process's data size, restored
    afterwards. (Its time is the build's deadline: pubbuild.limits.)"""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = limits.configured()[1] * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextlib.contextmanager
def _dated(when: datetime.datetime):
    """WeasyPrint subsets fonts with fontTools, which stamps each subset's
    `head` table with `timestampNow()`: SOURCE_DATE_EPOCH if set, else the
    wall clock, so two builds a second apart differed. For the render, the
    stamp is the build's date. Not through the environment: setting a
    variable while the HTML and EPUB writers' threads run is not safe in C
    (setenv may move the array another thread's getenv is reading;
    libfaketime's getenv in every condition wait crashed on it)."""
    from fontTools.misc import timeTools
    from fontTools.ttLib.tables import _h_e_a_d as head

    stamp = timeTools.timestampSinceEpoch(int(clock.epoch(when)))
    before = head.timestampNow
    head.timestampNow = lambda: stamp
    try:
        yield
    finally:
        head.timestampNow = before


# -- page make-up ------------------------------------------------------------
# A page may be left at most this much empty because the figure or table
# that follows did not fit (the issue "Page make-up"; tests/test_page_makeup.py).
HOLE = 1 / 3
# Each pass moves one figure or table and renders again; a manuscript whose
# figures still leave holes after this many moves keeps them.
MAKE_UP_PASSES = 8
# What a figure or table may move past: the text that follows it in its section.
_FLOATS = ("figure", "table")
_TEXT = ("p", "ul", "ol", "dl", "blockquote")


def _made_up(html: str, render):
    """The rendered document, its figures and tables moved where one left a hole.

    WeasyPrint has no page floats (css-page-floats; Kozea/WeasyPrint#1098):
    a figure kept whole (`break-inside: avoid`) that does not fit at the
    foot of a page goes to the next one and leaves the rest of the page
    empty. As LaTeX floats do, the figure moves past the text that follows
    it (a paragraph or list of its own section, never past a heading or
    another figure, so figures keep their order and numbers) until that text
    fills the page, and is rendered again; one move per pass."""
    document = render(html)
    for _ in range(MAKE_UP_PASSES):
        index = _hole(document)
        moved = None if index is None else _move_after_next_text(html, index)
        if moved is None:
            break
        html, document = moved, render(moved)
    return document


def _hole(document) -> int | None:
    """The index (in document order, among figures and tables) of the first
    figure or table that opens a page after a page left more than HOLE empty."""
    from weasyprint.formatting_structure import boxes

    for page, following in zip(document.pages, document.pages[1:], strict=False):
        box = page._page_box
        root = box.children[0]
        bottom = box.content_box_y() + box.height
        for child in box.children[1:]:
            if isinstance(child, boxes.FootnoteAreaBox) and child.children:
                bottom = min(bottom, child.position_y)
        used = max((leaf.position_y + leaf.margin_height()
                    for leaf in root.descendants()
                    if isinstance(leaf, (boxes.LineBox, boxes.ReplacedBox))),
                   default=box.content_box_y())
        if bottom - used <= HOLE * box.height:
            continue
        first = following._page_box.children[0]
        while first.element_tag not in _FLOATS and getattr(first, "children", None):
            first = first.children[0]
        if first.element_tag in _FLOATS:
            root = document.pages[0]._page_box.children[0].element
            return [element for element in root.iter()
                    if _local(element.tag) in _FLOATS].index(first.element)
    return None


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")


def _end(html: str, start: int) -> int:
    """Where the element whose start tag is at `start` ends (after its end tag)."""
    name = _TAG.match(html, start)[2].lower()
    depth = 0
    for tag in _TAG.finditer(html, start):
        if tag[2].lower() != name:
            continue
        depth += -1 if tag[1] else 1
        if depth == 0:
            return tag.end()
    raise ValueError(f"<{name}> at {start} is not closed")


def _move_after_next_text(html: str, index: int) -> str | None:
    """`html` with the `index`-th figure or table moved after the text block
    that follows it, or None where none follows in its section."""
    starts = [tag.start() for tag in _TAG.finditer(html)
              if not tag[1] and tag[2].lower() in _FLOATS]
    if index >= len(starts):
        return None
    start = starts[index]
    end = _end(html, start)
    following = _TAG.match(html, end + len(html[end:]) - len(html[end:].lstrip()))
    if following is None or following[1] or following[2].lower() not in _TEXT:
        return None
    after = _end(html, following.start())
    return html[:start] + html[end:after] + "\n" + html[start:end] + html[after:]


@contextlib.contextmanager
def _hyphenated_lines_limited(limit: int = 2):
    """At most `limit` lines in a row end in a hyphen (CSS's
    `hyphenate-limit-lines`, which WeasyPrint 70 does not implement).

    WeasyPrint breaks a paragraph's lines one at a time
    (`layout.inline.iter_line_boxes`); the line after `limit` lines ending
    in a hyphen is broken with automatic hyphenation off, so it ends at a
    space (or a hyphen the author typed: that one is not prevented). The
    count starts again on each page. Patched for the render only, then
    restored; if WeasyPrint's internals move, the render goes on unlimited
    and tests/test_page_makeup.py fails."""
    import contextvars

    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import block, inline

    original_lines, original_split = block.iter_line_boxes, inline.split_first_line
    if original_lines is not inline.iter_line_boxes:
        yield
        return
    no_hyphens = contextvars.ContextVar("no_hyphens", default=False)

    def split_first_line(text, style, *args, **kwargs):
        if not (no_hyphens.get() and style["hyphens"] == "auto"):
            return original_split(text, style, *args, **kwargs)
        style["hyphens"] = "manual"
        try:
            return original_split(text, style, *args, **kwargs)
        finally:
            style["hyphens"] = "auto"

    def iter_line_boxes(*args, **kwargs):
        run = 0
        lines = original_lines(*args, **kwargs)
        while True:
            token = no_hyphens.set(run >= limit)
            try:
                line = next(lines, None)
            finally:
                no_hyphens.reset(token)
            if line is None:
                return
            texts = [box for box in line[0].descendants()
                     if isinstance(box, boxes.TextBox)]
            ends = texts[-1].text.rstrip() if texts else ""
            run = run + 1 if ends.endswith(("\u2010", "-", "\u00ad")) else 0
            yield line

    block.iter_line_boxes, inline.split_first_line = iter_line_boxes, split_first_line
    try:
        yield
    finally:
        block.iter_line_boxes, inline.split_first_line = original_lines, original_split


# -- tags: what WeasyPrint 70's leave out of PDF/UA-1 ----------------------------

@contextlib.contextmanager
def _tagged(document):
    """WeasyPrint's tags (weasyprint/pdf/tags.py), completed as they are
    built where the HTML cannot say it (pubbuild/pdfcheck.py checks them):

    - the page margins (running head, page number) are pagination
      artifacts: WeasyPrint marks their text as Spans it then keeps out of
      the tree, which is neither real content nor an artifact
      (Kozea/WeasyPrint#1836);
    - an element's `lang` is its /Lang (WeasyPrint sets only the catalog's);
    - a TH has a /Scope (WeasyPrint reads `scope` only to link the cells):
      its `scope`, else Column in a thead and Row elsewhere;
    - a formula's image (img.math, pubbuild/mathsvg.py) is a Formula;
    - an image without alt text inside an element with an `aria-label`
      (the ORCID icon in its link) takes the label as its /Alt;
    - a link annotation's /Contents is the link's name (its `aria-label` or
      text), not its target; an image's link annotation belongs to the
      Link element, not to the image's Figure;
    - a footnote (in the page's footnote area) is a Note, with the /ID
      PDF/UA-1 asks of one, read right after its call (where the text
      refers to it) rather than after the page's text;
    - an element the layout left empty is dropped;
    - an element broken across pages (a section, a paragraph, a list) is
      one element, not one per page (tables excepted: their head repeats).

    Patched for the render only, then restored (as _hyphenated_lines_limited);
    if WeasyPrint's internals move, tests/test_a11y_pdf.py fails."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.pdf import stream as streams
    from weasyprint.pdf import tags

    margins = {id(box) for page in document.pages for margin in page._page_box.children
               if isinstance(margin, boxes.MarginBox) for box in margin.descendants()}
    original_tree, original_marked = tags._build_box_tree, streams.Stream.marked
    held = []  # the boxes being tagged, outermost first
    calls = {}  # a footnote's HTML element: its call's structure element
    opened = {}  # (HTML element, role): the last structure element made for it

    def marked(stream, box, tag):
        if id(box) in margins:
            return _pagination(stream)
        return original_marked(stream, box, tag)

    def build_box_tree(box, parent, pdf, *args):
        if isinstance(box, boxes.MarginBox):
            return  # its content is all artifacts (`marked`): nothing to tag
        held.append(box)
        try:
            for element in original_tree(box, parent, pdf, *args):
                if _empty(element):
                    continue
                if not isinstance(box, boxes.PageBox) and box.element is not None \
                        and box.element_tag not in ("html", "body"):
                    _complete(element, box, held, parent, pdf, args[-2])
                    if box.element_tag.endswith("::footnote-call"):
                        calls[id(box.element)] = element
                    elif element["S"] == "/Note" and _after_call(
                            element, calls.pop(id(box.element), None), pdf):
                        continue  # read after its call, not at the page's foot
                    if _continued(element, box, opened, pdf, *args[1:3]):
                        continue  # its content went to its first page's element
                yield element
        finally:
            held.pop()

    tags._build_box_tree, streams.Stream.marked = build_box_tree, marked
    try:
        yield
    finally:
        tags._build_box_tree, streams.Stream.marked = original_tree, original_marked


@contextlib.contextmanager
def _pagination(stream):
    import pydyf

    stream.begin_marked_content("Artifact", pydyf.Dictionary({"Type": "/Pagination"}))
    try:
        yield
    finally:
        stream.end_marked_content()


def _complete(element, box, held, parent, pdf, annotations) -> None:
    """`element`, WeasyPrint's structure element for `box`, completed (_tagged)."""
    import pydyf
    from weasyprint.formatting_structure import boxes

    html = box.element
    if html.get("lang"):
        element["Lang"] = pydyf.String(html.get("lang"))
    if element["S"] == "/TH":
        scope = html.get("scope", "")
        in_head = any(getattr(outer, "element_tag", None) == "thead" for outer in held)
        element["A"]["Scope"] = ("/Row" if scope.startswith("row") else "/Column"
                                 if scope.startswith("col") or in_head else "/Row")
    if element["S"] == "/Figure" and "math" in html.get("class", "").split():
        element["S"] = "/Formula"
    if element["S"] in ("/Figure", "/Formula") and not element.get("Alt"):
        label = _nearest(held, lambda node: node.get("aria-label"))
        if label:
            element["Alt"] = pydyf.String(label)
    if box.link_annotation is not None:
        name = _nearest(held, _link_name)
        if name:
            box.link_annotation["Contents"] = pydyf.String(name)
        if element["S"] != "/Link":
            _move_to_link(element, box.link_annotation, parent, pdf, annotations)
    if len(held) > 1 and isinstance(held[-2], boxes.FootnoteAreaBox):
        element["S"] = "/Note"
        for kid in _kids(element, pdf):
            if kid["S"] == "/LBody":  # an author note, a list item (titleblock.html)
                kid["S"] = "/Div"
        element["ID"] = pydyf.String(f"note-{element.number}")  # PDF/UA-1 7.9


def _empty(element) -> bool:
    """Emptied by the layout: a footnote's call or marker with `content: none`,
    a list whose items all went to the page's foot (the author notes)."""
    return element["S"] in ("/NonStruct", "/Span", "/Div", "/L") and not element["K"]


# Block elements a page break may split; not a table's (its head repeats on
# the next page, and WeasyPrint links its cells to the headers page by page).
_CONTINUED = {"/Art", "/Sect", "/Div", "/P", "/BlockQuote", "/L", "/LI", "/LBody",
              "/Note", "/NonStruct"}


def _continued(element, box, opened, pdf, nums, annotations) -> bool:
    """`element` merged into the element made for the same HTML element on an
    earlier page, if there is one: its kids appended there (its page's
    MCIDs as marked-content references), and the page's ParentTree entries
    and annotations pointed there."""
    import pydyf

    key = (id(box.element), element["S"])
    first = opened.get(key)
    if element["S"] not in _CONTINUED or first is None or first["Pg"] == element["Pg"]:
        opened[key] = element
        return False
    for kid in element["K"]:
        if isinstance(kid, int):
            first["K"].append(pydyf.Dictionary(
                {"Type": "/MCR", "Pg": element["Pg"], "MCID": kid}))
            nums[kid] = first.reference
            continue
        item = pdf.objects[int(kid.split()[0])]
        if "P" in item:
            item["P"] = first.reference
        first["K"].append(kid)
    annotations[:] = [(first.reference if owner == element.reference else owner, held)
                      for owner, held in annotations]
    return True


def _after_call(note, call, pdf) -> bool:
    """`note` moved to follow its footnote `call`, if the call is in the tree.
    The call's holder is found by its /P, not remembered: _continued may
    have moved the call since, to the holder's part on an earlier page."""
    if call is None:
        return False
    holder = pdf.objects[int(call["P"].split()[0])]
    if call.reference not in holder["K"]:
        return False
    holder["K"].insert(holder["K"].index(call.reference) + 1, note.reference)
    note["P"] = holder.reference
    return True


def _nearest(held, name):
    """The first non-empty `name(element)` of the held boxes, innermost first."""
    for box in reversed(held):
        if box.element is not None and (found := name(box.element)):
            return found
    return None


def _link_name(node) -> str | None:
    """A link's accessible name: its aria-label, else its text."""
    if _local(node.tag) != "a":
        return None
    return node.get("aria-label") or " ".join("".join(node.itertext()).split()) or None


def _kids(element, pdf) -> list:
    return [pdf.objects[int(kid.split()[0])] for kid in element["K"]
            if isinstance(kid, bytes)]


def _move_to_link(element, annotation, parent, pdf, annotations) -> None:
    """The OBJR of `annotation` moved from `element` to the Link above it."""
    link = parent
    while link is not None and link.get("S") != "/Link":
        link = pdf.objects[int(link["P"].split()[0])] if "P" in link else None
    if link is None:
        return
    for kid in list(element["K"]):
        if isinstance(kid, bytes):
            item = pdf.objects[int(kid.split()[0])]
            if item.get("Type") == "/OBJR" and item["Obj"] == annotation.reference:
                element["K"].remove(kid)
                link["K"].append(kid)
    annotations[:] = [(link.reference if held is annotation else owner, held)
                      for owner, held in annotations]


def _associate(pdf, relationships: dict[str, str]) -> None:
    """Mark the embedded files as associated files of the document."""
    import pydyf

    associated = pydyf.Array()
    for item in pdf.objects:
        if isinstance(item, dict) and item.get("Type") == "/Filespec":
            name = item["UF"].string
            item["AFRelationship"] = f"/{relationships.get(name, 'Unspecified')}"
            associated.append(item.reference)
    if associated:
        pdf.catalog["AF"] = associated


def warm() -> None:
    """Import WeasyPrint and let fontconfig read the bundled fonts in a
    thread, while the build's main thread runs the filters and waits for
    pandoc (citeproc, the print HTML): about 0.8 s of CPU that a PDF or
    EPUB build would otherwise spend after those, in series. Started after
    the read, not before: the read's own CPU work (the citation index)
    slowed down by as much as it gained. A thread, not a process: what is
    imported here is what `render` uses in this process. An import that
    fails here fails again, with its message, where `render` imports it."""
    import threading

    only_bundled_fonts()

    def load() -> None:
        try:
            import weasyprint  # noqa: F401
            from weasyprint.pdf import stream, tags  # noqa: F401
            from weasyprint.text.fonts import FontConfiguration

            FontConfiguration()
        except Exception:  # noqa: BLE001 - reported by render's own import
            return

    # Not a daemon: a build that fails meanwhile exits after the import,
    # not in the middle of loading a C library.
    threading.Thread(target=load, name="weasyprint-import").start()


def only_bundled_fonts() -> None:
    """Point fontconfig at the bundled fonts. Must happen before fontconfig
    initialises (at WeasyPrint's import), and is best done before any
    thread starts (build.py's main): setting a variable another thread may
    be reading with getenv is not safe in C. Once set, nothing changes."""
    wanted = str(fontconfig_file())
    if os.environ.get("FONTCONFIG_FILE") != wanted:
        os.environ["FONTCONFIG_FILE"] = wanted
    if "FONTCONFIG_PATH" in os.environ:
        del os.environ["FONTCONFIG_PATH"]


@functools.cache
def fontconfig_file() -> Path:
    """A fontconfig configuration that knows only the files in fonts/ and
    keeps its cache in a private temporary folder (removed at exit): the
    machine's fonts and its cache (/var/cache/fontconfig) are neither read
    nor written. fontconfig still lists the descriptions of the templates in
    /usr/share/fontconfig/conf.avail when it starts; it applies none."""
    folder = Path(tempfile.mkdtemp(prefix="pubbuild-fonts-"))
    atexit.register(shutil.rmtree, folder, True)
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig>\n  <dir>{_xml(str(FONTS))}</dir>\n"
        f"  <cachedir>{_xml(str(folder / 'cache'))}</cachedir>\n"
        # Liberation Serif is there for pubbuild.docxlines alone, which names
        # it in @font-face: no text of ours falls back to it.
        "  <selectfont><rejectfont><glob>*/LiberationSerif-*</glob></rejectfont>"
        "</selectfont>\n</fontconfig>\n",
        encoding="utf-8")
    return config


def _xml(text: str) -> str:
    """Text escaped for an XML element (not xml.sax.saxutils: its import
    pulls in urllib and http, a sixth of a no-op build's imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _font_files(stylesheet: Path) -> list[tuple[str, int]]:
    """The font files a stylesheet's @font-face rules name, with their lines."""
    text = stylesheet.read_text(encoding="utf-8")
    return [(match[1], text.count("\n", 0, match.start()) + 1) for match in
            re.finditer(r'url\("?([^")]+\.(?:ttf|otf|woff2?))"?\)', text)]


class _Problems(logging.Handler):
    """WeasyPrint logs a resource it could not load; the build fails on it."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record):
        self.errors.append(" ".join(record.getMessage().split()))


class ProjectFetcher:
    """A WeasyPrint URL fetcher for `data:` URLs and files under `roots`."""

    def __init__(self, roots: list[Path]):
        from weasyprint.urls import FatalURLFetchingError, URLFetcher

        self.roots = [root.resolve() for root in roots]
        self._fatal = FatalURLFetchingError
        self._default = URLFetcher(allowed_protocols={"data", "file"},
                                   allow_redirects=False)

    def __call__(self, url: str, *args, **kwargs):
        return self.fetch(url)

    def fetch(self, url: str, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "data":
            return self._default.fetch(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if any(containment.inside(path, root) for root in self.roots):
                if not path.is_file():
                    raise self._fatal(f"file not found: {path}")
                return self._default.fetch(path.as_uri())
        raise self._fatal(f"refused to load {url}: only files inside the "
                          "project and data: URLs are allowed")
