// Pastiche Studio: the page over the HTTP API (docs/studio.md). Plain JavaScript ES modules,
// loaded by the browser as they are: no build step, nothing fetched from elsewhere.
// This is the entry module: it wires the page's controls to the feature modules and starts.

import { state } from "./state.js";  // first: sets up window.studio, which the others count in
import { $, dropZone, setStatus } from "./dom.js";
import { loadStyles, renderGallery, showTab } from "./library.js";
import { addStyles } from "./upload.js";
import { saveBlend } from "./mixer.js";
import { schedulePreview, setPhoto } from "./preview.js";
import { interpolationStrip, renderFullSize, strokeScale } from "./render.js";

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

// Modules run deferred, like the old `defer` script: the page is parsed by now.
start();
