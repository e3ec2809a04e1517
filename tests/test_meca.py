"""The MECA package (pubbuild/meca.py): what a preprint server or manuscript
system receives from `python build.py submit --meca`. Made in-process from
a few files and a real JATS from pandoc, and judged as a receiver would:
the manifest against the MECA DTD in schemas/meca, every file listed and
present, media types, the article metadata valid JATS."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from lxml import etree

from pubbuild import meca, pandoc

WHEN = datetime.datetime(2024, 3, 1, 12, 30, tzinfo=datetime.UTC)
NS = {"m": meca.NAMESPACE, "xlink": meca.XLINK}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    """A submission's files, the JATS made by pandoc as the build makes it."""
    jats, _ = pandoc.run(["-f", "markdown", "-t", "jats_publishing", "-s"],
                         "---\ntitle: A Small Paper\n---\n\nHello *world*.\n")
    return {
        "article.jats.xml": jats.encode("utf-8"),
        "article.pdf": b"%PDF-1.7\n%%EOF\n",
        "article.docx": _docx(),
        "title-page.pdf": b"%PDF-1.7\n%%EOF\n",
        "MANIFEST.json": b"{}\n",
        "source/article.md": b"---\ntitle: A Small Paper\n---\n\nHello *world*.\n",
        "source/references.bib": b"@book{a, title={A}}\n",
    }


@pytest.fixture(scope="module")
def package(files) -> bytes:
    return meca.bundle(files, "article.jats.xml", WHEN)


def _rezip(package: bytes, change) -> bytes:
    """The package with its entries passed through `change(dict)`."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    change(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _manifest(package: bytes):
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return etree.fromstring(archive.read(meca.MANIFEST))


def test_a_bundle_is_a_sound_meca_package(package):
    # What a receiving system checks first; any error here and the
    # submission would bounce.
    assert meca.validate(package) == []


def test_the_manifest_lists_every_file_with_its_type_and_media_type(files, package):
    root = _manifest(package)
    assert root.tag == f"{{{meca.NAMESPACE}}}manifest"
    items = {item.find("m:instance", NS).get(f"{{{meca.XLINK}}}href"):
             (item.get("item-type"), item.find("m:instance", NS).get("media-type"))
             for item in root.findall("m:item", NS)}
    assert sorted(items) == sorted(files)  # the manifest never lists itself
    assert items["article.jats.xml"] == ("article-metadata", "application/xml")
    assert items["article.pdf"] == ("manuscript", "application/pdf")
    assert items["article.docx"] == ("manuscript", DOCX)
    assert items["title-page.pdf"] == ("manuscript-supporting-file",
                                       "application/pdf")
    assert items["source/article.md"] == ("article-source", "text/markdown")
    # The receiver reads the article metadata first.
    first = root.find("m:item/m:instance", NS)
    assert first.get(f"{{{meca.XLINK}}}href") == "article.jats.xml"


def test_the_package_holds_the_files_unchanged(files, package):
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert sorted(archive.namelist()) == sorted([*files, "manifest.xml"])
        for name, data in files.items():
            assert archive.read(name) == data, name


def test_the_same_files_make_the_same_bytes(files, package):
    # Byte-identical across builds, like submission.zip; the dict's order
    # and the time of day do not matter.
    again = meca.bundle(dict(reversed(list(files.items()))), "article.jats.xml",
                        WHEN)
    assert again == package
    later = meca.bundle(files, "article.jats.xml", WHEN + datetime.timedelta(days=1))
    assert later != package  # the build's date is in the entries, nothing else


def test_a_listed_file_missing_from_the_zip_is_reported(package):
    broken = _rezip(package, lambda entries: entries.pop("title-page.pdf"))
    assert meca.validate(broken) == [
        "in manifest.xml but not in the zip: title-page.pdf"]


def test_a_file_the_manifest_does_not_list_is_reported(package):
    def add(entries):
        entries["notes.txt"] = b"stray"
    assert meca.validate(_rezip(package, add)) == [
        "in the zip but not in manifest.xml: notes.txt"]


def test_a_wrong_media_type_is_reported(package):
    def relabel(entries):
        entries["manifest.xml"] = entries["manifest.xml"].replace(
            b'media-type="application/pdf" xlink:href="article.pdf"',
            b'media-type="image/png" xlink:href="article.pdf"')
    errors = meca.validate(_rezip(package, relabel))
    assert "article.pdf: media-type 'image/png', but the file is application/pdf" \
        in errors
    assert "article.pdf: not a image/png file" in errors


def test_a_file_that_is_not_what_its_name_says_is_reported(package):
    def corrupt(entries):
        entries["article.pdf"] = b"<html>not a PDF</html>"
    assert meca.validate(_rezip(package, corrupt)) == [
        "article.pdf: not a application/pdf file"]


def test_a_manifest_the_dtd_refuses_is_reported(package):
    def rename(entries):
        entries["manifest.xml"] = entries["manifest.xml"].replace(
            b"<file-order>", b"<order>").replace(b"</file-order>", b"</order>")
    errors = meca.validate(_rezip(package, rename))
    assert errors and all(e.startswith("manifest.xml line ") for e in errors)
    assert any("order" in e for e in errors)


def test_a_manifest_in_another_namespace_is_refused(package):
    def move(entries):
        entries["manifest.xml"] = entries["manifest.xml"].replace(
            meca.NAMESPACE.encode(), b"https://example.org/manifest")
    errors = meca.validate(_rezip(package, move))
    assert any("namespace" in e for e in errors)
    assert "0 article-metadata items (a package has one)" in errors


def test_article_metadata_that_is_not_valid_jats_is_reported(package):
    def spoil(entries):
        entries["article.jats.xml"] = entries["article.jats.xml"].replace(
            b"<body>", b"<body><bogus/>")
    errors = meca.validate(_rezip(package, spoil))
    assert errors and all(e.startswith(
        "article.jats.xml (article metadata) is not valid JATS: line ")
        for e in errors)
    assert any("bogus" in e for e in errors)


def test_a_package_without_a_manifest_or_not_a_zip_is_refused(package):
    assert meca.validate(b"PK but not really") == ["not a zip archive"]
    bare = _rezip(package, lambda entries: entries.pop("manifest.xml"))
    assert meca.validate(bare) == ["no manifest.xml at the root of the package"]


def test_bundle_needs_the_jats_and_keeps_manifest_xml_for_itself(files):
    with pytest.raises(ValueError, match="JATS"):
        meca.bundle(files, "paper.jats.xml", WHEN)
    with pytest.raises(ValueError, match="manifest.xml"):
        meca.bundle({**files, "manifest.xml": b""}, "article.jats.xml", WHEN)
