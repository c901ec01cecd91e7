// Adding styles: uploading dropped or chosen images to the library, with progress.

import { json } from "./api.js";
import { $, setStatus } from "./dom.js";
import { loadStyles } from "./library.js";

export async function addStyles(files) {
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
