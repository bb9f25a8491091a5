// morphlib's live loop player: plays the morph as an endless loop with the Web Audio API.
// A new morph takes over where the old one is in the loop, with a short crossfade: the
// loop never restarts, never clicks, and there is only ever one player.
// A draft (a quick morph sent while a control moves) that has played for rest_ms with
// nothing newer arriving means the hand rests: the player then asks the kernel for the
// full-quality morph, which the kernel renders and sends while it handles that request.
// The page can read the player's state off its element: data-state (the AudioContext's),
// data-version (the morph playing), data-swaps, data-duration (s), data-draft,
// data-last-input (when the user last moved something on the page, performance.now() ms)
// and data-swap-log (JSON: the last morphs started, each with version, draft, label and
// when it started), from which a test reads the time from a move to its sound.

function int16ToBuffer(ctx, view, sr) {
  const n = view.byteLength >> 1;
  const buffer = ctx.createBuffer(1, Math.max(n, 1), sr);
  const data = buffer.getChannelData(0);
  for (let i = 0; i < n; i++) data[i] = view.getInt16(2 * i, true) / 32768;
  return buffer;
}

let lastPointer = 0;  // when the user last moved something, for the latency readout
for (const kind of ["pointermove", "pointerdown", "keydown", "input"]) {
  globalThis.addEventListener?.(kind, () => { lastPointer = performance.now(); }, true);
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
    const buffer = int16ToBuffer(ctx, model.get("audio"), model.get("sr"));
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
    el.dataset.duration = buffer.duration.toFixed(4);
    log.push({ version: model.get("version"), draft: model.get("draft"), label: model.get("label"), at: performance.now() });
    if (log.length > 40) log.shift();
    el.dataset.swapLog = JSON.stringify(log);
    el.dataset.lastInput = lastPointer.toFixed(1);
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
    if (model.get("playing") && ctx) startVoice();
    refineLater();
    report(); show();
  });
  model.on("change:version", show);
  model.on("change:label", show);
  if (model.get("playing")) {  // a page reload, or autoplay where the browser allows it
    ensureContext();
    ctx?.resume().then(() => { if (!voice) startVoice(); report(); show(); });
  }
  show();
  refineLater();
  return () => { clearTimeout(refineTimer); stopVoice(); ctx?.close(); };
}

export default { render };
