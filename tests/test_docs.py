"""The README and docs/: images and links point to files in the repository and to headings
that exist, the README stays a front door, and every command they quote still parses."""

import argparse
import glob
import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ("README.md", "data/README.md", *sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md"))))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _tracked(path):
    """Whether git tracks ``path`` (relative to the repository); None outside a git checkout."""
    try:
        out = subprocess.run(["git", "-C", REPO, "ls-files", "--error-unmatch", path], capture_output=True)
    except OSError:
        return None
    if out.returncode and b"not a git repository" in out.stderr:
        return None
    return out.returncode == 0


def anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _links(doc):
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        text = f.read()
    code_free = re.sub(r"```.*?```", "", text, flags=re.S)
    return [target for target in LINK.findall(code_free) if not re.match(r"[a-z]+:", target)], text


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_and_image_is_in_the_repository(doc):
    links, _ = _links(doc)
    base = os.path.dirname(doc)
    missing = []
    for target in links:
        path = target.split("#", 1)[0]
        if not path:
            continue
        rel = os.path.normpath(os.path.join(base, path))
        tracked = _tracked(rel)
        if not os.path.exists(os.path.join(REPO, rel)) or tracked is False:
            missing.append(f"{target} ({'not in git' if os.path.exists(os.path.join(REPO, rel)) else 'no such file'})")
    assert not missing, f"{doc} points to files the repository does not hold: {missing}"


def _anchors(doc):
    """The anchors GitHub gives the headings of ``doc`` (a repeated heading gets -1, -2, ...)."""
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    seen, out = {}, set()
    for heading in re.findall(r"^#+\s+(.*)$", text, flags=re.M):
        a = anchor(heading)
        out.add(a if a not in seen else f"{a}-{seen[a]}")
        seen[a] = seen.get(a, 0) + 1
    return out


@pytest.mark.parametrize("doc", DOCS)
def test_every_anchor_names_a_heading(doc):
    links, _ = _links(doc)
    broken = []
    for target in links:
        path, _, frag = target.partition("#")
        if not frag:
            continue
        where = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if where.endswith(".md") and frag not in _anchors(where):
            broken.append(target)
    assert not broken, f"{doc} links to headings that do not exist: {broken}"


def test_the_readme_is_a_front_door():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move measurements and their history to docs/"
    for page in ("glossary", "sound", "training", "data", "model-folder", "benchmarks", "testing", "architecture"):
        assert f"(docs/{page}.md)" in "\n".join(lines), f"the README does not link docs/{page}.md"


#: A command quoted in the README or docs/: ``python -m morphlib SUB ARG ...`` or ``python benchmarks|docs/X.py ...``,
#: as a whole code span or an indented line (a synopsis with ``[...]`` or ``a|b`` is not a command).
COMMAND = re.compile(r"^python (?:-m morphlib \w[\w-]* \S|(?:benchmarks|docs)/\w+\.py\b)")


def _commands():
    found = {}
    for doc in DOCS:
        with open(os.path.join(REPO, doc), encoding="utf-8") as f:
            text = f.read()
        for block in re.findall(r"`([^`]+)`", text) + re.findall(r"^(?: {4}|\t)(python .*)$", text, flags=re.M):
            command = " ".join(block.split("  #")[0].split())
            if COMMAND.match(command) and not re.search(r"[\[|]|\.\.\.|&&", command):
                found.setdefault(command, doc)
    return sorted(found.items())


class _Parsed(Exception):
    pass


@pytest.mark.parametrize("command, doc", _commands())
def test_every_quoted_command_still_parses(command, doc, monkeypatch):
    """Its script's own argument parser accepts the flags (nothing is run: the parse is the end)."""
    real = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        raise _Parsed(real(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    words = shlex.split(command)[1:]
    monkeypatch.setattr(sys, "argv", [words[1] if words[0] == "-m" else words[0], *words[2 if words[0] == "-m" else 1:]])
    monkeypatch.syspath_prepend(REPO)
    try:
        with pytest.raises(_Parsed):
            if words[0] == "-m":
                runpy.run_module(words[1], run_name="__main__", alter_sys=False)
            else:
                runpy.run_path(os.path.join(REPO, words[0]), run_name="__main__")
    except SystemExit as exc:
        pytest.fail(f"{doc} quotes `{command}`, which its parser refuses (exit {exc.code})")


@pytest.mark.parametrize("picture", ["panel.png", "morph_strip.png"])
def test_the_readmes_pictures_are_small(picture):
    size = os.path.getsize(os.path.join(REPO, "docs", picture))
    assert size <= 200_000, f"docs/{picture} is {size:,} bytes; keep the README's pictures under 200 KB (docs/pictures.py shrinks them)"
