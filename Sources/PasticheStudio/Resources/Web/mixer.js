// The mixer: the styles in the mix with their weights and masks, and saving the mix as a blend.

import { json } from "./api.js";
import { $, setStatus } from "./dom.js";
import { state } from "./state.js";
import { loadStyles, renderGallery } from "./library.js";
import { loadMap } from "./map.js";
import { schedulePreview } from "./preview.js";

export function mixComponents() {
  return [...state.mix.entries()].map(([name, weight]) => ({ name, weight: weight / 100 }));
}

// Masks are used once every style in the mix has one (a style per region); then the weights
// are not (the masks set the mix per pixel).
export function masksInUse() {
  const names = [...state.mix.keys()];
  return names.length > 0 && names.every((n) => state.masks.has(n));
}

export function renderMix() {
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

export async function saveBlend() {
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
