// Pastiche Studio: the page over the HTTP API (docs/studio.md). Plain JavaScript, no build
// step, nothing fetched from elsewhere.
"use strict";

const PREVIEW_SIZE = 512;
const DEBOUNCE_MS = 30;

const state = {
  styles: [],           // from GET /api/styles
  mix: new Map(),       // name -> weight slider value (0..100), in insertion order
  masks: new Map(),     // name -> {photo, file}: an uploaded mask for that style
  focused: null,        // the style shown in the detail panel
  photo: null,          // {photo, width, height}
  previewSeq: 0,        // sequence number of the newest preview asked for
  shownSeq: 0,          // sequence number of the preview on screen
  inFlight: false,
  pendingSince: null,   // time of the first input not yet covered by a request
};

// What the browser tests read: slider-to-image latencies and counters.
window.studio = { latencies: [], previews: 0, dropped: 0, errors: 0, state };

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", isError);
  if (isError) window.studio.errors++;
}

async function api(method, path, body, headers = {}) {
  const options = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      options.body = body;
      options.headers["Content-Type"] = options.headers["Content-Type"] || "application/octet-stream";
    } else {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

const json = async (method, path, body) => (await api(method, path, body)).json();
const styleURL = (name) => `/api/styles/${encodeURIComponent(name)}`;

// ---------------------------------------------------------------- gallery and map

async function loadStyles() {
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

function renderGallery() {
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

async function loadMap() {
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

function showTab(map) {
  $("gallery").hidden = map;
  $("map-panel").hidden = !map;
  $("show-gallery").setAttribute("aria-selected", String(!map));
  $("show-map").setAttribute("aria-selected", String(map));
}

// Clicking a style shows it (with its nearest styles) and puts it in the mix.
async function selectStyle(name) {
  state.focused = name;
  if (!state.mix.has(name)) state.mix.set(name, 50);
  renderGallery();
  renderMix();
  await Promise.all([loadMap(), showDetail(name)]);
  schedulePreview();
}

async function showDetail(name) {
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

// ---------------------------------------------------------------- adding styles

async function addStyles(files) {
  const images = [...files].filter((f) => /^image\/(png|jpeg)$/.test(f.type) || /\.(png|jpe?g)$/i.test(f.name));
  if (!images.length) { setStatus("drop PNG or JPEG images to add styles", true); return; }
  const bar = $("add-progress");
  bar.hidden = false;
  bar.max = images.length;
  bar.value = 0;
  const lines = [];
  for (const [i, file] of images.entries()) {
    $("add-status").textContent = `embedding ${i + 1}/${images.length}: ${file.name}`;
    try {
      const r = await json("POST", `/api/styles?filename=${encodeURIComponent(file.name)}`, file);
      lines.push(r.reused ? `${file.name}: reused '${r.style.name}'` : `${file.name}: added '${r.style.name}'`);
    } catch (e) {
      lines.push(`${file.name}: ${e.message}`);
      window.studio.errors++;
    }
    bar.value = i + 1;
  }
  bar.hidden = true;
  $("add-status").textContent = lines.join("\n");
  $("add-status").style.whiteSpace = "pre-line";
  await loadStyles();
}

// ---------------------------------------------------------------- photo and preview

async function setPhoto(file) {
  if (!file) return;
  setStatus(`uploading ${file.name}…`);
  try {
    state.photo = await json("POST", "/api/photos", file);
    setStatus(`photo ${file.name}: ${state.photo.width}×${state.photo.height}`);
    $("preview-hint").hidden = state.mix.size > 0;
    schedulePreview(true);
  } catch (e) { setStatus(e.message, true); }
}

function mixComponents() {
  return [...state.mix.entries()].map(([name, weight]) => ({ name, weight: weight / 100 }));
}

// Masks are used once every style in the mix has one (a style per region); then the weights
// are not (the masks set the mix per pixel).
function masksInUse() {
  const names = [...state.mix.keys()];
  return names.length > 0 && names.every((n) => state.masks.has(n));
}

// The slider is log2 of the stroke scale in hundredths: -200…200 is 0.25×…4×.
function strokeScale() {
  return Math.pow(2, Number($("stroke-scale").value) / 100);
}

function renderRequest(extra) {
  const request = {
    photo: state.photo.photo,
    styles: mixComponents(),
    strength: Number($("strength").value) / 100,
    preserve_color: $("preserve-color").checked,
    stroke_scale: strokeScale(),
    ...extra,
  };
  if (masksInUse()) {
    request.masks = [...state.mix.keys()].map((n) => state.masks.get(n).photo);
    request.feather = Number($("feather").value);
  }
  return request;
}

function mixIsRenderable() {
  if (!state.photo || state.mix.size === 0) return false;
  if (state.masks.size > 0 && !masksInUse()) {
    setStatus("give every style in the mix a mask (or remove the masks)");
    return false;
  }
  if (!masksInUse() && mixComponents().every((c) => c.weight === 0)) {
    setStatus("all weights are zero: raise one to see a preview");
    return false;
  }
  return true;
}

let debounceTimer = null;

// Debounced, one request in flight, the newest settings win: a response for an older
// sequence number than the one on screen is dropped.
function schedulePreview(now = false) {
  if (state.pendingSince === null) state.pendingSince = performance.now();
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(sendPreview, now ? 0 : DEBOUNCE_MS);
}

async function sendPreview() {
  if (state.inFlight) return;  // the finishing request sends the newest settings
  if (!mixIsRenderable()) { state.pendingSince = null; return; }
  const seq = ++state.previewSeq;
  const since = state.pendingSince;
  state.pendingSince = null;
  state.inFlight = true;
  try {
    const response = await api("POST", "/api/render", renderRequest({ max_size: PREVIEW_SIZE, format: "jpeg" }));
    const blob = await response.blob();
    if (seq < state.shownSeq) { window.studio.dropped++; return; }
    await showPreview(blob, seq);
    window.studio.previews++;
    if (since !== null) window.studio.latencies.push(performance.now() - since);
    const timing = response.headers.get("Server-Timing");
    setStatus(timing ? `preview in ${timing.replace(/^render;dur=/, "")} ms (server)` : "preview");
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    state.inFlight = false;
    if (state.pendingSince !== null) sendPreview();
  }
}

function showPreview(blob, seq) {
  return new Promise((resolve) => {
    const img = $("preview");
    const old = img.src;
    img.onload = () => { if (old.startsWith("blob:")) URL.revokeObjectURL(old); resolve(); };
    img.onerror = () => resolve();
    state.shownSeq = seq;
    img.dataset.seq = String(seq);
    img.src = URL.createObjectURL(blob);
    img.hidden = false;
    $("preview-hint").hidden = true;
  });
}

// ---------------------------------------------------------------- mixer

function renderMix() {
  const items = [...state.mix.entries()].map(([name, weight]) => {
    const li = document.createElement("li");
    li.dataset.name = name;
    const label = document.createElement("span");
    label.className = "mix-name";
    label.textContent = name;
    const remove = document.createElement("button");
    remove.className = "secondary";
    remove.textContent = "×";
    remove.title = `remove ${name} from the mix`;
    remove.addEventListener("click", () => {
      state.mix.delete(name);
      state.masks.delete(name);
      renderMix(); renderGallery(); loadMap();
      schedulePreview();
    });
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0"; slider.max = "100"; slider.value = String(weight);
    slider.className = "weight";
    slider.setAttribute("aria-label", `weight of ${name}`);
    const out = document.createElement("output");
    out.textContent = (weight / 100).toFixed(2);
    slider.addEventListener("input", () => {
      state.mix.set(name, Number(slider.value));
      out.textContent = (Number(slider.value) / 100).toFixed(2);
      schedulePreview();
    });
    const mask = document.createElement("label");
    mask.className = "mask-pick small";
    const maskFile = document.createElement("input");
    maskFile.type = "file";
    maskFile.accept = "image/png,image/jpeg";
    maskFile.setAttribute("aria-label", `mask for ${name}`);
    maskFile.addEventListener("change", () => setMask(name, maskFile.files[0]));
    const maskName = document.createElement("span");
    maskName.className = "mask-name";
    maskName.textContent = state.masks.has(name) ? `mask: ${state.masks.get(name).file}` : "mask…";
    mask.append(maskName, maskFile);
    li.append(label, remove, slider, out, mask);
    if (state.masks.has(name)) {
      const clear = document.createElement("button");
      clear.className = "secondary clear-mask";
      clear.textContent = "no mask";
      clear.addEventListener("click", () => { state.masks.delete(name); renderMix(); schedulePreview(); });
      li.append(clear);
    }
    slider.disabled = masksInUse();
    return li;
  });
  $("mix").replaceChildren(...items);
  $("mask-controls").hidden = state.masks.size === 0;
}

// A mask is an image like a photo: uploaded to the photo cache, then named by its id.
async function setMask(name, file) {
  if (!file) return;
  setStatus(`uploading mask ${file.name}…`);
  try {
    const uploaded = await json("POST", "/api/photos", file);
    state.masks.set(name, { photo: uploaded.photo, file: file.name });
    renderMix();
    setStatus(`mask ${file.name} for ${name}`);
    schedulePreview(true);
  } catch (e) { setStatus(e.message, true); }
}

// ---------------------------------------------------------------- full size, blends, strip

async function renderFullSize() {
  if (!mixIsRenderable()) { setStatus("choose a photo and at least one style first", true); return; }
  const bar = $("render-progress");
  const link = $("download");
  link.hidden = true;
  bar.hidden = false;
  bar.value = 0;
  try {
    let job = await json("POST", "/api/jobs", renderRequest({ format: "png" }));
    while (job.state === "queued" || job.state === "running") {
      bar.value = job.progress;
      setStatus(`rendering ${state.photo.width}×${state.photo.height}: ${Math.round(job.progress * 100)}%`);
      await new Promise((r) => setTimeout(r, 150));
      job = await json("GET", `/api/jobs/${job.job}`);
    }
    if (job.state !== "done") throw new Error(job.error || `render ${job.state}`);
    bar.value = 1;
    link.href = job.result;
    link.download = `pastiche-${[...state.mix.keys()].join("+")}.png`;
    link.hidden = false;
    setStatus("full-size render ready");
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    bar.hidden = true;
  }
}

async function saveBlend() {
  const name = $("blend-name").value.trim();
  if (!name) { setStatus("give the blend a name", true); return; }
  if (state.mix.size === 0) { setStatus("put styles in the mix first", true); return; }
  try {
    const body = { name, styles: mixComponents() };
    if (state.photo) body.photo = state.photo.photo;
    const style = await json("POST", "/api/blends", body);
    setStatus(`saved blend '${style.name}'`);
    $("blend-name").value = "";
    await loadStyles();
  } catch (e) { setStatus(e.message, true); }
}

async function interpolationStrip() {
  const names = [...state.mix.keys()];
  if (names.length !== 2 || !state.photo) { setStatus("put exactly two styles in the mix, and choose a photo", true); return; }
  const strip = $("strip");
  strip.replaceChildren();
  const steps = 5;
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    try {
      const response = await api("POST", "/api/render", renderRequest({
        styles: [{ name: names[0], weight: 1 - t }, { name: names[1], weight: t }],
        max_size: 160, format: "jpeg",
      }));
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = URL.createObjectURL(await response.blob());
      img.alt = `t = ${t.toFixed(2)}`;
      const caption = document.createElement("figcaption");
      caption.textContent = `${names[0]} ${(1 - t).toFixed(2)} · ${names[1]} ${t.toFixed(2)}`;
      figure.append(img, caption);
      figure.addEventListener("click", () => {
        state.mix.set(names[0], Math.round((1 - t) * 100));
        state.mix.set(names[1], Math.round(t * 100));
        renderMix();
        schedulePreview(true);
      });
      strip.append(figure);
    } catch (e) { setStatus(e.message, true); return; }
  }
}

// ---------------------------------------------------------------- wiring

function dropZone(zone, onFiles) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) onFiles(e.dataTransfer.files);
  });
}

function start() {
  // The token travelled in the URL once; the server has set its cookie, so hide it.
  if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname);

  $("filter").addEventListener("input", renderGallery);
  $("tag-filter").addEventListener("change", renderGallery);
  $("show-gallery").addEventListener("click", () => showTab(false));
  $("show-map").addEventListener("click", () => showTab(true));
  $("add-files").addEventListener("change", (e) => { addStyles(e.target.files); e.target.value = ""; });
  dropZone($("add-zone"), addStyles);
  $("photo-file").addEventListener("change", (e) => setPhoto(e.target.files[0]));
  dropZone($("photo-zone"), (files) => setPhoto(files[0]));
  dropZone($("preview-box"), (files) => setPhoto(files[0]));
  $("feather").addEventListener("input", () => {
    $("feather-value").textContent = `${$("feather").value} px`;
    schedulePreview();
  });
  $("strength").addEventListener("input", () => {
    $("strength-value").textContent = (Number($("strength").value) / 100).toFixed(2);
    schedulePreview();
  });
  $("stroke-scale").addEventListener("input", () => {
    $("stroke-scale-value").textContent = `${strokeScale().toFixed(2)}×`;
    schedulePreview();
  });
  $("preserve-color").addEventListener("change", () => schedulePreview(true));
  $("render-full").addEventListener("click", renderFullSize);
  $("save-blend").addEventListener("click", saveBlend);
  $("interpolate").addEventListener("click", interpolationStrip);
  loadStyles().then(() => setStatus(`${state.styles.length} styles`), (e) => setStatus(e.message, true));
}

start();
