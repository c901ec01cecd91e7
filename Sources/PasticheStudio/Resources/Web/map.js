// The style map: the embeddings' principal components as an SVG scatter of clickable points.

import { json } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./state.js";
import { selectStyle } from "./library.js";

export async function loadMap() {
  const { points } = await json("GET", "/api/map");
  const svg = $("map");
  const ns = "http://www.w3.org/2000/svg";
  const span = Math.max(1e-9, ...points.flatMap((p) => [Math.abs(p.x), Math.abs(p.y)]));
  const nodes = points.map((p) => {
    const g = document.createElementNS(ns, "g");
    const x = p.x / span, y = -p.y / span;
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", x.toFixed(4));
    c.setAttribute("cy", y.toFixed(4));
    c.setAttribute("r", "0.045");
    c.dataset.name = p.name;
    c.classList.toggle("in-mix", state.mix.has(p.name));
    c.classList.toggle("focused", state.focused === p.name);
    const title = document.createElementNS(ns, "title");
    title.textContent = p.name;
    c.append(title);
    c.addEventListener("click", () => selectStyle(p.name));
    const label = document.createElementNS(ns, "text");
    // Labels sit on the side of the point towards the middle, so none runs off the map.
    if (x > 0) label.setAttribute("text-anchor", "end");
    label.setAttribute("x", (x > 0 ? x - 0.06 : x + 0.06).toFixed(4));
    label.setAttribute("y", (y + 0.02).toFixed(4));
    label.textContent = p.name;
    g.append(c, label);
    return g;
  });
  svg.replaceChildren(...nodes);
}
