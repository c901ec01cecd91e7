#!/usr/bin/env python3
"""Drives Pastiche Studio in headless Chromium (Selenium + Debian's chromium-driver): the
gallery shows the library, a style is uploaded, a photo is dropped, moving a weight slider
changes the preview (and the newest settings win), save-blend adds a gallery entry, the map
has one point per style, a full-size render downloads, a big photo's full-size render shrunk
to the preview's size agrees with the preview (SSIM, scikit-image) and the stroke-scale slider
changes the preview, and rename/tag/delete reach the CLI.
Prints a JSON summary with the slider-to-image latencies the page measured.

    python3 Tests/studio/browser_test.py --binary .build/release/pastiche [--screenshot docs/images/studio.png]
"""
import argparse
import base64
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from io import BytesIO

import numpy as np
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STYLES = ["styles/s01_vangogh_starry_night.jpg", "styles/s03_hokusai_great_wave.png",
          "styles/s04_kandinsky_composition_viii.png"]
PHOTO = "docs/images/summer_palace.jpg"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, file=sys.stderr)
    if not condition:
        failures.append(what)


def cli(binary, *args, library):
    r = subprocess.run([binary, *args, "--library", library], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"pastiche {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def library_names(binary, library):
    return sorted(s["name"] for s in json.loads(cli(binary, "embed", "list", "--json", library=library)))


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def grey_png(path, width, height, value):
    """An 8-bit grey PNG, value(x, y) in 0..255 (zlib + struct: no imaging library needed)."""
    import zlib
    rows = b"".join(b"\x00" + bytes(value(x, y) for x in range(width)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def preview_equals_render(driver, request):
    """Whether the preview on screen has exactly the pixels of a fresh /api/render of `request`
    (a JavaScript object expression over `s`, the page's state). The page's CSP keeps fetch()
    off blob: URLs, so this compares decoded pixels, not bytes."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const pixels = (img) => {
          const c = document.createElement("canvas");
          c.width = img.naturalWidth; c.height = img.naturalHeight;
          const g = c.getContext("2d"); g.drawImage(img, 0, 0);
          return g.getImageData(0, 0, c.width, c.height).data;
        };
        (async () => {
          const s = window.studio.state;
          const shown = pixels(document.getElementById("preview"));
          const body = JSON.stringify(%s);
          const blob = await (await fetch("/api/render", { method: "POST", body,
            headers: { "Content-Type": "application/json" } })).blob();
          const img = new Image();
          img.src = URL.createObjectURL(blob);
          await img.decode();
          const fresh = pixels(img);
          done(shown.length === fresh.length && shown.every((v, i) => v === fresh[i]));
        })().catch((e) => done("error: " + e));""" % request)


def drop_photo(driver, data, name):
    """A real drop event carrying the file on the photo zone."""
    driver.execute_script("""
        const [b64, name] = arguments;
        const bin = atob(b64), bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: name.endsWith(".png") ? "image/png" : "image/jpeg" }));
        const zone = document.getElementById("photo-zone");
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    """, base64.b64encode(data).decode(), name)


def preview_pixels(driver):
    """The preview on screen, decoded by the page, as an RGB array."""
    url = driver.execute_script("""
        const img = document.getElementById("preview");
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        c.getContext("2d").drawImage(img, 0, 0);
        return c.toDataURL("image/png");""")
    return np.asarray(Image.open(BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


def start_server(binary, library):
    log = open(os.path.join(os.path.dirname(library), "serve.err"), "w")
    p = subprocess.Popen([binary, "serve", "--port", "0", "--library", library], stdout=subprocess.PIPE,
                         stderr=log, text=True)
    line = p.stdout.readline()
    if not line.startswith("Pastiche Studio: "):
        p.kill()
        raise RuntimeError(f"serve printed {line!r}")
    return p, line.split(": ", 1)[1].strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--screenshot")
    ap.add_argument("--presses", type=int, default=12, help="spaced slider moves to time")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)

    work = tempfile.mkdtemp(prefix="pastiche-studio-")
    library = os.path.join(work, "library")
    cli(binary, "embed", "add", *[os.path.join(ROOT, s) for s in STYLES[:2]], library=library)
    server, url = start_server(binary, library)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"]:
        options.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 60)
    summary = {}
    try:
        driver.get(url)
        cards = lambda: driver.find_elements(By.CSS_SELECTOR, "#gallery .card")
        wait.until(lambda d: len(cards()) == 2)
        check(sorted(c.get_attribute("data-name") for c in cards()) == library_names(binary, library),
              "the gallery shows the library")

        # Upload a style through the file picker; the CLI sees it.
        driver.find_element(By.ID, "add-files").send_keys(os.path.join(ROOT, STYLES[2]))
        wait.until(lambda d: len(cards()) == 3)
        check("s04_kandinsky_composition_viii" in library_names(binary, library), "an uploaded style is in the CLI's library")
        driver.find_element(By.ID, "add-files").send_keys(os.path.join(ROOT, STYLES[2]))
        wait.until(lambda d: "reused" in d.find_element(By.ID, "add-status").text)
        check(len(cards()) == 3, "the same image again is reused, not duplicated")

        # A CLI add shows on reload.
        cli(binary, "embed", "add", os.path.join(ROOT, "styles/s02_klimt_the_kiss.png"), library=library)
        driver.refresh()
        wait.until(lambda d: len(cards()) == 4)
        check(True, "a CLI add shows in the page on reload")

        # Drop a photo (a real drop event carrying the file).
        with open(os.path.join(ROOT, PHOTO), "rb") as f:
            drop_photo(driver, f.read(), os.path.basename(PHOTO))
        wait.until(lambda d: d.execute_script("return window.studio.state.photo !== null"))
        check(driver.execute_script("return window.studio.state.photo.width") == 640, "the dropped photo is uploaded")

        # Two styles into the mix: the preview appears.
        driver.find_element(By.CSS_SELECTOR, '.card[data-name="s01_vangogh_starry_night"]').click()
        wait.until(lambda d: d.execute_script("return window.studio.previews") >= 1)
        driver.find_element(By.CSS_SELECTOR, '.card[data-name="s03_hokusai_great_wave"]').click()
        idle = "return !window.studio.state.inFlight && window.studio.state.pendingSince === null"
        wait.until(lambda d: d.execute_script("return window.studio.previews") >= 2 and d.execute_script(idle))
        check(len(driver.find_elements(By.CSS_SELECTOR, "#mix li")) == 2, "two styles in the mix")
        preview_hash = """
            const img = document.getElementById("preview");
            const c = document.createElement("canvas");
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const g = c.getContext("2d"); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) >>> 0;
            return [c.width, c.height, h];"""
        before = driver.execute_script(preview_hash)
        check(before[0] == 512, f"the preview is 512 px on the long side ({before[0]}×{before[1]})")

        # Move a weight slider with the keyboard, spaced out: each move gives a new image.
        slider = driver.find_element(By.CSS_SELECTOR, '#mix li[data-name="s03_hokusai_great_wave"] input.weight')
        driver.execute_script("window.studio.latencies = []")
        hashes = [before[2]]
        for i in range(args.presses):
            n = driver.execute_script("return window.studio.previews")
            slider.send_keys(Keys.PAGE_UP if i % 2 == 0 else Keys.PAGE_DOWN)
            wait.until(lambda d: d.execute_script("return window.studio.previews") > n and d.execute_script(idle))
            hashes.append(driver.execute_script(preview_hash)[2])
        latencies = driver.execute_script("return window.studio.latencies")
        check(hashes[1] != hashes[0], "moving a weight slider changes the preview")
        check(len(latencies) >= args.presses, f"one timed preview per slider move ({len(latencies)})")
        summary["slider_to_image_ms"] = {"n": len(latencies), "p50": statistics.median(latencies),
                                         "max": max(latencies)}

        # A burst of moves: the newest settings win. The image on screen must be exactly what
        # the server renders for the final slider position.
        for _ in range(8):
            slider.send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda d: d.execute_script(idle))
        time.sleep(0.3)
        wait.until(lambda d: d.execute_script(idle))
        same = preview_equals_render(driver, """{ photo: s.photo.photo,
            styles: [...s.mix.entries()].map(([name, w]) => ({ name, weight: w / 100 })),
            strength: Number(document.getElementById("strength").value) / 100,
            preserve_color: document.getElementById("preserve-color").checked, max_size: 512, format: "jpeg" }""")
        check(same is True, f"after a burst of slider moves the preview shows the final settings ({same})")
        check(driver.execute_script("return window.studio.errors") == 0, "no errors on the page")

        # Save the blend: it appears in the gallery at once, with its recipe in the CLI.
        driver.find_element(By.ID, "blend-name").send_keys("sunset-mix")
        driver.find_element(By.ID, "save-blend").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '.card[data-name="sunset-mix"]'))
        shown = json.loads(cli(binary, "embed", "show", "sunset-mix", "--json", library=library))
        check([c["name"] for c in shown.get("recipe", [])] == ["s01_vangogh_starry_night", "s03_hokusai_great_wave"],
              "save-blend adds a gallery entry with its recipe")

        # Interpolation strip between the two styles in the mix.
        driver.find_element(By.ID, "interpolate").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#strip figure img")) == 5)
        check(True, "the interpolation strip has five frames")

        if args.screenshot:
            driver.save_screenshot(args.screenshot)

        # Full size with progress, then the download.
        driver.find_element(By.ID, "render-full").click()
        wait.until(lambda d: d.find_element(By.ID, "download").is_displayed())
        href = driver.find_element(By.ID, "download").get_attribute("href")
        with urllib.request.urlopen(href) as r:
            check(png_size(r.read()) == (640, 427), "the full-size render is the photo's size")

        # Masks: a mask per style in the mix (left half, right half) gives a style per region;
        # the preview is the server's masked render, the feather slider changes it, and taking
        # the masks away brings the weighted mix back.
        left = grey_png(os.path.join(work, "left.png"), 64, 40, lambda x, y: 255 if x < 32 else 0)
        right = grey_png(os.path.join(work, "right.png"), 64, 40, lambda x, y: 0 if x < 32 else 255)
        unmasked = driver.execute_script(preview_hash)
        for name, path in (("s01_vangogh_starry_night", left), ("s03_hokusai_great_wave", right)):
            n = driver.execute_script("return window.studio.previews")
            driver.find_element(By.CSS_SELECTOR, f'#mix li[data-name="{name}"] .mask-pick input[type=file]').send_keys(path)
            wait.until(lambda d: d.execute_script(f"return window.studio.state.masks.has('{name}')"))
        wait.until(lambda d: d.execute_script(idle) and d.execute_script("return window.studio.previews") > n)
        masked = driver.execute_script(preview_hash)
        check(masked[2] != unmasked[2], "masks for both styles change the preview")
        check(driver.find_element(By.ID, "feather").is_displayed(), "the feather slider shows once a mask is set")
        same = preview_equals_render(driver, """{ photo: s.photo.photo,
            styles: [...s.mix.keys()].map((name) => ({ name, weight: 1 })),
            masks: [...s.mix.keys()].map((n) => s.masks.get(n).photo), feather: 0,
            strength: Number(document.getElementById("strength").value) / 100,
            preserve_color: document.getElementById("preserve-color").checked, max_size: 512, format: "jpeg" }""")
        check(same is True, f"the masked preview is the server's masked render ({same})")
        n = driver.execute_script("return window.studio.previews")
        feather = driver.find_element(By.ID, "feather")
        for _ in range(4):
            feather.send_keys(Keys.PAGE_UP)
        wait.until(lambda d: d.execute_script(idle) and d.execute_script("return window.studio.previews") > n)
        check(driver.execute_script(preview_hash)[2] != masked[2], "the feather slider changes the masked preview")
        while driver.find_elements(By.CSS_SELECTOR, "#mix li .clear-mask"):
            driver.find_element(By.CSS_SELECTOR, "#mix li .clear-mask").click()
        wait.until(lambda d: d.execute_script("return window.studio.state.masks.size") == 0 and d.execute_script(idle))
        time.sleep(0.2)
        wait.until(lambda d: d.execute_script(idle))
        check(driver.execute_script(preview_hash)[2] == unmasked[2], "without masks the weighted mix is back")
        check(driver.execute_script("return window.studio.errors") == 0, "no errors on the page with masks")

        # Stroke scale: a photo four times the preview's size renders full size with the
        # preview's look (shrunk back, SSIM ≥ 0.8 against the preview on screen), and the
        # stroke-scale slider changes the preview.
        big = Image.open(os.path.join(ROOT, PHOTO)).convert("RGB")
        big = big.resize((2048, round(2048 * big.height / big.width)), Image.LANCZOS)
        buffer = BytesIO()
        big.save(buffer, "JPEG", quality=95)
        n = driver.execute_script("return window.studio.previews")
        drop_photo(driver, buffer.getvalue(), "palace-2048.jpg")
        wait.until(lambda d: d.execute_script("return window.studio.state.photo.width") == 2048)
        wait.until(lambda d: d.execute_script(idle) and d.execute_script("return window.studio.previews") > n)
        time.sleep(0.2)
        wait.until(lambda d: d.execute_script(idle))
        preview = preview_pixels(driver)
        old_href = driver.find_element(By.ID, "download").get_attribute("href")
        driver.find_element(By.ID, "render-full").click()
        wait.until(lambda d: d.find_element(By.ID, "download").is_displayed()
                   and d.find_element(By.ID, "download").get_attribute("href") != old_href)
        with urllib.request.urlopen(driver.find_element(By.ID, "download").get_attribute("href")) as r:
            full = Image.open(BytesIO(r.read())).convert("RGB")
        check(full.size == big.size, f"the big photo's full-size render is its size ({full.size})")
        shrunk = np.asarray(full.resize((preview.shape[1], preview.shape[0]), Image.LANCZOS))
        score = float(structural_similarity(shrunk, preview, channel_axis=2, data_range=255))
        summary["full_size_vs_preview_ssim"] = round(score, 4)
        check(score >= 0.8, f"the full-size render, shrunk, looks like the preview (SSIM {score:.3f})")
        before_strokes = driver.execute_script(preview_hash)
        n = driver.execute_script("return window.studio.previews")
        driver.execute_script("""const s = document.getElementById("stroke-scale");
            s.value = 100; s.dispatchEvent(new Event("input"));""")
        wait.until(lambda d: d.execute_script(idle) and d.execute_script("return window.studio.previews") > n)
        check(driver.execute_script(preview_hash)[2] != before_strokes[2], "the stroke-scale slider changes the preview")
        check(driver.find_element(By.ID, "stroke-scale-value").text == "2.00×", "the slider shows its scale")
        same = preview_equals_render(driver, """{ photo: s.photo.photo,
            styles: [...s.mix.entries()].map(([name, w]) => ({ name, weight: w / 100 })),
            strength: Number(document.getElementById("strength").value) / 100, stroke_scale: 2,
            preserve_color: document.getElementById("preserve-color").checked, max_size: 512, format: "jpeg" }""")
        check(same is True, f"the preview at stroke scale 2 is the server's render with stroke_scale 2 ({same})")

        # The map: one point per style; clicking one shows that style.
        driver.find_element(By.ID, "show-map").click()
        check(not driver.find_element(By.ID, "gallery").is_displayed(), "the map tab hides the gallery")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#map text"))
        inside = driver.execute_script("""
            const svg = document.getElementById("map"), box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll("text")].every((t) => {
              const r = t.getBoundingClientRect();
              return r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.height >= 9;
            });""")
        check(inside is True, "every map label is inside the map and at least 9 px tall")
        points = driver.find_elements(By.CSS_SELECTOR, "#map circle")
        check(len(points) == len(library_names(binary, library)), f"the map shows one point per style ({len(points)})")
        target = next(p for p in points if p.get_attribute("data-name") == "s02_klimt_the_kiss")
        target.click()
        wait.until(lambda d: "s02_klimt_the_kiss" in d.find_element(By.ID, "detail").text)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#nearest li"))
        check(len(driver.find_elements(By.CSS_SELECTOR, "#nearest li")) == 4, "the detail lists the nearest styles")

        # Rename, tag and delete from the detail panel; the CLI sees each.
        rename = driver.find_element(By.ID, "rename-input")
        rename.clear()
        rename.send_keys("the-kiss")
        rename.find_element(By.XPATH, "following-sibling::button").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '.card[data-name="the-kiss"]'))
        check("the-kiss" in library_names(binary, library), "rename reaches the library")
        tags = driver.find_element(By.ID, "tags-input")
        tags.clear()
        tags.send_keys("gold, portrait")
        tags.find_element(By.XPATH, "following-sibling::button").click()
        wait.until(lambda d: "gold" in d.find_element(By.ID, "status").text)
        check(json.loads(cli(binary, "embed", "show", "the-kiss", "--json", library=library))["tags"] == ["gold", "portrait"],
              "tags reach the library")
        driver.find_element(By.ID, "show-gallery").click()
        Select(driver.find_element(By.ID, "tag-filter")).select_by_value("gold")
        check([c.get_attribute("data-name") for c in cards()] == ["the-kiss"], "the tag filter shows only tagged styles")
        Select(driver.find_element(By.ID, "tag-filter")).select_by_value("")
        driver.find_element(By.ID, "filter").send_keys("hoku")
        check([c.get_attribute("data-name") for c in cards()] == ["s03_hokusai_great_wave"], "the text filter narrows the gallery")
        driver.find_element(By.ID, "filter").clear()
        driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
        delete = driver.find_element(By.ID, "delete-style")
        delete.click()
        delete.click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, '.card[data-name="the-kiss"]'))
        check("the-kiss" not in library_names(binary, library), "delete reaches the library")

        with urllib.request.urlopen(url + "api/stats") as r:
            summary["server_render_ms"] = json.loads(r.read())["renders"]
    finally:
        driver.quit()
        server.send_signal(2)
        rc = server.wait(timeout=30)
        check(rc == 0, f"Ctrl-C stops the studio cleanly (exit {rc})")

    summary["failures"] = failures
    print(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
