// morphlib's save button. A click asks the kernel to save the morph of the α (or the pad's
// point) this page shows, and carries that value: the page holds a control's newer values
// back until the kernel has handled its last one, while a click goes at once, so a click
// just after a key press on α would reach the kernel before the press and save the morph
// of the value before it. The controls of the same channel keep what they show in
// globalThis.__morphlibShown (see alpha.js, pad.js); the kernel moves there, then saves.

function render({ model, el }) {
  el.classList.add("morphlib-save");
  const button = Object.assign(document.createElement("button"), {
    className: "jupyter-widgets jupyter-button widget-button morphlib-save-button",
  });
  const icon = Object.assign(document.createElement("i"), { className: "fa fa-save" });
  const text = document.createElement("span");
  button.append(icon, text);
  el.append(button);

  const show = () => {
    text.textContent = model.get("description");
    button.title = model.get("tooltip");
  };
  button.addEventListener("click", () => {
    const shown = globalThis.__morphlibShown?.get(model.get("channel")) ?? {};
    model.send({ event: "click", ...shown });
  });
  model.on("change:description", show);
  model.on("change:tooltip", show);
  show();
}

export default { render };
