"""The formats table (pubbuild/outputs.py) drives the command line and
the build: every entry is a command, the non-default ones (DOCX, JATS)
are made only when asked for, and each output is whole and valid."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, run_build
from pubbuild import pandoc, submission
from pubbuild.outputs import DEFAULT, FORMATS


def test_every_format_is_a_command():
    shown = subprocess.run([sys.executable, str(ROOT / "build.py"), "--help"],
                           capture_output=True, text=True, timeout=120).stdout
    for fmt in FORMATS.values():
        assert f"    {fmt.name} " in shown, fmt.name
    assert DEFAULT == ("pdf", "html", "epub")  # what `python build.py` promises


@pytest.mark.slow
def test_docx_and_jats_are_built_when_asked_and_only_then(tmp_path):
    out = tmp_path / "dist"
    result = run_build("-q", "--out", str(out), "docx", "jats")
    # One format per command: the second word is not a format list.
    assert result.returncode == 2 and "unrecognized arguments: jats" in result.stderr
    for fmt in ("docx", "jats"):
        result = run_build("-q", "--out", str(out), fmt)
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["MANIFEST.json", "SHA256SUMS", "article.docx",
                     "article.jats.xml"]
    listing = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert sorted(listing["outputs"]) == ["article.docx", "article.jats.xml"]

    jats = (out / "article.jats.xml").read_bytes()
    assert submission.validate_jats(jats) == []
    assert b"<article-title>Breaking the Stalemate" in jats
    # The Word file holds the article's words and its reference list.
    with zipfile.ZipFile(io.BytesIO((out / "article.docx").read_bytes())) as docx:
        assert "word/document.xml" in docx.namelist()
    text, _ = pandoc.run(["-f", "docx", "-t", "plain", "-s", "--wrap=none",
                          str(out / "article.docx")], "")
    assert "Breaking the Stalemate" in text and "References" in text

    # Asked again, nothing to do; the default build leaves them as they are.
    again = run_build("--out", str(out), "jats")
    assert again.returncode == 0 and "Nothing to do" in again.stderr
