// A morph's α path as an instrument, in one page: every step decoded once, the step nearest the
// slider looping; a move swaps to another step where the loop is, with a short crossfade.
// Its state is in the root element's data attributes (state, index, swaps) for tests.
(() => {
  const root = document.querySelector(".morphlib-morph");
  const path = JSON.parse(document.getElementById("morphlib-path").textContent);
  const button = root.querySelector(".play");
  const slider = root.querySelector("input");
  const readout = root.querySelector("output");
  root.querySelector(".a").textContent = "A: " + path.a;  // names as text, never as markup
  root.querySelector(".b").textContent = "B: " + path.b;
  const FADE = 0.02;  // seconds of crossfade when the step changes
  let ctx = null, buffers = null, current = null, started = 0, index = -1;

  const nearest = () => Math.round(Number(slider.value) * (path.steps.length - 1));

  function bytes(b64) {
    const raw = atob(b64), out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  async function decodeAll() {
    ctx = new AudioContext();
    buffers = await Promise.all(path.steps.map(s => ctx.decodeAudioData(bytes(s.wav))));
  }

  function play(i) {
    const now = ctx.currentTime, buffer = buffers[i];
    const offset = current ? (now - started) % buffer.duration : 0;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(current ? 0 : 1, now);
    if (current) gain.gain.linearRampToValueAtTime(1, now + FADE);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.loop = true;
    source.connect(gain).connect(ctx.destination);
    source.start(now, offset);
    if (current) {
      const old = current;
      old.gain.gain.setValueAtTime(1, now);
      old.gain.gain.linearRampToValueAtTime(0, now + FADE);
      old.source.stop(now + FADE);
      root.dataset.swaps = Number(root.dataset.swaps) + 1;
    } else {
      started = now;
    }
    current = {source, gain};
    index = i;
    root.dataset.index = i;
  }

  slider.addEventListener("input", () => {
    readout.textContent = Number(slider.value).toFixed(2);
    if (current && nearest() !== index) play(nearest());
  });

  button.addEventListener("click", async () => {
    if (current) {
      current.source.stop();
      current = null;
      root.dataset.state = "idle";
      button.textContent = "▶ play";
      return;
    }
    if (!buffers) await decodeAll();
    await ctx.resume();
    play(nearest());
    root.dataset.state = "playing";
    button.textContent = "■ stop";
  });

  button.disabled = false;
  button.textContent = "▶ play";
  if (!window.AudioContext) {
    button.disabled = true;
    button.textContent = "this browser has no Web Audio";
  }
})();
