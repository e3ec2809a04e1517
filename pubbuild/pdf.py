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
from xml.sax.saxutils import escape

from pubbuild import clock, containment, limits
from pubbuild.diagnostics import BuildError
from pubbuild.paths import FONTS, ROOT, STYLES

PRINT_CSS = STYLES / "print.css"


def render(html: str, *, manuscript: Path, when: datetime.datetime,
           attachments: list[tuple[str, bytes, str]] = (),
           stylesheet: Path = PRINT_CSS, extra: tuple[Path, ...] = ()) -> bytes:
    """The PDF of `html`; images resolve against the manuscript's folder.

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
        document = weasyprint.HTML(string=html, base_url=f"{manuscript.parent}/",
                                   url_fetcher=fetcher)
        files = [weasyprint.Attachment(file_obj=io.BytesIO(data), name=name,
                                       created=when, modified=when,
                                       relationship=relationship)
                 for name, data, relationship in attachments]
        relationships = {name: relationship for name, _, relationship in attachments}
        out = io.BytesIO()
        with _limited(), _dated(when):
            document.write_pdf(out, stylesheets=sheets, font_config=fonts,
                               pdf_tags=True, pdf_variant="pdf/ua-1",
                               pdf_identifier=True, attachments=files,
                               finisher=lambda _doc, pdf: _associate(pdf,
                                                                     relationships))
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
        f"<fontconfig>\n  <dir>{escape(str(FONTS))}</dir>\n"
        f"  <cachedir>{escape(str(folder / 'cache'))}</cachedir>\n</fontconfig>\n",
        encoding="utf-8")
    return config


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
