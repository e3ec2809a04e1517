"""Give every image its alt text and check that it is a local file.

Quarto and many manuscripts write a figure's alt text as `fig-alt="..."`;
pandoc reads it from `alt="..."` and otherwise repeats the caption. This
filter moves `fig-alt` to `alt`, so every format gets the description the
author wrote. It also checks each image once for all formats: it must be a
file in the manuscript's folder (or below it), or a `data:` URL, in a format
every output can show, that decodes; an SVG may load nothing from outside
that folder. A missing, unreadable, remote, damaged or unsupported image
stops the build with `file:line`, instead of a blank in one format and a
fetch in another.

Metadata options: none.

Formats: all; independent of citeproc.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/figures.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import containment, context
from pubbuild.diagnostics import BuildError, Reporter

IMAGE_TYPES = containment.IMAGE_TYPES
DATA_TYPES = {kind: suffix for suffix, kind in IMAGE_TYPES.items() if suffix != ".jpeg"}


def prepare(doc: pf.Doc) -> None:
    context.of(doc)
    doc.context.image_files = []  # the manifest lists them among the sources


def action(elem, doc):
    if not isinstance(elem, pf.Image):
        return None
    if "fig-alt" in elem.attributes:
        elem.attributes["alt"] = elem.attributes.pop("fig-alt")
    path = image_path(elem.url, doc.context.folder, doc.context.reporter)
    if path is not None and path not in doc.context.image_files:
        doc.context.image_files.append(path)
    return None


def image_path(url: str, folder: Path, reporter: Reporter) -> Path | None:
    """The local file an image URL names (None for a data: URL), or an error."""
    line = reporter.locate(url[:60])
    parts = urlsplit(url)
    if parts.scheme == "data":  # checked as a file would be
        shown = url if len(url) <= 40 else url[:40] + "…"
        problem = _data_problem(url, folder)
        if problem:
            raise BuildError(f"image {shown}: {problem}", reporter.file, line)
        return None
    if parts.scheme not in ("", "file"):
        raise BuildError(f"image {url}: only local files can be used (the build "
                         "never fetches from the network)", reporter.file, line)
    path = containment.local_path(url, folder)
    if path is None:
        raise BuildError(f"image {url}: not a file name in the manuscript's folder "
                         "(the build never fetches from the network)",
                         reporter.file, line)
    if not containment.inside(path, folder):
        raise BuildError(f"image {url}: outside the manuscript's folder",
                         reporter.file, line)
    if not path.is_file():
        raise BuildError(f"image not found: {url}", reporter.file, line)
    if path.suffix.lower() not in IMAGE_TYPES:
        raise BuildError(f"image {url}: unsupported type {path.suffix!r} (use "
                         f"{', '.join(sorted(IMAGE_TYPES))})", reporter.file, line)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BuildError(f"image {url}: cannot read: {exc.strerror or exc}",
                         reporter.file, line) from None
    problem = _damaged(data, path.suffix.lower(), path.parent, folder)
    if problem:
        raise BuildError(f"image {url}: {problem}", reporter.file, line)
    return path


def _reaches_outside(tree, base: Path, folder: Path) -> str | None:
    """Why an SVG may not be used, or None: it loads a file outside the
    manuscript's folder, or anything over the network (an `href` on an
    `<image>`, `<use>`, `<feImage>`…, a CSS `url()` or `@import`). A link
    (`<a href>`) and a reference within the file (`#id`) are fine."""
    from lxml import etree

    references = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        if etree.QName(element).localname != "a":
            references += [value for name, value in element.attrib.items()
                           if etree.QName(name).localname == "href"]
        styles = [element.get("style") or ""]
        if etree.QName(element).localname == "style":
            styles.append(element.text or "")
        for style in styles:
            references += re.findall(r"""url\(\s*['"]?([^'")\s]+)""", style)
            references += re.findall(r"""@import\s+['"]([^'"]+)""", style)
    for reference in references:
        if reference.strip().startswith("#"):
            continue
        if not containment.allowed(reference, folder, base=base):
            return f"refers to {reference[:200]!r}, outside the manuscript's folder"
    return None


def _data_problem(url: str, folder: Path) -> str | None:
    """Why a data: URL image cannot be used, or None: its type, its
    encoding, or what `_damaged` finds in its bytes."""
    import base64
    import binascii
    from urllib.parse import unquote_to_bytes

    header, _, payload = url[len("data:"):].partition(",")
    kind = header.split(";")[0].strip().lower()
    suffix = DATA_TYPES.get(kind)
    if suffix is None:
        return (f"unsupported type {kind or 'text/plain'!r} (use "
                f"{', '.join(sorted(DATA_TYPES))})")
    try:
        data = (base64.b64decode(payload, validate=True)
                if header.lower().endswith(";base64") else unquote_to_bytes(payload))
    except (binascii.Error, ValueError):
        return "damaged or truncated (not valid base64)"
    return _damaged(data, suffix, folder, folder)


def _damaged(data: bytes, suffix: str, base: Path, folder: Path) -> str | None:
    """Why an image cannot be shown, or None: a truncated or broken file
    would otherwise print as a blank in one format and not another, and an
    SVG that loads from outside would reach past the manuscript's folder.
    `base` is where the SVG's relative references start."""
    if suffix == ".svg":
        from lxml import etree

        try:
            tree = etree.fromstring(data, etree.XMLParser(
                no_network=True, resolve_entities=False)).getroottree()
        except etree.XMLSyntaxError as exc:
            return f"not a well-formed SVG ({exc.msg})"
        return _reaches_outside(tree, base, folder)
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes every pixel: a truncated file fails here
    except UnidentifiedImageError:
        return "damaged or truncated (not a readable image)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"damaged or truncated ({exc})"
    return None


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, doc=doc)


if __name__ == "__main__":
    main()
