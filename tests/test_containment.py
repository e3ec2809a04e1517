"""What a manuscript may load (pubbuild/containment.py), in-process: data:
URLs and files inside its folder, however a path outside is spelled; never
the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubbuild import containment

PNG = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture
def folder(tmp_path) -> Path:
    """The manuscript's folder, with an image, a subfolder and a secret
    file beside it (outside)."""
    paper = tmp_path / "paper"
    (paper / "img").mkdir(parents=True)
    (paper / "img" / "a.png").write_bytes(b"png")
    (paper / "b.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    return paper


@pytest.mark.parametrize("url", [
    PNG, f"  {PNG}  ", "DATA:text/plain,hello", "data:,",
])
def test_data_urls_are_allowed(folder, url):
    assert containment.allowed(url, folder)
    assert containment.local_path(url, folder) is None  # nothing to read


@pytest.mark.parametrize("url", [
    "b.png", "img/a.png", "./img/a.png", "img/../b.png", "img%2Fa.png",
    "missing.png",  # inside: whether it exists is the caller's question
    "b.png#fragment", "b.png?query",
])
def test_relative_paths_inside_the_folder_are_allowed(folder, url):
    assert containment.allowed(url, folder)


@pytest.mark.parametrize("url", [
    "../secret.txt", "img/../../secret.txt", "%2e%2e/secret.txt",
    "%2E%2E%2Fsecret.txt", "..%2fsecret.txt", "img/%2e%2e/%2e%2e/secret.txt",
    "/etc/passwd", "file:///etc/passwd", "file:../secret.txt",
])
def test_paths_outside_the_folder_are_refused_however_spelled(folder, url):
    assert not containment.allowed(url, folder)


@pytest.mark.parametrize("url", [
    "http://example.org/a.png", "https://example.org/a.png", "HTTPS://EXAMPLE.ORG/a",
    "//example.org/a.png", "ftp://example.org/a.png", "file://host/x",
    "file://localhost/etc/passwd", "javascript:alert(1)", "mailto:a@example.org",
])
def test_network_and_other_schemes_are_refused(folder, url):
    assert not containment.allowed(url, folder)
    assert containment.local_path(url, folder) is None


def test_an_absolute_path_inside_the_folder_is_allowed(folder):
    assert containment.allowed(str(folder / "img" / "a.png"), folder)
    assert containment.allowed((folder / "b.png").as_uri(), folder)


def test_a_sibling_folder_sharing_the_name_prefix_is_outside(folder):
    evil = folder.parent / (folder.name + "-evil")
    evil.mkdir()
    (evil / "a.png").write_bytes(b"png")
    assert not containment.allowed(f"../{evil.name}/a.png", folder)
    assert not containment.allowed(str(evil / "a.png"), folder)


def test_a_symbolic_link_pointing_outside_is_refused(folder):
    (folder / "link.txt").symlink_to(folder.parent / "secret.txt")
    (folder / "linked").symlink_to(folder.parent)
    assert not containment.allowed("link.txt", folder)
    assert not containment.allowed("linked/secret.txt", folder)


def test_a_symbolic_link_staying_inside_is_allowed(folder):
    (folder / "alias.png").symlink_to(folder / "img" / "a.png")
    assert containment.allowed("alias.png", folder)
    assert containment.local_path("alias.png", folder) == (
        folder / "img" / "a.png").resolve()


def test_a_folder_reached_through_a_link_is_still_itself(tmp_path, folder):
    """The folder is resolved too: a manuscript opened through a linked
    path may still load its own images."""
    alias = tmp_path / "alias"
    alias.symlink_to(folder)
    assert containment.allowed("img/a.png", alias)
    assert not containment.allowed("../secret.txt", alias)


def test_file_urls_only_when_allowed(folder):
    url = (folder / "b.png").as_uri()
    assert containment.allowed(url, folder, file_urls=True)
    assert not containment.allowed(url, folder, file_urls=False)
    assert not containment.allowed("file:b.png", folder, file_urls=False)
    # Plain relative paths and data: URLs are not file: URLs.
    assert containment.allowed("b.png", folder, file_urls=False)
    assert containment.allowed(PNG, folder, file_urls=False)


def test_relative_urls_start_at_the_base_but_must_stay_in_the_folder(folder):
    """An SVG in img/ refers to its neighbours from img/, and may reach up
    to the manuscript's folder but not beyond it."""
    base = folder / "img"
    assert containment.allowed("a.png", folder, base=base)
    assert containment.allowed("../b.png", folder, base=base)
    assert containment.local_path("a.png", base) == (base / "a.png").resolve()
    assert not containment.allowed("../../secret.txt", folder, base=base)


def test_a_base_outside_the_folder_does_not_widen_it(folder):
    outside = folder.parent
    assert not containment.allowed("secret.txt", folder, base=outside)
    assert containment.allowed("paper/b.png", folder, base=outside)


def test_inside_is_the_folder_or_below(folder):
    assert containment.inside(folder, folder)
    assert containment.inside(folder / "img" / "a.png", folder)
    assert containment.inside(folder / "img" / ".." / "b.png", folder)
    assert not containment.inside(folder.parent, folder)
    assert not containment.inside(folder / ".." / "secret.txt", folder)


@pytest.mark.parametrize("url", ["a%00b.png", "img/a.png%00.txt"])
def test_a_nul_byte_is_refused_not_a_crash(folder, url):
    assert not containment.allowed(url, folder)
