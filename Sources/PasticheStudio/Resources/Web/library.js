// The style library: loading it, the tag filter, the gallery, the gallery/map tabs, selecting a style.

import { json } from "./api.js";
import { $, setStatus } from "./dom.js";
import { state } from "./state.js";
import { showDetail } from "./detail.js";
import { loadMap } from "./map.js";
import { renderMix } from "./mixer.js";
import { schedulePreview } from "./preview.js";

export async function loadStyles() {
  const list = await json("GET", "/api/styles");
  state.styles = list.styles;
  for (const name of [...state.mix.keys()]) {
    if (!state.styles.some((s) => s.name === name)) { state.mix.delete(name); state.masks.delete(name); }
  }
  if (list.damaged.length) setStatus(`${list.damaged.length} damaged record(s) left out; run \`pastiche embed salvage\``, true);
  renderTagFilter();
  renderGallery();
  renderMix();
  await loadMap();
}

function renderTagFilter() {
  const select = $("tag-filter");
  const current = select.value;
  const tags = [...new Set(state.styles.flatMap((s) => s.tags))].sort();
  select.replaceChildren(new Option("All tags", ""), ...tags.map((t) => new Option(t, t)));
  select.value = tags.includes(current) ? current : "";
}

function visibleStyles() {
  const text = $("filter").value.trim().toLowerCase();
  const tag = $("tag-filter").value;
  return state.styles.filter((s) =>
    (!tag || s.tags.includes(tag)) &&
    (!text || s.name.toLowerCase().includes(text) || s.tags.some((t) => t.toLowerCase().includes(text))));
}

export function renderGallery() {
  const cards = visibleStyles().map((s) => {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.name = s.name;
    card.title = s.blend ? `${s.name} (blend)` : `${s.name} (${s.width}×${s.height})`;
    card.classList.toggle("in-mix", state.mix.has(s.name));
    card.classList.toggle("focused", state.focused === s.name);
    let picture;
    if (s.thumbnail) {
      picture = document.createElement("img");
      picture.src = s.thumbnail;
      picture.alt = s.name;
      picture.loading = "lazy";
    } else {
      picture = document.createElement("div");
      picture.className = "swatch";
      picture.textContent = s.blend ? "⊕" : s.name.slice(0, 1).toUpperCase();
    }
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = s.name;
    const tags = document.createElement("div");
    tags.className = "tags";
    tags.textContent = s.tags.join(", ");
    card.append(picture, name, tags);
    card.addEventListener("click", () => selectStyle(s.name));
    return card;
  });
  $("gallery").replaceChildren(...cards);
}

export function showTab(map) {
  $("gallery").hidden = map;
  $("map-panel").hidden = !map;
  $("show-gallery").setAttribute("aria-selected", String(!map));
  $("show-map").setAttribute("aria-selected", String(map));
}

// Clicking a style shows it (with its nearest styles) and puts it in the mix.
export async function selectStyle(name) {
  state.focused = name;
  if (!state.mix.has(name)) state.mix.set(name, 50);
  renderGallery();
  renderMix();
  await Promise.all([loadMap(), showDetail(name)]);
  schedulePreview();
}
