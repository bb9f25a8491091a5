// morphlib's α slider: α from 0 (sound A) to 1 (sound B). While the hand drags, each move goes
// to the live player of the same channel when it holds the α path: it plays the nearest
// step at once and nothing is sent to the kernel. Where the hand stops (the range input's
// "change": a release, or a key press) the value is sent, and the kernel renders the exact
// morph. Without such a player every move is sent, as a plain slider's is (the front end
// sends only the newest value once the kernel has handled the last).

const playerOf = (model) => globalThis.__morphlibPlayers?.get(model.get("channel"));
// What the controls of a channel show, for its save button (save.js).
const shownOf = (model) => {
  const all = (globalThis.__morphlibShown ??= new Map());
  if (!all.has(model.get("channel"))) all.set(model.get("channel"), {});
  return all.get(model.get("channel"));
};

function render({ model, el }) {
  el.classList.add("morphlib-alpha");
  const label = Object.assign(document.createElement("label"), { className: "morphlib-alpha-label" });
  const input = Object.assign(document.createElement("input"), { type: "range", min: 0, max: 1 });
  const readout = Object.assign(document.createElement("output"), { className: "morphlib-alpha-readout" });
  el.append(label, input, readout);

  const show = (value = model.get("value")) => {
    label.textContent = model.get("description");
    input.step = String(model.get("step"));
    if (Number(input.value) !== value && document.activeElement !== input) input.value = String(value);
    readout.textContent = Number(value).toFixed(2);
    shownOf(model).alpha = Number(value);
    el.dataset.value = Number(value).toFixed(3);
  };
  const send = () => {
    model.set("value", Number(input.value));
    model.save_changes();
  };

  input.addEventListener("input", (event) => {
    const value = Number(input.value);
    show(value);
    const player = playerOf(model);
    if (player && player.covers("ab")) return player.hear("ab", [value], event.timeStamp);
    player?.hold();
    send();
  });
  // Keys handled here (each press sends its value): a notebook's own shortcuts cannot take them.
  input.addEventListener("keydown", (event) => {
    const step = Number(model.get("step")) * (event.shiftKey ? 10 : 1);
    const moves = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -0.1, PageUp: 0.1 };
    const ends = { Home: 0, End: 1 };
    if (!(event.key in moves) && !(event.key in ends)) return;
    event.preventDefault();
    event.stopPropagation();
    const value = event.key in ends ? ends[event.key] : Number(input.value) + moves[event.key];
    input.value = String(Math.min(1, Math.max(0, Math.round(value / Number(model.get("step"))) * Number(model.get("step")))));
    show(Number(input.value));
    send();
  });
  input.addEventListener("change", () => {
    playerOf(model)?.settle();
    send();
  });
  model.on("change:value", () => { if (Number(input.value) !== model.get("value")) input.value = String(model.get("value")); show(); });
  model.on("change:description", () => show());
  input.value = String(model.get("value"));
  show();
}

export default { render };
