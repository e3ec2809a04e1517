"""The up-to-date check (pubbuild/cache.py, pubbuild/outputs.py), in-process:
which pipeline file can change which output, what an output's key covers,
when a recorded output counts as stale, and how a previous build's sources
are found again."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from conftest import GOOD_BIB, ROOT
from pubbuild import cache, manifest
from pubbuild.outputs import FORMATS, output_name

ALL = set(FORMATS)


# -- depends: which pipeline file can change which output ------------------------

@pytest.mark.parametrize(("name", "formats"), [
    # The print pipeline lays out the PDF's pages, which the EPUB's page
    # list marks.
    ("styles/print.css", {"pdf", "epub"}),
    ("templates/print.html", {"pdf", "epub"}),
    ("fonts/CharisSIL-Regular.ttf", {"pdf", "epub"}),
    ("pubbuild/pdf.py", {"pdf", "epub"}),
    ("pubbuild/mathsvg.py", {"pdf", "epub"}),
    ("pubbuild/pagelist.py", {"epub"}),
    ("styles/screen.css", {"html"}),
    ("templates/article.html", {"html"}),
    ("styles/epub.css", {"epub"}),
    ("templates/epub.xhtml", {"epub"}),
    ("styles/base.css", {"html", "epub"}),
    ("templates/meta.html", {"pdf", "html", "epub"}),
    # Shared by every output.
    ("requirements.txt", ALL),
    ("templates/titleblock.html", ALL),
    ("filters/citations.py", ALL),
    ("pubbuild/formats.py", ALL),
    # A module nobody has claimed yet cannot fall outside the key.
    ("pubbuild/anything_new.py", ALL),
    ("filters/anything_new.py", ALL),
    # The command line and the commands make no byte of an output.
    ("build.py", set()),
    ("pubbuild/commands/x.py", set()),
    ("pubbuild/commands/build.py", set()),
    ("pubbuild/batch.py", set()),
    # Not part of any build's output (the diff's own stylesheet, the docs).
    ("styles/diff.css", set()),
    ("README.md", set()),
])
def test_a_pipeline_file_changes_exactly_the_outputs_that_use_it(name, formats):
    assert {fmt for fmt in FORMATS if cache.depends(fmt, name)} == formats


def test_every_file_a_format_names_as_its_own_exists():
    """A renamed template or stylesheet would silently drop out of every key
    (its edits would then never rebuild anything)."""
    for fmt in FORMATS.values():
        for pattern in fmt.depends:
            assert list(ROOT.glob(pattern)), f"{fmt.name}: {pattern} matches nothing"


# -- key: what an output's key covers ---------------------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A small paper's folder: manuscript, bibliography, an image."""
    root = tmp_path_factory.mktemp("project")
    (root / "manuscript").mkdir()
    (root / "bib").mkdir()
    (root / "manuscript" / "article.md").write_text(
        "---\ntitle: T\nbibliography: ../bib/references.bib\n---\n\n"
        "Text ([Vu, 2021](#)).\n", encoding="utf-8")
    (root / "bib" / "references.bib").write_text(GOOD_BIB, encoding="utf-8")
    (root / "manuscript" / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n fake")
    return root


def make_manifest(project: Path) -> manifest.Manifest:
    return manifest.Manifest(
        project / "manuscript" / "article.md",
        [project / "bib" / "references.bib", project / "manuscript" / "figure.png"],
        {"commit": None, "date": "2024-01-02T03:04:05Z"}, "3.6")


@pytest.fixture(scope="module")
def real_inputs(project) -> dict:
    return make_manifest(project).inputs()


@pytest.fixture
def inputs(real_inputs) -> dict:
    return copy.deepcopy(real_inputs)


def keys(inputs: dict, options: dict | None = None) -> dict[str, str]:
    return {fmt: cache.key(fmt, inputs, options or {"csl": None}) for fmt in FORMATS}


def edited(entry: dict) -> dict:
    """A pipeline or source entry whose file now has other bytes."""
    return {**entry, "sha256": hashlib.sha256(entry["sha256"].encode()).hexdigest()}


def changed_formats(before: dict, after: dict) -> set[str]:
    return {fmt for fmt in FORMATS if before[fmt] != after[fmt]}


def test_each_format_has_its_own_stable_key(inputs):
    first = keys(inputs)
    assert len(set(first.values())) == len(FORMATS)
    assert keys(copy.deepcopy(inputs)) == first


def test_editing_a_source_changes_every_key(inputs):
    before = keys(inputs)
    inputs["sources"]["bib/references.bib"] = edited(
        inputs["sources"]["bib/references.bib"])
    assert changed_formats(before, keys(inputs)) == ALL


def test_a_new_source_changes_every_key(inputs):
    before = keys(inputs)
    inputs["sources"]["manuscript/second.png"] = {"sha256": "0" * 64, "size": 1}
    assert changed_formats(before, keys(inputs)) == ALL


def test_a_tool_version_changes_every_key(inputs):
    before = keys(inputs)
    inputs["tools"]["pandoc"] = inputs["tools"]["pandoc"] + ".1"
    assert changed_formats(before, keys(inputs)) == ALL


def test_the_build_date_changes_every_key(inputs):
    before = keys(inputs)
    inputs["source"]["date"] = "2025-01-02T03:04:05Z"
    assert changed_formats(before, keys(inputs)) == ALL


def test_an_option_changes_every_key(inputs):
    assert changed_formats(keys(inputs, {"csl": None}),
                           keys(inputs, {"csl": "chicago"})) == ALL


@pytest.mark.parametrize(("name", "formats"), [
    ("styles/print.css", {"pdf", "epub"}),
    ("styles/screen.css", {"html"}),
    ("styles/epub.css", {"epub"}),
    ("pubbuild/pdf.py", {"pdf", "epub"}),
    ("filters/citations.py", ALL),
    ("styles/diff.css", set()),
])
def test_editing_a_pipeline_file_changes_only_the_keys_that_use_it(
        inputs, name, formats):
    assert name in inputs["pipeline"], "the real pipeline has this file"
    before = keys(inputs)
    inputs["pipeline"][name] = edited(inputs["pipeline"][name])
    assert changed_formats(before, keys(inputs)) == formats


def test_a_new_module_changes_every_key_and_a_new_command_none(inputs):
    before = keys(inputs)
    with_command = copy.deepcopy(inputs)
    with_command["pipeline"]["pubbuild/commands/x.py"] = {"sha256": "1" * 64,
                                                          "size": 1}
    with_command["pipeline"]["build.py"] = {"sha256": "2" * 64, "size": 1}
    assert changed_formats(before, keys(with_command)) == set()
    inputs["pipeline"]["pubbuild/anything_new.py"] = {"sha256": "3" * 64, "size": 1}
    assert changed_formats(before, keys(inputs)) == ALL


# -- stale: which recorded outputs must be built again ---------------------------

NAME = "article"


def record(out: Path, outputs: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    """Write outputs (format -> (bytes, key)) and the MANIFEST.json a build
    leaves; return format -> key."""
    out.mkdir(parents=True, exist_ok=True)
    listing = {}
    for fmt, (data, key) in outputs.items():
        label = output_name(NAME, fmt)
        (out / label).write_bytes(data)
        listing[label] = {"sha256": hashlib.sha256(data).hexdigest(),
                          "size": len(data), "key": key}
    (out / "MANIFEST.json").write_text(json.dumps({"outputs": listing}),
                                       encoding="utf-8")
    return {fmt: key for fmt, (_, key) in outputs.items()}


@pytest.fixture
def built(tmp_path) -> tuple[Path, dict[str, str]]:
    out = tmp_path / "dist"
    return out, record(out, {fmt: (f"the {fmt} output".encode(), f"key-{fmt}")
                             for fmt in FORMATS})


def test_nothing_is_stale_when_keys_and_bytes_match(built):
    out, recorded_keys = built
    assert cache.stale(list(FORMATS), NAME, out, recorded_keys) == []


def test_everything_is_stale_without_a_previous_build(tmp_path):
    assert cache.stale(["pdf", "html"], NAME, tmp_path, {"pdf": "k", "html": "k"}) == [
        "pdf", "html"]


def test_a_missing_output_is_stale(built):
    out, recorded_keys = built
    (out / output_name(NAME, "html")).unlink()
    assert cache.stale(list(FORMATS), NAME, out, recorded_keys) == ["html"]


def test_an_output_whose_bytes_changed_is_stale(built):
    out, recorded_keys = built
    path = out / output_name(NAME, "epub")
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
    assert cache.stale(list(FORMATS), NAME, out, recorded_keys) == ["epub"]


def test_an_output_whose_key_changed_is_stale(built):
    out, recorded_keys = built
    assert cache.stale(list(FORMATS), NAME, out,
                       {**recorded_keys, "pdf": "another key"}) == ["pdf"]


def test_only_the_wanted_formats_are_checked(built):
    out, recorded_keys = built
    (out / output_name(NAME, "pdf")).unlink()
    assert cache.stale(["html"], NAME, out, recorded_keys) == []


def test_an_unreadable_manifest_makes_everything_stale(built):
    out, recorded_keys = built
    (out / "MANIFEST.json").write_text("{not json", encoding="utf-8")
    assert cache.stale(list(FORMATS), NAME, out, recorded_keys) == list(FORMATS)


def test_a_manifest_written_by_a_build_reads_back_as_up_to_date(project, tmp_path):
    """What manifest.py writes is what cache.py reads."""
    inventory = make_manifest(project)
    out = tmp_path / "dist"
    out.mkdir()
    current = keys(inventory.inputs())
    inventory.outputs = {output_name(NAME, fmt): f"{fmt} bytes".encode()
                         for fmt in FORMATS}
    for label, data in inventory.outputs.items():
        (out / label).write_bytes(data)
    labels = {output_name(NAME, fmt): current[fmt] for fmt in FORMATS}
    (out / "MANIFEST.json").write_bytes(manifest.to_json(inventory.complete(labels)))
    assert cache.stale(list(FORMATS), NAME, out, current) == []
    assert cache.stale(list(FORMATS), NAME, out, keys(inventory.inputs(),
                                                      {"csl": "x"})) == list(FORMATS)


# -- source_paths: a previous build's sources, found again -------------------------

def test_sources_are_found_again_from_the_manuscript(project, real_inputs):
    inventory = make_manifest(project)
    found = cache.source_paths(project / "manuscript" / "article.md", real_inputs)
    assert sorted(found) == sorted(inventory.source_files().values())


def test_sources_are_found_in_a_moved_copy_of_the_project(tmp_path, real_inputs):
    """Names are relative: a checkout elsewhere finds its own files."""
    manuscript = tmp_path / "elsewhere" / "manuscript" / "article.md"
    found = cache.source_paths(manuscript, real_inputs)
    base = tmp_path / "elsewhere"
    assert sorted(found) == sorted(base / name for name in real_inputs["sources"])


def test_a_packaged_style_is_not_looked_for_beside_the_paper(tmp_path):
    previous = {"manuscript": "paper.md",
                "sources": {"paper.md": {}, "refs.bib": {},
                            "external/apa.csl": {}}}
    found = cache.source_paths(tmp_path / "paper.md", previous)
    assert found == [tmp_path / "paper.md", tmp_path / "refs.bib"]


def test_another_manuscript_or_no_record_gives_no_sources(tmp_path, real_inputs):
    # The record names manuscript/article.md; this is not it.
    assert cache.source_paths(tmp_path / "manuscript" / "other.md", real_inputs) is None
    assert cache.source_paths(tmp_path / "text" / "article.md", real_inputs) is None
    assert cache.source_paths(tmp_path / "article.md", {"sources": {}}) is None
