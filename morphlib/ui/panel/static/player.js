// morphlib's live loop player: plays the morph as an endless loop with the Web Audio API.
// A new morph takes over where the old one is in the loop, with a short crossfade: the
// loop never restarts, never clicks, and there is only ever one player.
// A draft (a quick morph sent while a control moves) that has played for rest_ms with
// nothing newer arriving means the hand rests: the player then asks the kernel for the
// full-quality morph, which the kernel renders and sends while it handles that request.
// The page can read the player's state off its element: data-state (the AudioContext's),
// data-version (the morph playing), data-swaps, data-duration (s), data-channels, data-draft,
// data-last-input (when the user last moved something on the page, performance.now() ms)
// and data-swap-log (JSON: the last morphs started, each with version, draft, label and
// when it started), from which a test reads the time from a move to its sound.
//
// The path: when the kernel offers one (path_key, path_kind "ab" or "xy", path_size), the
// player drops the path it held and asks for the new one's steps, IN_FLIGHT requests at a time,
// each answered with the next few steps (coarse first) as binary buffers. The α slider and
// the XY pad of the same channel find the player in globalThis.__morphlibPlayers: while the
// hand drags they call hear(kind, point, eventTime), and the player plays the nearest step it
// holds at once; no message goes to the kernel, and the path waits: no request for more of it
// goes out while the hand is down (the pad's grid is refined while the hand rests). settle()
// marks the hand's stop (the control then sends the value, and the exact morph replaces the
// step). Its state for tests:
// data-path-key, data-path-steps, data-path-bytes (audio held, bytes), data-path-ms (from the
// offer to the last step in), data-path-done-at (when the last came in), data-path-coarse-at
// (when the coarse path was in: its first path_coarse steps) and data-path-log (JSON: the
// steps played, each with the event's time and when its sound started, performance.now() ms).

const players = (globalThis.__morphlibPlayers ??= new Map());
// Requests for the path at a time: enough that the kernel has the next one at hand while an
// answer travels to a page a data centre away; each waits behind at most CHUNK_S of rendering.
const IN_FLIGHT = 3;
// Without Web Audio there is nothing to play a path with: the controls then send every move.
const webAudio = Boolean(globalThis.AudioContext || globalThis.webkitAudioContext) && typeof AudioBuffer === "function";

function asView(b) {
  if (b instanceof DataView) return b;
  return ArrayBuffer.isView(b) ? new DataView(b.buffer, b.byteOffset, b.byteLength) : new DataView(b);
}

// 16-bit PCM (channels interleaved) as an AudioBuffer; made without an AudioContext, so a
// path can arrive before play.
function int16ToBuffer(view, sr, channels = 1) {
  const frames = Math.max(Math.floor((view.byteLength >> 1) / channels), 1);
  const buffer = new AudioBuffer({ length: frames, numberOfChannels: channels, sampleRate: sr });
  for (let c = 0; c < channels; c++) {
    const data = new Float32Array(frames);
    for (let i = 0; i < (view.byteLength >> 1) / channels; i++) data[i] = view.getInt16(2 * (i * channels + c), true) / 32768;
    buffer.copyToChannel(data, c);
  }
  return buffer;
}

const distance = (p, q) => Math.hypot(...p.map((v, k) => v - q[k]));

let lastPointer = 0;  // when the user last moved something, for the latency readout
for (const kind of ["pointermove", "pointerdown", "keydown", "input"]) {
  globalThis.addEventListener?.(kind, () => { lastPointer = performance.now(); }, true);
}

// The path a player holds (see the top): asked for, received, and played while the hand drags.
// ``play(buffer)`` swaps a step in where the player is playing, and says whether it did.
function pathOf({ model, el, play }) {
  // the path held; when the hand last moved through it, last sent a move to the kernel, and stopped
  let path = null, handAt = 0, heldAt = 0, settledAt = 0;
  const handDown = () => Math.max(handAt, heldAt) > settledAt;
  const pathLog = [];

  function offered() {
    path = null;  // the old path's audio goes with it
    const key = model.get("path_key"), kind = model.get("path_kind"), size = model.get("path_size");
    if (webAudio && key && size >= 2) {
      path = { key, kind, n: kind === "ab" ? size : size * size, coarse: model.get("path_coarse"), steps: new Map(), bytes: 0,
               inFlight: 0, asked: 0, offeredAt: performance.now(), done: false };
      for (let k = 0; k < IN_FLIGHT; k++) ask();
    }
    showPath();
  }

  function ask() {
    if (!path || path.done || path.inFlight >= IN_FLIGHT || handDown()) return;
    path.inFlight += 1;
    model.send({ type: "path", key: path.key, restart: path.asked === 0 });
    path.asked += 1;
  }

  function received(msg, buffers) {
    if (!path || msg.key !== path.key) return;  // an answer for a path already dropped
    path.inFlight -= 1;
    msg.steps.forEach((step, k) => {
      if (path.steps.has(step.index)) return;
      const buffer = int16ToBuffer(asView(buffers[k]), msg.sr, step.channels || 1);
      path.steps.set(step.index, { point: step.point, buffer });
      path.bytes += 4 * buffer.length * buffer.numberOfChannels;
    });
    if (!path.coarseAt && path.steps.size >= Math.min(path.coarse || path.n, path.n)) path.coarseAt = performance.now();
    if (path.steps.size >= path.n || msg.done) {
      path.done = true;
      path.doneAt = performance.now();
      path.readyMs = path.doneAt - path.offeredAt;
    }
    showPath();
    ask();
  }

  function showPath() {
    el.dataset.pathKey = path ? path.key : "";
    el.dataset.pathSteps = String(path ? path.steps.size : 0);
    el.dataset.pathBytes = String(path ? path.bytes : 0);
    el.dataset.pathMs = path && path.done ? path.readyMs.toFixed(1) : "";
    el.dataset.pathDoneAt = path && path.done ? path.doneAt.toFixed(1) : "";
    el.dataset.pathCoarseAt = path && path.coarseAt ? path.coarseAt.toFixed(1) : "";
  }

  // A drag can play the path once its ends (and, for α, its middle) are in.
  const covers = (kind) => !!path && path.kind === kind && path.steps.size >= Math.min(path.n, kind === "ab" ? 3 : 4);

  function hear(kind, point, eventTime) {
    if (!covers(kind)) return;
    handAt = performance.now();
    let best = null, bestIndex = -1;
    for (const [index, step] of path.steps) {
      if (!best || distance(step.point, point) < distance(best.point, point)) { best = step; bestIndex = index; }
    }
    if (bestIndex === path.playing) return;
    path.playing = bestIndex;
    if (!play(best.buffer)) return;
    pathLog.push({ index: bestIndex, point: best.point, input: eventTime, at: performance.now() });
    if (pathLog.length > 200) pathLog.shift();
    el.dataset.pathLog = JSON.stringify(pathLog);
  }

  // A control sends its moves to the kernel (the path does not cover them yet): the path's
  // requests wait until the hand stops, so that the moves are not queued behind them.
  function hold() { heldAt = performance.now(); }

  function settle() {
    settledAt = performance.now();
    if (!path) return;
    path.playing = -1;
    for (let k = 0; k < IN_FLIGHT; k++) ask();  // the hand rests: the path goes on coming in
  }

  const dragging = () => handAt > settledAt;
  return { offered, received, covers, hear, hold, settle, dragging, drop: () => { path = null; } };
}

function render({ model, el }) {
  el.classList.add("morphlib-player");
  const button = document.createElement("button");
  const volume = Object.assign(document.createElement("input"), { type: "range", min: 0, max: 1, step: 0.01 });
  const label = Object.assign(document.createElement("span"), { className: "morphlib-player-label" });
  const status = Object.assign(document.createElement("span"), { className: "morphlib-player-status" });
  volume.title = "volume";
  el.append(button, Object.assign(document.createElement("span"), { textContent: "volume" }), volume, label, status);

  let ctx = null, master = null, voice = null, swaps = 0, refineTimer = null;
  const log = [];

  const fade = () => Math.min(Math.max(model.get("fade_ms"), 1), 30) / 1000;
  const show = () => {
    const playing = model.get("playing");
    button.textContent = playing ? "■ stop" : "▶ play";
    label.textContent = model.get("label");
    volume.value = model.get("volume");
    el.dataset.state = ctx ? ctx.state : "none";
    el.dataset.version = String(model.get("version"));
    el.dataset.swaps = String(swaps);
    el.dataset.playing = String(playing);
    el.dataset.draft = String(model.get("draft"));
  };

  // Ask for the full-quality morph once a draft has been the newest for rest_ms.
  function refineLater() {
    clearTimeout(refineTimer);
    if (!model.get("draft")) return;
    const version = model.get("version");
    refineTimer = setTimeout(() => {
      if (model.get("draft") && model.get("version") === version) model.send({ type: "refine", version });
    }, Math.max(model.get("rest_ms"), 0));
  }

  function ensureContext() {
    if (ctx) return ctx;
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context) { status.textContent = "this browser has no Web Audio"; return null; }
    ctx = new Context();
    master = ctx.createGain();
    master.gain.value = model.get("volume");
    master.connect(ctx.destination);
    ctx.onstatechange = () => { report(); show(); };
    return ctx;
  }

  function report() {
    model.set("context_state", ctx ? ctx.state : "none");
    model.set("swaps", swaps);
    model.save_changes();
  }

  // Start the current morph; a voice already playing fades out as it fades in, at the same
  // place in the loop (the loops all have one length).
  function startVoice() {
    if (!ensureContext() || model.get("audio").byteLength === 0) return;
    swapTo(int16ToBuffer(asView(model.get("audio")), model.get("sr"), model.get("n_channels") || 1));
    log.push({ version: model.get("version"), draft: model.get("draft"), label: model.get("label"), at: performance.now() });
    if (log.length > 40) log.shift();
    el.dataset.swapLog = JSON.stringify(log);
    el.dataset.lastInput = lastPointer.toFixed(1);
  }

  function swapTo(buffer) {
    const now = ctx.currentTime, f = fade();
    const offset = voice ? (now - voice.t0) % buffer.duration : 0;
    const source = ctx.createBufferSource();
    const gain = ctx.createGain();
    source.buffer = buffer;
    source.loop = true;
    source.connect(gain).connect(master);
    gain.gain.setValueAtTime(voice ? 0 : 1, now);
    if (voice) {
      gain.gain.linearRampToValueAtTime(1, now + f);
      voice.gain.gain.setValueAtTime(1, now);
      voice.gain.gain.linearRampToValueAtTime(0, now + f);
      voice.source.stop(now + f + 0.005);
    }
    source.start(now, offset);
    voice = { source, gain, t0: now - offset };
    swaps += 1;
    el.dataset.swaps = String(swaps);
    el.dataset.duration = buffer.duration.toFixed(4);
    el.dataset.channels = String(buffer.numberOfChannels);
  }

  function stopVoice() {
    if (!voice) return;
    const now = ctx.currentTime;
    voice.gain.gain.setValueAtTime(1, now);
    voice.gain.gain.linearRampToValueAtTime(0, now + fade());
    voice.source.stop(now + fade() + 0.005);
    voice = null;
  }

  button.addEventListener("click", async () => {
    const playing = !model.get("playing");
    if (playing && ensureContext()) await ctx.resume();
    model.set("playing", playing);
    model.save_changes();
  });
  volume.addEventListener("input", () => {
    model.set("volume", Number(volume.value));
    model.save_changes();
  });
  model.on("change:volume", () => { if (master) master.gain.setTargetAtTime(model.get("volume"), ctx.currentTime, 0.01); show(); });
  model.on("change:playing", async () => {
    if (model.get("playing")) {
      if (ensureContext()) { await ctx.resume(); if (!voice) startVoice(); }
    } else {
      stopVoice();
    }
    report(); show();
  });
  model.on("change:audio", () => {
    // an exact morph that arrives while the hand drags the path again would pull the sound back
    if (model.get("playing") && ctx && !paths.dragging()) startVoice();
    refineLater();
    report(); show();
  });
  const paths = pathOf({ model, el, play: (buffer) => {
    if (!model.get("playing") || !ctx || ctx.state !== "running") return false;
    swapTo(buffer);
    return true;
  } });
  model.on("change:path_key", paths.offered);
  model.on("msg:custom", (msg, buffers) => { if (msg && msg.type === "steps") paths.received(msg, buffers || []); });
  const channel = model.get("channel");
  if (channel) players.set(channel, paths);
  model.on("change:version", show);
  model.on("change:label", show);
  if (model.get("playing")) {  // a page reload, or autoplay where the browser allows it
    ensureContext();
    ctx?.resume().then(() => { if (!voice) startVoice(); report(); show(); });
  }
  show();
  refineLater();
  paths.offered();
  return () => {
    clearTimeout(refineTimer); stopVoice(); ctx?.close();
    if (players.get(channel) === paths) players.delete(channel);
    paths.drop();
  };
}

export default { render };
