// The style detail panel: a style's facts, rename, tags, delete, and its nearest styles.

import { json, styleURL } from "./api.js";
import { $, setStatus } from "./dom.js";
import { state } from "./state.js";
import { loadStyles, selectStyle } from "./library.js";
import { schedulePreview } from "./preview.js";

export async function showDetail(name) {
  const panel = $("detail");
  let style, nearest;
  try {
    [style, { nearest }] = await Promise.all([
      json("GET", styleURL(name)),
      json("GET", `${styleURL(name)}/nearest?k=5`),
    ]);
  } catch (e) { setStatus(e.message, true); return; }
  const head = document.createElement("p");
  head.innerHTML = "";
  const strong = document.createElement("strong");
  strong.textContent = style.name;
  head.append(strong, document.createTextNode(style.blend
    ? ` — blend of ${style.recipe.map((c) => `${c.name} ${c.weight.toFixed(2)}`).join(", ")}`
    : ` — ${style.width}×${style.height}, from ${style.source}`));

  const rename = field("Rename", "rename-input", style.name, "Rename", async (value) => {
    const updated = await json("PATCH", styleURL(name), { name: value });
    if (state.mix.has(name)) { state.mix.set(updated.name, state.mix.get(name)); state.mix.delete(name); }
    if (state.masks.has(name)) { state.masks.set(updated.name, state.masks.get(name)); state.masks.delete(name); }
    state.focused = updated.name;
    setStatus(`renamed ${name} to ${updated.name}`);
    await loadStyles();
    await showDetail(updated.name);
  });
  const tags = field("Tags", "tags-input", style.tags.join(", "), "Set tags", async (value) => {
    const list = value.split(",").map((t) => t.trim()).filter(Boolean);
    await json("PATCH", styleURL(name), { tags: list });
    setStatus(`tags of ${name}: ${list.join(", ") || "none"}`);
    await loadStyles();
  });

  const del = document.createElement("button");
  del.id = "delete-style";
  del.className = "danger";
  del.textContent = "Delete";
  del.addEventListener("click", async () => {
    if (del.dataset.armed !== "1") { del.dataset.armed = "1"; del.textContent = "Really delete?"; return; }
    try {
      await json("DELETE", styleURL(name));
      state.mix.delete(name);
      state.masks.delete(name);
      state.focused = null;
      panel.textContent = "Click a style to see it here.";
      setStatus(`deleted ${name}`);
      await loadStyles();
      schedulePreview();
    } catch (e) { setStatus(e.message, true); }
  });

  const near = document.createElement("ol");
  near.id = "nearest";
  for (const n of nearest) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.textContent = n.name;
    a.addEventListener("click", () => selectStyle(n.name));
    li.append(a, document.createTextNode(` (${n.distance.toFixed(3)})`));
    near.append(li);
  }
  const nearHead = document.createElement("div");
  nearHead.textContent = nearest.length ? "Nearest styles:" : "No other styles yet.";
  panel.replaceChildren(head, rename, tags, del, nearHead, near);
}

function field(label, id, value, buttonText, action) {
  const div = document.createElement("div");
  div.className = "field";
  const input = document.createElement("input");
  input.id = id;
  input.value = value;
  input.setAttribute("aria-label", label);
  const button = document.createElement("button");
  button.className = "secondary";
  button.textContent = buttonText;
  button.addEventListener("click", async () => {
    try { await action(input.value.trim()); } catch (e) { setStatus(e.message, true); }
  });
  div.append(input, button);
  return div;
}
