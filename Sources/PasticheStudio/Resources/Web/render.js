// Render requests from the page's settings, and the renders built on them: full size and the interpolation strip.

import { api, json } from "./api.js";
import { $, setStatus } from "./dom.js";
import { state } from "./state.js";
import { masksInUse, mixComponents, renderMix } from "./mixer.js";
import { schedulePreview } from "./preview.js";

// The slider is log2 of the stroke scale in hundredths: -200…200 is 0.25×…4×.
export function strokeScale() {
  return Math.pow(2, Number($("stroke-scale").value) / 100);
}

export function renderRequest(extra) {
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

export function mixIsRenderable() {
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

export async function renderFullSize() {
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

export async function interpolationStrip() {
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
