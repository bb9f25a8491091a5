"""The morph panel: an instrument for morphing loops, played while they loop.

Choose A and B and drag α, or switch to the XY pad and drag a point between four loops;
the morph keeps looping in the live player and changes under the hand. A latent map shows
where the sounds lie (click a loop to choose it), a picture shows the morph, and "save"
writes what is heard. Works with ipywidgets 7.7 (Google Colab) and 8.x (JupyterLab);
``ipywidgets``, ``anywidget`` and ``IPython`` are imported when a panel is made.

Every render runs in the handler of the message that asked for it (see ``delivery``):
a move renders a quick *draft* (half the Griffin-Lim iterations, from the last morph's
phase), and the live player asks for the full-quality morph once the hand rests. The live
player also holds the path between A and B (or the pad's grid; ``path``), which it asks for
piece by piece: while the path is in, a drag plays in the page with no message to the kernel,
and only where the hand stops is rendered here.
"""

import html
import itertools
import os
import threading
import time
import uuid

import numpy as np

from ...sound.audio import prevent_clipping, safe_filename, unique_path, write_wav
from ...model.morphmodel import METHODS, blend_latents, closest
from ...morphing.morphs import Morph, at_tempo, bilinear_weights, fitted_bars
from ...sound.spectral import griffin_lim, phase_of
from ...sound.stereo import band_levels, blend as blend_images, channel_iterations, render
from . import delivery
from ...errors import MorphlibError
from ..export import morph_path, save_html
from ..plots import play, specplot
from .path import GRID, STEPS, Path, ab_points, grid_points, steps_within
from .picture import SpectrogramStrip
from .player import make_player, output_item

MODES = (("A ↔ B", "ab"), ("XY pad", "xy"))
CORNERS = "abcd"


#: Libraries with more loops than this get sound pickers that filter as you type.
SEARCH_ABOVE = 200
#: Loops whose stereo images the panel keeps decoded: the pad's four corners and a few more.
IMAGES_KEPT = 8


class MorphPanel:
    """Interactive morphing between two loops (α) or four (the XY pad).

    Each change renders the morph — decode, Griffin-Lim, picture, sound — in the handler
    of the message that brought it, so that every update reaches the page in Colab too.
    While the hand moves the morph is a draft (``n_iter // 2`` iterations from the last
    morph's phase: as consistent as the tutorial's 32 from random phase, in half the
    time); when it rests the live player asks for the morph at full quality. The front
    end sends a dragged control's newest value only once the previous one is handled, so a
    fast drag never queues stale renders. The loops are encoded once.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
    export_dir : str
        Where "save" writes WAV files (never overwriting earlier exports).
    a, b : str or int
        Sounds A and B (also the pad's corners a and b).
    c, d : str or int or None
        The pad's corners c and d; default the loops after A and B.
    alpha : float in [0, 1]
    xy : (float, float)
        The pad's point.
    mode : {"ab", "xy"}
    n_iter : int > 0
        Griffin-Lim iterations.
    seed : int >= 0
    live : bool
        The live loop player (anywidget, Web Audio); False, or no anywidget, gives plain
        players.
    export_sr : int or None
        The sample rate in Hz of the files "save" writes (your project's, e.g. 44100 or
        48000), resampled with soxr; None: the model's.

    Attributes
    ----------
    morph : Morph
        The morph on display (picture and sound); at full quality once ``wait`` returns.
    player : LoopPlayer or FallbackPlayer
    latencies_ms : list of float
        Milliseconds from each change to its morph (a draft while a control moves) being
        ready to send.
    error : Exception or None
        What the last render failed with (shown in the panel, raised by ``wait``).
    """

    def __init__(self, model, loops, *, export_dir, a=0, b=1, c=None, d=None, alpha=0.5, xy=(0.5, 0.5), mode="ab",
                 n_iter=32, seed=0, live=True, export_sr=None):
        delivery.strict_from_env()
        model.check(loops)
        self.model, self.loops, self.export_dir, self.seed = model, loops, os.fspath(export_dir), seed
        self.export_sr = export_sr  # checked when a file is written (sound.audio.write_wav)
        self.z = model.latents_of(loops)  # loops the model has not heard: fitted latents (latentfit)
        self._names, self._picked = set(loops.names), {}
        self._build_controls(a, b, c, d, alpha=alpha, xy=xy, mode=mode, n_iter=n_iter, live=live)
        self.widget = self._layout()
        self.morph = None
        self.nearest = []
        self.latencies_ms = []
        self.error = None
        self.renders = 0
        self._strip = None
        self._phase = None
        self._shown = None  # (state, S) of the morph on display while it is a draft
        self._image_cache = {}  # loop index -> its stereo image (``_loop_image``)
        self._rendered = None  # the state of the morph on display
        self.path = None  # the path the live player holds (path.Path)
        self._path_what = None
        self._path_keys = itertools.count(1)
        # Handlers may run on two threads at once: a cell on the main thread, widget
        # messages on a kernel subshell's (JupyterLab 4.6 with ipykernel 7).
        self._lock = threading.RLock()
        self._connect()
        self._show_mode()
        if self.player.refines:
            self.player.on_refine(self._on_refine)
        if hasattr(self.player, "offer_path"):
            self.player.on_path_request(self._on_path_request)
        self._render(self._state(), draft=False)  # the first picture and sound are there when the cell finishes

    def _build_controls(self, a, b, c, d, *, alpha, xy, mode, n_iter, live):
        import ipywidgets as w

        names = list(self.loops.names)
        i, j = self.loops.index(a), self.loops.index(b)
        rest = [k for k in range(len(names)) if k not in (i, j)] or [i, j]
        k_c = self.loops.index(c) if c is not None else rest[0]
        k_d = self.loops.index(d) if d is not None else rest[min(1, len(rest) - 1)]

        def pick(k, label):
            common = dict(description=label, layout=w.Layout(width="25%"), style={"description_width": "initial"})
            if len(names) > SEARCH_ABOVE:  # a long dropdown is unusable: type to filter instead
                return w.Combobox(options=names, value=names[k], ensure_option=True, placeholder="type to search", **common)
            return w.Dropdown(options=names, value=names[k], **common)

        self.a, self.b, self.c, self.d = pick(i, "A / a"), pick(j, "B / b"), pick(k_c, "corner c"), pick(k_d, "corner d")
        self.mode = w.ToggleButtons(options=list(MODES), value=mode)
        self.alpha = _make_alpha(alpha)
        self.method = w.ToggleButtons(options=list(METHODS), value="linear")
        self.n_iter = w.IntSlider(value=n_iter, min=1, max=128, description="GL iters", continuous_update=False)
        warm = getattr(self.model.preset, "compression", "none") != "none"  # the tutorial preset keeps the tutorial's start
        self.phase_start = w.ToggleButtons(options=[("random phase", "random"), ("PGHI", "pghi"), ("from the last morph", "previous")],
                                           value="previous" if warm else "random",
                                           tooltip="where Griffin-Lim starts: random (the tutorial's), phase-gradient "
                                                   "integration of the magnitude, or the phase of the morph before")
        self.keep_hits = w.ToggleButton(value=bool(self.model.keep_hits), description="keep hits", icon="bolt",
                                        tooltip="give the morph its ends' hits, band by band (on: the preset's choice "
                                                "where it keeps them; off: the decode of the blend as it is)")
        self.compare = w.ToggleButton(value=False, description="compare with crossfade", icon="balance-scale",
                                      tooltip="also hear and see the naive crossfade of the spectrograms (slower)")
        self.save_button = _make_save()
        self.save_bpm = w.BoundedFloatText(value=0.0, min=0.0, max=400.0, step=1.0, description="at BPM",
                                           layout=w.Layout(width="160px"), style={"description_width": "initial"},
                                           tooltip="save at your project's tempo: the loop stretched to whole bars "
                                                   "(0: as the model plays it)")
        self.status = w.HTML()
        self.neighbours = w.HTML()
        self.image = w.Image(format="jpeg")  # SpectrogramStrip.format
        self.player = make_player(live=live)
        self.compare_out = w.Output()
        self.pad, self.map = _make_pad(xy), _make_map(self.model, self.loops, self.z)
        channel = uuid.uuid4().hex  # the page's controls find the live player by it
        for widget in (self.player, self.alpha, self.pad, self.save_button):
            if getattr(widget, "has_trait", lambda _name: False)("channel"):
                widget.channel = channel
        self.map_target = w.ToggleButtons(options=["A", "B"], value="A", description="click sets")

    def _layout(self):
        import ipywidgets as w

        # A separate label: ipywidgets 8 puts a ToggleButtons description above the buttons.
        self._ab_box = w.VBox([self.alpha, w.HBox([w.Label("blend"), self.method])])
        self._xy_box = w.VBox([_slider_box(self.pad) if isinstance(self.pad, tuple) else self.pad])
        map_box = [self.map, self.map_target] if self.map is not None else [w.HTML("<i>latent map: needs anywidget</i>")]
        return w.VBox([
            self.mode, w.HBox([self.a, self.b, self.c, self.d]), self._ab_box, self._xy_box,
            w.HBox([w.VBox(map_box), w.VBox([self.image])]), self.player.widget, self.neighbours,
            w.HBox([self.n_iter, self.phase_start, self.keep_hits, self.compare]), self.compare_out, w.HBox([self.save_button, self.save_bpm, self.status]),
        ])

    def _connect(self):
        controls = (self.a, self.b, self.c, self.d, self.alpha, self.method, self.n_iter, self.compare, self.phase_start, self.keep_hits)
        for control in (*controls, *self._pad_sliders):
            control.observe(self._on_change, names="value")
        if not isinstance(self.pad, tuple):
            self.pad.observe(self._on_change, names=["x", "y"])
        if self.map is not None:
            self.map.on_pick(self._on_pick)
        self.mode.observe(self._on_mode, names="value")
        self.save_button.on_click(self._on_save)

    # --- controls --------------------------------------------------------------------

    @property
    def _pad_sliders(self):
        return self.pad if isinstance(self.pad, tuple) else ()

    @property
    def xy(self):
        """The pad's point ``(x, y)``."""
        x, y = (self.pad[0].value, self.pad[1].value) if isinstance(self.pad, tuple) else (self.pad.x, self.pad.y)
        return float(x), float(y)

    def set_xy(self, x, y):
        """Move the pad's point (as a drag does)."""
        if isinstance(self.pad, tuple):
            self.pad[0].value, self.pad[1].value = x, y
        else:
            with self.pad.hold_trait_notifications():
                self.pad.x, self.pad.y = float(x), float(y)

    def _on_mode(self, change):
        self._show_mode()
        self._on_change(change)

    def _show_mode(self):
        xy = self.mode.value == "xy"
        self._ab_box.layout.display = "none" if xy else ""
        self._xy_box.layout.display = "" if xy else "none"
        for corner in (self.c, self.d):
            corner.layout.display = "" if xy else "none"
        self.map_target.options = list(CORNERS) if xy else ["A", "B"]
        if not isinstance(self.pad, tuple):
            self.pad.corners = [self.loops.names[k] for k in self._corner_indices()]

    def _corner_indices(self):
        # a search box being typed into still means the sound it last named
        for ctrl in (self.a, self.b, self.c, self.d):
            if ctrl.value in self._names:
                self._picked[ctrl.description] = ctrl.value
        return [self.loops.index(self._picked[ctrl.description]) for ctrl in (self.a, self.b, self.c, self.d)]

    def _on_pick(self, index):
        """A loop clicked on the map becomes the sound (or corner) that ``map_target`` names."""
        target = {"A": self.a, "B": self.b, "a": self.a, "b": self.b, "c": self.c, "d": self.d}[self.map_target.value]
        target.value = self.loops.names[index]

    def _state(self):
        return {
            "mode": self.mode.value, "corners": tuple(self._corner_indices()), "alpha": float(self.alpha.value),
            "xy": self.xy, "method": self.method.value, "n_iter": int(self.n_iter.value), "compare": bool(self.compare.value),
            "phase_start": self.phase_start.value, "keep_hits": bool(self.keep_hits.value),
            "t": time.perf_counter(),
        }

    def _on_change(self, change=None):
        if change is not None and change.get("owner") in (self.a, self.b, self.c, self.d) and change["new"] not in self._names:
            return  # a search box still being typed into
        state = self._state()
        if self._rendered is not None and _same(state, self._rendered):
            return  # the pad's x and y arrive in one message, and each tells its observers
        self._render(state, draft=self.player.refines)

    def _on_refine(self, version):
        """The page asks for the full-quality morph of the draft it has played (the hand rests)."""
        with self._lock:
            if version == self.player.version and self._shown is not None:
                self._refine()

    def wait(self, timeout=None):
        """Bring the morph on display to full quality (a draft is rendered again) and return True.

        Renders run when their message is handled, so nothing is pending after it; call it
        from the kernel's main thread (a cell). Re-raises what the last render failed with.
        ``timeout`` is accepted for compatibility and not needed.
        """
        with self._lock:
            if self.error is None and self._shown is not None:
                self._refine()
            if self.error is not None:
                raise self.error
        return True

    # --- rendering -------------------------------------------------------------------

    def _blend(self, state):
        """(latent vector, loop indices, their weights, morph metadata) of a state."""
        i, j, k, m = state["corners"]
        if state["mode"] == "xy":
            idx, weights = [i, j, k, m], bilinear_weights(*state["xy"])
            z = blend_latents(self.z[idx], weights[None])[0]
            names = tuple(self.loops.names[q] for q in idx)
            meta = dict(a=names[0], b=names[1], alpha=state["xy"][0], method="xy", corners=names, xy=tuple(state["xy"]))
            return z, idx, weights, meta
        al = state["alpha"]
        z = blend_latents(self.z[[i, j]], [[1 - al, al]], method=state["method"])[0]
        meta = dict(a=self.loops.names[i], b=self.loops.names[j], alpha=al, method=state["method"])
        return z, [i, j], np.array([1 - al, al]), meta

    def _show_neighbours(self, z, k=5):
        hits = closest(self.z, np.asarray(z).reshape(-1), k)
        self.nearest = [(self.loops.names[i], d) for i, d in hits]
        names = ", ".join(f"{html.escape(n)} <small>({d:.2f})</small>" for n, d in self.nearest)
        self.neighbours.value = f"<b>closest loops</b> in the latent space: {names}"

    def _render(self, state, *, draft):
        """Render ``state``; a draft where asked and a phase to start from is at hand."""
        with self._lock:
            self._render_locked(state, draft=draft and self._phase is not None and state["n_iter"] >= 2)
            self._offer_path(state)

    # --- the path in the player ------------------------------------------------------

    def _path_of(self, state):
        """What the path of ``state`` blends: (kind, corner indices, method, keep_hits, n_iter)."""
        if state["mode"] == "xy":
            return ("xy", state["corners"], "linear", state["keep_hits"], state["n_iter"])
        return ("ab", state["corners"][:2], state["method"], state["keep_hits"], state["n_iter"])

    def _offer_path(self, state):
        """Offer the live player a new path when A, B (the corners), the blend or the quality changed."""
        if not hasattr(self.player, "offer_path"):
            return
        what = self._path_of(state)
        if self.path is not None and self._path_what == what:
            return
        kind, idx, method, keep_hits, n_iter = what
        images = self._images(idx)
        channels = 2 if images else 1
        n = steps_within(channels * self.model.settings.n_samples, STEPS if kind == "ab" else GRID**2)
        points = ab_points(n) if kind == "ab" else grid_points(min(GRID, int(np.sqrt(n))))
        self.path = Path(key=f"path-{next(self._path_keys)}", kind=kind, points=points, ends=self.z[list(idx)], images=images,
                         method=method, keep_hits=keep_hits, n_iter=n_iter)
        self._path_what = what
        self.player.offer_path(self.path.key, kind, self.path.size, self.path.coarse)

    def _on_path_request(self, key, restart):
        """The page asks for the next steps of path ``key`` (from the first, where ``restart``)."""
        with self._lock:
            path = self.path
            if path is None or key != path.key:
                return  # a path the page has dropped already
            if restart:
                path.sent = 0
            try:
                steps = path.next_steps(self.model, seed=self.seed)
            except Exception as exc:  # noqa: BLE001  (the drag then sends its moves, as without a path)
                self._fail(exc)
                return
            self.player.send_steps(key, steps, self.model.settings.sr, done=path.done)

    def _render_locked(self, state, *, draft):
        self._rendered = state
        try:
            z, idx, weights, meta = self._blend(state)
            method = "linear" if state["mode"] == "xy" else state["method"]
            S = self.model.blend(self.z[idx], weights[None], method=method, keep_hits=state["keep_hits"])[0]
            morph = self._resynthesise(S, state, meta, image=self._image(idx, weights), draft=draft)
            self.image.value = self._picture(state, idx, S)
            self.latencies_ms.append(1000 * (time.perf_counter() - state["t"]))
            self._show_neighbours(z)
            if self.map is not None:
                self._show_on_map(state, idx, z)
            if not draft:
                self._show_crossfade(state, idx, weights, morph)
            self.status.value = self._repeats(state)
            self.error = None
        except Exception as exc:  # noqa: BLE001  (shown in the panel; wait() raises it)
            self._fail(exc)
        finally:
            self.renders += 1

    def _images(self, idx):
        """The stereo images of loops ``idx`` (None for a mono one), or [] when all are mono
        or the model was loaded with ``mono=True``."""
        if self.model.mono:
            return []
        images = [self._loop_image(i) for i in idx]
        return images if any(im is not None for im in images) else []

    def _loop_image(self, i):
        """Loop ``i``'s image, kept for the next moves (a store decodes it on each read)."""
        if i not in self._image_cache:
            if len(self._image_cache) >= IMAGES_KEPT:
                self._image_cache.pop(next(iter(self._image_cache)))
            self._image_cache[i] = self.loops.image(i)
        return self._image_cache[i]

    def _image(self, idx, weights, *, of_loops=False):
        """The stereo image of a blend of loops ``idx`` with ``weights``, None when all are mono:
        each end weighed by its decode's levels, or by its own magnitude's (``of_loops``, the
        crossfade's)."""
        images = self._images(idx)
        if not images:
            return None
        idx = list(idx)
        levels = band_levels(self.loops.S[idx], self.model.settings) if of_loops else self.model.end_levels(self.z[idx])
        return blend_images(images, weights, settings=self.model.settings, levels=levels)

    def _resynthesise(self, S, state, meta, *, image, draft):
        """Phase-reconstruct ``S`` (in stereo with ``image``, ``stereo.render``) and send it to
        the player: a draft from the last phase with half the iterations, or at full quality
        with the chosen start."""
        if draft:  # the channels' details laid on as they are: the refined morph iterates them
            init, n_iter, channel_iter = self._phase, state["n_iter"] // 2, 0
        else:
            init, n_iter = (self._phase if state["phase_start"] == "previous" else state["phase_start"]), state["n_iter"]
            channel_iter = None
        y = self.model.to_audio(S, n_iter=n_iter, seed=self.seed, init=init, image=image, channel_iter=channel_iter)
        self._phase = phase_of(y if y.ndim == 1 else y.mean(axis=0), self.model.settings)  # the mid's phase
        morph = Morph(S=S, y=y, sr=self.model.settings.sr, **meta)
        self.player.show(y, morph.sr, label=_describe(morph), draft=draft)
        self.morph = morph
        self._shown = (state, S) if draft else None
        return morph

    def _refine(self):
        state, S = self._shown
        try:
            _, idx, weights, meta = self._blend(state)
            morph = self._resynthesise(S, state, meta, image=self._image(idx, weights), draft=False)
            self._show_crossfade(state, idx, weights, morph)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _fail(self, exc):
        self.error, self._shown = exc, None
        self._show_error(exc)

    def _picture(self, state, idx, S):
        if state["mode"] == "xy":
            key, sources = ("xy",), []
            titles = ["XY morph"]
        else:
            key, sources = ("ab", *idx), [(0, idx[0]), (2, idx[1])]
            titles = [f"A: {self.loops.names[idx[0]]}", "morph", f"B: {self.loops.names[idx[1]]}"]
        if self._strip is None or self._strip[0] != key:
            ref = max([float(np.max(self.loops.S[q])) for q in idx] + [float(np.max(S))]) or 1.0
            strip = SpectrogramStrip(self.model.settings, titles, ref=ref)
            for panel, q in sources:
                strip.paint(panel, self.loops.S[q])
            self._strip = (key, strip)
        strip = self._strip[1]
        strip.paint(0 if state["mode"] == "xy" else 1, S)
        return strip.encode()

    def _show_on_map(self, state, idx, z):
        if state["mode"] == "xy":
            corners = self.z[idx]
            path = np.stack([corners[0], corners[1], corners[3], corners[2], corners[0]])
            marks = dict(zip(CORNERS, idx))
        else:
            t = np.linspace(0, 1, 9)
            path = blend_latents(self.z[idx], np.stack([1 - t, t], 1), method=state["method"])
            marks = {"A": idx[0], "B": idx[1]}
        self.map.show(marks=marks, path_z=path, current_z=z)

    def _show_crossfade(self, state, idx, weights, morph):
        """The naive crossfade of the spectrograms, computed only while "compare" is on."""
        if not state["compare"]:
            if self.compare_out.outputs:
                self.compare_out.outputs = ()
            self.baseline = None
            return
        from matplotlib.figure import Figure

        S = np.tensordot(weights.astype(np.float32), self.loops.S[idx], axes=1)
        mid = griffin_lim(S, self.loops.settings, n_iter=state["n_iter"], seed=self.seed)
        image = self._image(idx, weights, of_loops=True)
        y = prevent_clipping(render(mid, image, self.loops.settings, iterations=channel_iterations(state["n_iter"]), magnitude=S))
        self.baseline = Morph(S=S, y=y, sr=self.loops.settings.sr, **{**_meta(morph), "method": "crossfade"})
        fig = Figure(figsize=(5, 2.8), layout="constrained")  # no pyplot: no figure left open per move
        specplot(S, self.loops.settings, ax=fig.subplots(), title=f"naive crossfade, same blend ({_describe(morph)})")
        self.compare_out.outputs = (output_item(fig), output_item(play(y, self.loops.settings.sr)))

    def _repeats(self, state):
        """A note when the pad's corners repeat a loop (the pad then spans fewer than four)."""
        if state["mode"] != "xy" or len(set(state["corners"])) == 4:
            return ""
        names = [self.loops.names[q] for q in state["corners"]]
        twice = sorted({n for n in names if names.count(n) > 1})
        return f"<span style='color:#b60'>{html.escape(', '.join(twice))} sits at two corners: choose four different loops for the full pad</span>"

    def _show_error(self, exc):
        self.status.value = f"<span style='color:#b00'>could not render this morph: {html.escape(_one_line(exc))}</span>"

    # --- saving ----------------------------------------------------------------------

    def _on_save(self, _button=None, *, shown=None):
        """A click on "save": first to the α (or the pad's point) the page showed, if the
        page's newer value has not reached the kernel yet, then ``save``."""
        shown = shown or {}
        if self.mode.value == "xy" and "xy" in shown and shown["xy"] != self.xy:
            self.set_xy(*shown["xy"])
        elif self.mode.value != "xy" and "alpha" in shown and shown["alpha"] != self.alpha.value:
            self.alpha.value = shown["alpha"]
        try:
            path = self.save()
        except (MorphlibError, OSError) as exc:  # a full disk or a dropped Drive mount too
            self.status.value = f"<span style='color:#b00'>could not save this morph: {html.escape(_one_line(exc))}</span>"
            return
        self.status.value = f"saved <code>{html.escape(path)}</code>"

    def save(self, *, bpm=None):
        """Write the morph on display into ``export_dir`` under a new name; return its path.

        Parameters
        ----------
        bpm : float in [20, 400] or None
            Write it at this tempo, stretched to the nearer end's bars (``morphing.at_tempo``;
            the name says the tempo and the bars). None: the "at BPM" field (0: as it plays).
        """
        self.wait()
        m = self.morph
        bpm = bpm if bpm is not None else (self.save_bpm.value or None)
        if bpm:
            near = m.a if (m.corners or m.alpha < 0.5) else m.b
            m = at_tempo(m, bpm, window_s=self.model.settings.duration, bars=fitted_bars(self.loops, near))
        path = unique_path(os.path.join(self.export_dir, m.filename()))
        return write_wav(path, m.y, sr=m.sr, export_sr=self.export_sr)

    def save_html(self, path=None, *, steps=None):
        """Write the path from sound A to sound B as one self-contained HTML page that plays and
        morphs by dragging in any browser (``morphlib.ui.export``); return its path.

        Parameters
        ----------
        path : str or os.PathLike or None
            Default: a new name in ``export_dir``.
        steps : int >= 2 or None
            Steps of α (default ``export.STEPS``, 33).
        """
        i, j = self._corner_indices()[:2]
        a, b = self.loops.names[i], self.loops.names[j]
        morphs = morph_path(self.model, a, b, loops=self.loops, steps=steps or STEPS, n_iter=int(self.n_iter.value),
                            keep_hits=bool(self.keep_hits.value))
        if path is None:
            path = unique_path(os.path.join(self.export_dir, safe_filename(f"{a} to {b}", suffix=" path.html")))
        return save_html(path, morphs)[0]

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _same(state, other):
    """Two panel states that render the same morph (their times aside)."""
    return {k: v for k, v in state.items() if k != "t"} == {k: v for k, v in other.items() if k != "t"}


def _meta(m):
    return dict(a=m.a, b=m.b, alpha=m.alpha, method=m.method, corners=m.corners, xy=m.xy)


def _describe(m):
    if m.corners:
        return f"XY pad x = {m.xy[0]:.2f}, y = {m.xy[1]:.2f}"
    return f"{m.a} → {m.b}, α = {m.alpha:.2f} ({m.method})"


def _make_alpha(alpha):
    """α's slider (anywidget: it can play the path in the page), or ipywidgets' where anywidget is missing."""
    try:
        from .controls import alpha_class

        return alpha_class()(value=float(alpha), layout={"width": "90%"})
    except ImportError:
        import ipywidgets as w

        return w.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.01, description="α (A→B)", continuous_update=True,
                             readout_format=".2f", layout=w.Layout(width="90%"))


def _make_save():
    """The "save morph as WAV" button (anywidget: its click carries the α the page shows), or ipywidgets'."""
    description = "save morph as WAV"
    try:
        from .controls import save_class

        return save_class()(description=description, tooltip="write the morph you hear as a new WAV file")
    except ImportError:
        import ipywidgets as w

        return w.Button(description=description, icon="save", layout=w.Layout(width="auto"))


def _make_pad(xy):
    """The XY pad widget, or two sliders where anywidget is missing."""
    try:
        from .controls import pad_class

        return pad_class()(x=float(xy[0]), y=float(xy[1]))
    except ImportError:
        import ipywidgets as w

        return tuple(w.FloatSlider(value=v, min=0, max=1, step=0.01, description=n, continuous_update=True) for n, v in zip("xy", xy))


def _slider_box(sliders):
    import ipywidgets as w

    return w.VBox([w.HTML("<i>XY pad: needs anywidget; two sliders instead</i>"), *sliders])


def _make_map(model, loops, z):
    """The clickable latent map, or None where anywidget is missing."""
    try:
        from .latentmap import latent_map, map_class

        return map_class()(latent_map(model, z=z, names=list(loops.names)))
    except ImportError:
        return None


def _one_line(exc):
    """``"Kind: first line of the message"`` of an exception, for the status line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
