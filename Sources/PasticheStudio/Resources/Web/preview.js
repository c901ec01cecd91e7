// The photo and the live preview: upload, then debounced renders where the newest settings win.

import { api, json } from "./api.js";
import { $, setStatus } from "./dom.js";
import { state } from "./state.js";
import { mixIsRenderable, renderRequest } from "./render.js";

const PREVIEW_SIZE = 512;
const DEBOUNCE_MS = 30;

export async function setPhoto(file) {
  if (!file) return;
  setStatus(`uploading ${file.name}…`);
  try {
    state.photo = await json("POST", "/api/photos", file);
    setStatus(`photo ${file.name}: ${state.photo.width}×${state.photo.height}`);
    $("preview-hint").hidden = state.mix.size > 0;
    schedulePreview(true);
  } catch (e) { setStatus(e.message, true); }
}

let debounceTimer = null;

// Debounced, one request in flight, the newest settings win: a response for an older
// sequence number than the one on screen is dropped.
export function schedulePreview(now = false) {
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
