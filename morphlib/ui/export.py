"""A morph that leaves the notebook: its α path and a player in one self-contained HTML file.

The path from sound A to sound B is rendered at ``steps`` values of α (33 by default), each
written as a 16-bit WAV inside the page; the page's script (``panel/static/morph.js``)
decodes them with Web Audio and, while a loop plays, swaps to the step nearest the slider
with a short crossfade, so that dragging α morphs with no Python, no kernel and no network.
At 22,050 Hz a 33-step path of 3.4 s loops is about 6.6 MB.
"""

import base64
import html
import io
import json
import os

from ..errors import ParameterError
from ..files import part_name, refuse_links
from ..sound.audio import prevent_clipping
from .panel import STATIC
from .panel.path import STEPS, ab_points
from ..morphing.morphs import morph



def morph_path(model, a, b, *, loops=None, steps=STEPS, n_iter=32, seed=0, keep_hits=None):
    """The morphs from ``a`` to ``b`` at ``steps`` evenly spaced values of α (``morphing.morph``).

    Parameters
    ----------
    model : MorphModel
    a, b : str or int
        Sound A (α = 0) and sound B (α = 1), as ``morph`` takes them.
    loops : LoopSet or None
    steps : int >= 2
    n_iter : int > 0
        Griffin-Lim iterations of each step.

    Returns
    -------
    morphs : list of Morph
    """
    alphas = [float(x) for x in ab_points(steps)[:, 0]]  # checks steps
    return morph(model, a, b, alphas, loops=loops, n_iter=n_iter, seed=seed, keep_hits=keep_hits)


def _wav_base64(y, sr):
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, prevent_clipping(y).T, int(sr), subtype="PCM_16", format="WAV")  # (n, channels)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def to_html(morphs, *, title=None):
    """The page: ``morphs`` (a path, α rising) with the player. Names are data, never markup.

    Returns
    -------
    html : str
    """
    if len(morphs) < 2:
        raise ParameterError(f"a path needs at least 2 morphs, got {len(morphs)}")
    first = morphs[0]
    title = title or f"{first.a} → {first.b}"
    path = {"a": first.a, "b": first.b, "sr": first.sr,
            "steps": [{"alpha": round(float(m.alpha), 4), "wav": _wav_base64(m.y, m.sr)} for m in morphs]}
    # inside <script> no "<", ">" or "&" of a name may stand as itself: JSON's escapes keep them data
    data = json.dumps(path, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = (STATIC / "morph.html").read_text(encoding="utf-8")
    for key, value in (("__STYLE__", (STATIC / "morph.css").read_text(encoding="utf-8")),
                       ("__SCRIPT__", (STATIC / "morph.js").read_text(encoding="utf-8")),
                       ("__PATH__", data), ("__TITLE__", _escape(title))):
        page = page.replace(key, value)
    return page


def _escape(text):
    return html.escape(str(text), quote=True)


def save_html(path, morphs, *, title=None, overwrite=False):
    """Write :func:`to_html` into ``path`` (never over a file unless ``overwrite``, never
    through a link); return ``(path, n_bytes)``."""
    path = os.fspath(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another name, or pass overwrite=True (--overwrite)")
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    data = to_html(morphs, title=title).encode("utf-8")
    tmp = part_name(path)
    refuse_links(tmp)
    refuse_links(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path, len(data)
