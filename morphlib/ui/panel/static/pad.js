// morphlib's XY pad: four loops at the corners of a square, one point dragged with the
// mouse (or moved with the arrow keys). Corners a, b, c, d sit at (x, y) = (0, 0), (1, 0),
// (0, 1), (1, 1): a bottom left, d top right. While the point is dragged and the live player
// of the same channel holds the pad's grid, each move goes to that player (it plays the
// nearest grid point at once) and nothing is sent to the kernel; the point is sent where the
// hand lets go. Without such a player every move sets x and y, and the kernel renders the
// latest point only.

const playerOf = (model) => globalThis.__morphlibPlayers?.get(model.get("channel"));
// What the controls of a channel show, for its save button (save.js).
const shownOf = (model) => {
  const all = (globalThis.__morphlibShown ??= new Map());
  if (!all.has(model.get("channel"))) all.set(model.get("channel"), {});
  return all.get(model.get("channel"));
};

function render({ model, el }) {
  el.classList.add("morphlib-pad");
  el.tabIndex = 0;
  const square = Object.assign(document.createElement("div"), { className: "morphlib-pad-square" });
  const dot = Object.assign(document.createElement("div"), { className: "morphlib-pad-dot" });
  const corners = [0, 1, 2, 3].map((k) => Object.assign(document.createElement("span"), { className: `morphlib-pad-corner morphlib-pad-corner-${k}` }));
  const readout = Object.assign(document.createElement("div"), { className: "morphlib-pad-readout" });
  square.append(...corners, dot);
  el.append(square, readout);

  const show = () => showAt(model.get("x"), model.get("y"));
  const showAt = (x, y) => {
    dot.style.left = `${100 * x}%`;
    dot.style.top = `${100 * (1 - y)}%`;
    model.get("corners").forEach((name, k) => { corners[k].textContent = `${"abcd"[k]}: ${name}`; });
    readout.textContent = `x ${x.toFixed(2)}   y ${y.toFixed(2)}`;
    el.dataset.x = x.toFixed(3);
    el.dataset.y = y.toFixed(3);
    shownOf(model).xy = [x, y];
  };

  const clamp = (v) => Math.min(1, Math.max(0, v));
  let held = null;  // where the point is while a drag plays the grid in the page: [x, y]
  const moveTo = (x, y) => {
    held = null;
    model.set("x", clamp(x));
    model.set("y", clamp(y));
    model.save_changes();
    show();
  };
  const fromEvent = (event) => {
    const box = square.getBoundingClientRect();
    const x = clamp((event.clientX - box.left) / box.width), y = clamp(1 - (event.clientY - box.top) / box.height);
    const player = playerOf(model);
    if (!player || !player.covers("xy")) {
      player?.hold();
      return moveTo(x, y);
    }
    held = [x, y];
    player.hear("xy", held, event.timeStamp);
    showAt(x, y);
  };
  const letGo = (event) => {
    if (!square.hasPointerCapture(event.pointerId)) return;
    square.releasePointerCapture(event.pointerId);
    playerOf(model)?.settle();
    if (held) moveTo(...held);
  };
  square.addEventListener("pointerdown", (event) => {
    square.setPointerCapture(event.pointerId);
    el.focus();
    fromEvent(event);
  });
  // pointerrawupdate (Chromium) comes with each move of the mouse, pointermove once a frame:
  // the path in the page can follow the hand a frame sooner
  const moveEvent = "onpointerrawupdate" in square ? "pointerrawupdate" : "pointermove";
  square.addEventListener(moveEvent, (event) => {
    if (square.hasPointerCapture(event.pointerId)) fromEvent(event);
  });
  square.addEventListener("pointerup", letGo);
  square.addEventListener("pointercancel", letGo);
  el.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 0.1 : 0.02;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    moveTo(model.get("x") + move[0], model.get("y") + move[1]);
  });
  model.on("change:x", show);
  model.on("change:y", show);
  model.on("change:corners", show);
  show();
}

export default { render };
