"""The README's images and links point to files in the repository and to headings that exist."""

import os
import re
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ("README.md", "data/README.md")
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


@pytest.mark.parametrize("doc", DOCS)
def test_every_anchor_names_a_heading(doc):
    links, text = _links(doc)
    headings = {anchor(h) for h in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}
    broken = [t for t in links if t.startswith("#") and t[1:] not in headings]
    assert not broken, f"{doc} links to headings it does not have: {broken}"


def test_the_panels_picture_is_small():
    size = os.path.getsize(os.path.join(REPO, "docs", "panel.png"))
    assert size <= 200_000, f"docs/panel.png is {size:,} bytes; keep the README's picture under 200 KB"
