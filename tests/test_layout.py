"""The project's shape, as its documents and module docstrings promise it:
the filter order written in the README and the pipeline guide is the
registry's, every filter is in the registry, and every "must not know
about" sentence in a module docstring holds for its imports."""

from __future__ import annotations

import ast
import fnmatch
import re

import pytest

import filters
from conftest import ROOT


def _written_order(text: str) -> list[str]:
    """The filter order a document writes as `a → b → …`."""
    match = re.search(r"(\w+(?:\s*→\s*\w+)+)", text)
    assert match, "no `a → b → …` filter order in the text"
    return re.split(r"\s*→\s*", match[1])


@pytest.mark.parametrize("document", ["README.md", "docs/pipeline.md"])
def test_the_documents_list_the_filters_in_the_registrys_order(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    assert _written_order(text) == list(filters.NAMES)


def test_every_filter_module_is_registered_once():
    modules = sorted(path.stem for path in (ROOT / "filters").glob("*.py")
                     if path.stem != "__init__")
    assert sorted(filters.MODULES) == modules
    assert len(set(filters.NAMES)) == len(filters.NAMES)
    assert filters.NAMES.count(filters.CITEPROC) == 1


def test_every_filter_has_the_panflute_shape():
    for name in filters.MODULES:
        source = (ROOT / "filters" / f"{name}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        functions = {node.name for node in tree.body
                     if isinstance(node, ast.FunctionDef)}
        assert "main" in functions, f"filters/{name}.py has no main(doc=None)"
        assert source.rstrip().endswith('if __name__ == "__main__":\n    main()'), (
            f"filters/{name}.py does not run as `pandoc --filter`")


# What each module's docstring says it must not know about, as the imports
# that would break the promise. A module is checked against every import
# it makes, at any depth of the file (lazy imports count).
CONTRACTS = {
    "pubbuild/cache.py": ("panflute", "weasyprint", "pubbuild.pandoc",
                          "pubbuild.formats", "pubbuild.pdf"),
    "pubbuild/outputs.py": ("panflute", "weasyprint", "pubbuild.pandoc"),
    "pubbuild/paths.py": ("pubbuild.", "panflute"),
    "pubbuild/containment.py": ("panflute", "pubbuild.pandoc", "pubbuild.formats",
                                "weasyprint", "filters"),
    "pubbuild/context.py": ("filters", "pubbuild.pipeline"),
    "pubbuild/children.py": ("pubbuild.pandoc", "pubbuild.pipeline"),
    "pubbuild/files.py": ("pubbuild.formats", "pubbuild.pipeline", "panflute"),
    "pubbuild/pdf.py": ("pubbuild.pandoc", "pubbuild.formats", "panflute"),
    "pubbuild/pipeline.py": ("pubbuild.commands", "argparse", "build"),
    "pubbuild/cslstyles.py": ("pubbuild.pipeline", "pubbuild.pandoc", "panflute"),
    "filters/__init__.py": ("pubbuild.commands", "pubbuild.outputs",
                            "pubbuild.formats"),
}
FORBIDDEN_EVERYWHERE = ("build",)  # nothing imports the command line


def _imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _breaks(name: str, forbidden: str) -> bool:
    if forbidden.endswith("."):
        return name.startswith(forbidden)
    return name == forbidden or name.startswith(forbidden + ".")


@pytest.mark.parametrize("module", sorted(CONTRACTS))
def test_a_module_imports_nothing_its_docstring_rules_out(module):
    path = ROOT / module
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and "must not know" in docstring, (
        f"{module}'s docstring no longer states what it must not know about")
    broken = sorted(name for name in _imports(path)
                    for forbidden in CONTRACTS[module] if _breaks(name, forbidden))
    assert not broken, f"{module} imports {broken}"


def test_nothing_imports_the_command_line():
    users = sorted(str(path.relative_to(ROOT))
                   for folder in ("pubbuild", "filters", "tests", "bench")
                   for path in (ROOT / folder).rglob("*.py")
                   if any(_breaks(name, forbidden) for name in _imports(path)
                          for forbidden in FORBIDDEN_EVERYWHERE)
                   and path.name != "test_styles.py")  # it runs main() itself
    assert not users, f"these import build.py as a library: {users}"


def test_the_cache_key_covers_every_module_that_makes_an_output():
    """A new module can never fall outside the key: every module of the
    package but the commands and the batch runner (outputs.NOT_OUTPUT)
    counts for some format."""
    from pubbuild import cache, outputs

    for path in sorted((ROOT / "pubbuild").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        counted = [fmt for fmt in outputs.FORMATS if cache.depends(fmt, name)]
        assert counted or any(fnmatch.fnmatch(name, pattern)
                              for pattern in outputs.NOT_OUTPUT), name


def test_no_sys_path_changes_outside_the_standalone_filter_line():
    """The project is on sys.path through pytest's `pythonpath` and
    `python -m`; only a filter run by pandoc as a script needs one line."""
    offenders = []
    for folder in ("pubbuild", "tests", "filters"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for number, line in enumerate(text.splitlines(), 1):
                if re.search(r"sys\.path\.(insert|append)\(", line):
                    previous = text.splitlines()[number - 2]
                    if not (folder == "filters" and "if not __package__:" in previous):
                        offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders, offenders
