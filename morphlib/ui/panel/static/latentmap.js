// morphlib's latent map: every loop at its place in the first two principal components of
// the latent means. Hover a dot for its name; click one to make it sound A or B (or a
// corner of the pad). The chosen sounds are ringed and labelled, the path between them is
// drawn, and a cross marks the point being heard.

const NS = "http://www.w3.org/2000/svg";
const make = (tag, attrs = {}) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

function render({ model, el }) {
  el.classList.add("morphlib-map");
  const W = 360, H = 300, PAD = 28;
  const svg = make("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const caption = Object.assign(document.createElement("div"), { className: "morphlib-map-caption" });
  el.append(svg, caption);
  const px = ([x, y]) => [PAD + x * (W - 2 * PAD), H - PAD - y * (H - 2 * PAD)];

  function draw() {
    svg.replaceChildren();
    const points = model.get("points"), names = model.get("names"), marks = model.get("marks");
    svg.append(make("rect", { x: PAD, y: PAD, width: W - 2 * PAD, height: H - 2 * PAD, class: "morphlib-map-frame" }));
    const xl = make("text", { x: W / 2, y: H - 6, class: "morphlib-map-axis" });
    xl.textContent = model.get("x_label");
    const yl = make("text", { x: 12, y: H / 2, class: "morphlib-map-axis", transform: `rotate(-90 12 ${H / 2})` });
    yl.textContent = model.get("y_label");
    svg.append(xl, yl);
    const path = model.get("path");
    if (path.length > 1) {
      svg.append(make("polyline", { points: path.map((p) => px(p).join(",")).join(" "), class: "morphlib-map-path" }));
    }
    const marked = new Map(Object.entries(marks).map(([label, i]) => [i, label]));
    points.forEach((p, i) => {
      const [cx, cy] = px(p);
      const dot = make("circle", { cx, cy, r: marked.has(i) ? 6 : 4, class: marked.has(i) ? "morphlib-map-dot marked" : "morphlib-map-dot", "data-index": i });
      const title = make("title");
      title.textContent = `${i}: ${names[i]}`;
      dot.append(title);
      dot.addEventListener("click", () => model.send({ type: "pick", index: i }));
      svg.append(dot);
      if (marked.has(i) || (model.get("show_names") && points.length <= 12)) {
        const right = p[0] > 0.6;  // labels of loops on the right run leftwards, inside the map
        const label = make("text", { x: right ? cx - 8 : cx + 8, y: cy - 6, "text-anchor": right ? "end" : "start",
                                     class: marked.has(i) ? "morphlib-map-label marked" : "morphlib-map-label" });
        label.textContent = marked.has(i) ? `${marked.get(i)}: ${names[i]}` : names[i];
        svg.append(label);
      }
    });
    const current = model.get("current");
    if (current.length === 2) {
      const [cx, cy] = px(current);
      svg.append(make("path", { d: `M${cx - 7},${cy} h14 M${cx},${cy - 7} v14`, class: "morphlib-map-current" }));
    }
    caption.textContent = model.get("caption");
    el.dataset.current = current.map((v) => v.toFixed(3)).join(",");
  }
  for (const name of ["points", "names", "marks", "path", "current", "caption"]) model.on(`change:${name}`, draw);
  draw();
}

export default { render };
