"""MECA packages (NISO RP-30, Manuscript Exchange Common Approach): the zip
that preprint servers and manuscript systems hand each other.

A MECA package is a zip holding the files of a submission and, at its
root, `manifest.xml`: one `<item>` per file, with its item type (the JATS
is the `article-metadata`, the PDF and DOCX the `manuscript`, ...) and an
`<instance>` giving the file's path and media type. `bundle` makes one,
byte for byte the same whenever the files are the same; `validate` checks
one offline as a receiving system would: the manifest against the MECA
manifest DTD in schemas/meca, every listed file present and of its stated
media type, no file left unlisted, and the article metadata valid JATS.

This module must not know about the command line or how the files were made.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.sax.saxutils import quoteattr

from pubbuild.paths import SCHEMAS

MANIFEST = "manifest.xml"
NAMESPACE = "https://manuscriptexchange.org/schema/manifest"
XLINK = "http://www.w3.org/1999/xlink"
DTDS = SCHEMAS / "meca"
DOCTYPE = ('<!DOCTYPE manifest PUBLIC "-//MECA//DTD Manifest v1.0//en" '
           '"https://meca.zip/manifest-1.0.dtd">')

# The item types of NISO RP-30 (as the npm `meca` package also lists them).
ITEM_TYPES = ("article-metadata", "article-supporting-file", "manuscript",
              "manuscript-supporting-file", "article-source",
              "article-source-environment", "article-source-directory",
              "transfer-metadata")

# By extension, from the IANA registry; a fixed table, not `mimetypes`,
# whose answers depend on the machine's /etc/mime.types.
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".epub": "application/epub+zip",
    ".xml": "application/xml",
    ".csl": "application/vnd.citationstyles.style+xml",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".zip": "application/zip",
    ".md": "text/markdown",
    ".bib": "application/x-bibtex",
    ".tex": "application/x-tex",
    ".txt": "text/plain",
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
OCTETS = "application/octet-stream"
ZIPPED = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "application/vnd.oasis.opendocument.text", "application/epub+zip",
          "application/zip"}
XML = {"application/xml", "application/vnd.citationstyles.style+xml",
       "image/svg+xml"}
SIGNATURES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n",
              "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF8"}


def media_type(name: str) -> str:
    """The media type of a file, by its extension."""
    return MEDIA_TYPES.get(posixpath.splitext(name.lower())[1], OCTETS)


def item_type(name: str, jats_name: str) -> str:
    """What a file of the submission is to a MECA receiver: the JATS is the
    article metadata; the sources (`source/...`) the article source; the PDF
    and DOCX named like the JATS the manuscript; anything else supports it."""
    if name == jats_name:
        return "article-metadata"
    if name.startswith("source/"):
        return "article-source"
    stem = jats_name.split(".", 1)[0]
    if posixpath.splitext(name)[0] == stem:
        return "manuscript"
    return "manuscript-supporting-file"


def manifest_xml(files: dict[str, bytes], jats_name: str) -> bytes:
    """`manifest.xml` for these files: the article metadata first, then the
    manuscript, then the rest, each group in name order."""
    rank = {kind: n for n, kind in enumerate(
        ("article-metadata", "manuscript", "manuscript-supporting-file",
         "article-source"))}
    names = sorted(files, key=lambda name: (rank[item_type(name, jats_name)], name))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', DOCTYPE,
             f'<manifest xmlns="{NAMESPACE}" xmlns:xlink="{XLINK}" '
             'manifest-version="1">']
    for number, name in enumerate(names, 1):
        lines += [f'  <item id="item-{number}" '
                  f'item-type="{item_type(name, jats_name)}">',
                  f"    <file-order>{number}</file-order>",
                  f'    <instance media-type="{media_type(name)}" '
                  f"xlink:href={quoteattr(name)}/>",
                  "  </item>"]
    lines.append("</manifest>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def bundle(files: dict[str, bytes], jats_name: str, when) -> bytes:
    """The MECA zip (`.meca`) of the submission's files with their
    manifest; `files` maps a path in the zip to its bytes and must hold the
    JATS under `jats_name`; `when` dates every entry (pubbuild.clock)."""
    from pubbuild.submission import zip_files

    if jats_name not in files:
        raise ValueError(f"the JATS {jats_name!r} is not among the files")
    if MANIFEST in files:
        raise ValueError(f"{MANIFEST} is the package's own; a file may not take it")
    return zip_files({**files, MANIFEST: manifest_xml(files, jats_name)}, when)


# -- checking a package, as a receiver would ---------------------------------

def validate(data: bytes) -> list[str]:
    """What a receiving system would refuse in this MECA package, offline;
    empty when it is sound."""
    from lxml import etree

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["not a zip archive"]
    with archive:
        entries = {info.filename: info for info in archive.infolist()
                   if not info.is_dir()}
        if MANIFEST not in entries:
            return [f"no {MANIFEST} at the root of the package"]
        errors = [f"unsafe path in the zip: {name}" for name in entries
                  if name.startswith("/") or ".." in name.split("/")]
        try:
            root = etree.fromstring(archive.read(MANIFEST), _parser())
        except etree.XMLSyntaxError as exc:
            return [f"{MANIFEST} is not well-formed XML: {exc}"]
        dtd = etree.DTD(str(DTDS / "manifest-1.0.dtd"))
        if not dtd.validate(root):
            errors += [f"{MANIFEST} line {e.line}: {e.message}" for e in dtd.error_log]
        items = _items(root)
        errors += _check_items(items, entries)
        listed = {href for _, href, _ in items}
        errors += [f"in the zip but not in {MANIFEST}: {name}"
                   for name in sorted(entries) if name not in listed | {MANIFEST}]
        for kind, href, declared in items:
            if href in entries:
                errors += _check_content(kind, href, declared, archive.read(href))
    return errors


def _parser():
    from lxml import etree

    return etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)


def _items(root) -> list[tuple[str, str, str]]:
    """(item type, path, media type) of every instance in the manifest."""
    found = []
    for item in root.iter(f"{{{NAMESPACE}}}item"):
        for instance in item.iter(f"{{{NAMESPACE}}}instance"):
            found.append((item.get("item-type", ""),
                          instance.get(f"{{{XLINK}}}href", ""),
                          instance.get("media-type", "")))
    return found


def _check_items(items: list, entries: dict) -> list[str]:
    errors = []
    hrefs = [href for _, href, _ in items]
    errors += [f"listed twice in {MANIFEST}: {href}"
               for href in sorted({h for h in hrefs if hrefs.count(h) > 1})]
    metadata = [href for kind, href, _ in items if kind == "article-metadata"]
    if len(metadata) != 1:
        errors.append(f"{len(metadata)} article-metadata items (a package has one)")
    for kind, href, declared in items:
        if kind not in ITEM_TYPES:
            errors.append(f"{href}: unknown item-type {kind!r}")
        if href not in entries:
            errors.append(f"in {MANIFEST} but not in the zip: {href}")
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", declared):
            errors.append(f"{href}: media-type {declared!r} is not a media type")
        elif media_type(href) not in (OCTETS, declared):
            errors.append(f"{href}: media-type {declared!r}, but the file is "
                          f"{media_type(href)}")
    return errors


def _check_content(kind: str, href: str, declared: str, content: bytes) -> list[str]:
    """Whether the bytes are what the manifest says they are."""
    from lxml import etree

    from pubbuild import submission

    signature = SIGNATURES.get(declared)
    if signature and not content.startswith(signature):
        return [f"{href}: not a {declared} file"]
    if declared in ZIPPED and not zipfile.is_zipfile(io.BytesIO(content)):
        return [f"{href}: not a {declared} file (not a zip)"]
    if kind == "article-metadata":
        try:
            errors = submission.validate_jats(content)
        except etree.XMLSyntaxError as exc:
            errors = [f"not well-formed XML: {exc}"]
        return [f"{href} (article metadata) is not valid JATS: {e}" for e in errors]
    if declared in XML or kind == "transfer-metadata":
        try:
            root = etree.fromstring(content, _parser())
        except etree.XMLSyntaxError as exc:
            return [f"{href}: not well-formed XML: {exc}"]
        if kind == "transfer-metadata":
            dtd = etree.DTD(str(DTDS / "transfer-1.0.dtd"))
            if not dtd.validate(root):
                return [f"{href} line {e.line}: {e.message}" for e in dtd.error_log]
    return []
