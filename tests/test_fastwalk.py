"""pubbuild.fastwalk walks as panflute's own walk does: the same visits, in
the same order, seeing the same parents and indexes, with the same result;
and the build's filters give the same document and the same diagnostics
with either walk, on every test manuscript."""

from __future__ import annotations

import functools
import io
import json

import panflute as pf
import pytest

from conftest import manuscripts
from pubbuild import fastwalk, pandoc, pipeline

PANFLUTE = fastwalk._ORIGINAL


def _doc() -> pf.Doc:
    return _parse(
        "# One {#one}\n\nA *emphasised* c [link](http://x) d.\n\n"
        "- item one\n- item two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n: caption *here*\n\n"
        "Term\n: definition\n\n> quote[^n]\n\n[^n]: note *text*\n")


@functools.cache
def _json(text: str) -> str:
    return pandoc.run(["--from", "markdown", "--to", "json"], text)[0]


def _parse(text: str) -> pf.Doc:
    return pf.load(io.StringIO(_json(text)))


def _both(action, stop_if=None):
    """(result JSON, visits) under panflute's walk and under fastwalk's."""
    out = []
    for walk in (PANFLUTE, fastwalk.walk):
        visits = []

        def recording(elem, doc, visits=visits):
            parent = elem.parent
            visits.append((elem.tag, getattr(elem, "index", None),
                           None if parent is None else parent.tag, elem.location))
            return action(elem, doc)

        doc = _doc()
        result = walk(doc, recording, doc, stop_if)
        out.append((json.dumps(result.to_json(), sort_keys=True), visits))
    return out


def _same(action, stop_if=None):
    (slow, slow_visits), (fast, fast_visits) = _both(action, stop_if)
    assert fast_visits == slow_visits
    assert fast == slow
    return fast


def test_nothing_returned_changes_nothing():
    assert _same(lambda elem, doc: None) == json.dumps(_doc().to_json(), sort_keys=True)


def test_an_empty_list_deletes_and_a_list_splices():
    def action(elem, doc):
        if isinstance(elem, pf.Emph):
            return []
        if isinstance(elem, pf.Str) and elem.text == "c":
            return [pf.Str("c1"), pf.Space(), pf.Str("c2")]
        return None

    result = _same(action)
    assert '"c1"' in result and '"emphasised"' not in result


def test_a_replacement_and_a_deleted_block():
    def action(elem, doc):
        if isinstance(elem, pf.BulletList):
            return pf.OrderedList(*elem.content)
        if isinstance(elem, pf.BlockQuote):
            return []
        return None

    result = _same(action)
    assert "OrderedList" in result and "BlockQuote" not in result


def test_an_action_that_inserts_ahead_of_itself_has_the_insertion_walked():
    def action(elem, doc):
        if isinstance(elem, pf.Str) and elem.text == "A":
            elem.parent.content.insert(elem.index + 1, pf.Str("inserted"))
        if isinstance(elem, pf.Str) and elem.text == "inserted":
            return pf.Str("walked")
        return None

    assert '"walked"' in _same(action)


def test_stop_if_keeps_the_walk_above_it():
    def action(elem, doc):
        return pf.Str("X") if isinstance(elem, pf.Str) else None

    result = _same(action, stop_if=lambda elem: isinstance(elem, pf.Table))
    assert '"X"' in result and '"caption"' in result  # the table kept its words


def test_a_wrong_type_is_refused_as_panflute_refuses_it():
    def action(elem, doc):
        return pf.Para(pf.Str("block")) if isinstance(elem, pf.Emph) else None

    for walk in (PANFLUTE, fastwalk.walk):
        doc = _doc()
        with pytest.raises(TypeError):
            walk(doc, action, doc)


@pytest.mark.parametrize("name", sorted(manuscripts()))
def test_the_filters_give_the_same_document_with_either_walk(name, monkeypatch):
    path = manuscripts()[name]
    results = []
    for walk in (PANFLUTE, fastwalk.walk):
        monkeypatch.setattr(fastwalk, "install",
                            lambda walk=walk: setattr(pf.Element, "walk", walk))
        monkeypatch.setattr(pf.Element, "walk", walk)
        source = pipeline.read(path)
        doc = pipeline.run_filters(source)
        results.append((pandoc.to_json(doc),
                        [str(d) for d in source.reporter.warnings]))
    assert results[1] == results[0]
