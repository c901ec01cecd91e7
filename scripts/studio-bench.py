#!/usr/bin/env python3
"""Pastiche Studio under load, on loopback. Starts `pastiche serve` on a temporary library,
uploads a photo, then
  1. preview latency: N sequential 512-px preview renders of the cached photo with cached
     embeddings; the server-side time (its Server-Timing header) and the client's wall time,
     p50/p95;
  2. concurrency: C clients looping renders for S seconds; errors, throughput, p50/p99.
Exits non-zero on any failed request. Prints one JSON object.

    python3 scripts/studio-bench.py --binary .build/release/pastiche [--seconds 60] [--clients 8]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p * len(s) + 0.5)) - 1))] if s else None


def post(url, body, content_type="application/json"):
    data = json.dumps(body).encode() if content_type == "application/json" else body
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        payload = r.read()
        timing = r.headers.get("Server-Timing", "")
    return payload, (time.perf_counter() - t0) * 1000, timing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--renders", type=int, default=60)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--photo", default=os.path.join(ROOT, "docs/images/summer_palace.jpg"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="pastiche-studio-bench-")
    library = os.path.join(work, "library")
    styles = [os.path.join(ROOT, "styles", s) for s in ("s01_vangogh_starry_night.jpg", "s03_hokusai_great_wave.png")]
    subprocess.run([args.binary, "embed", "add", *styles, "--library", library], check=True, capture_output=True)
    server = subprocess.Popen([args.binary, "serve", "--port", "0", "--library", library],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = server.stdout.readline().split(": ", 1)[1].strip()
    try:
        with open(args.photo, "rb") as f:
            photo = json.loads(post(url + "api/photos", f.read(), "application/octet-stream")[0])
        names = ["s01_vangogh_starry_night", "s03_hokusai_great_wave"]

        def body(i):
            w = (i % 10) / 10
            return {"photo": photo["photo"], "styles": [{"name": names[0], "weight": 1 - w}, {"name": names[1], "weight": w + 0.05}],
                    "max_size": 512, "format": "jpeg"}

        post(url + "api/render", body(0))  # the first render fits the photo to 512 px once
        server_ms, wall_ms = [], []
        for i in range(args.renders):
            _, wall, timing = post(url + "api/render", body(i))
            wall_ms.append(wall)
            server_ms.append(float(timing.split("dur=")[1]))

        errors, latencies, lock = [], [], threading.Lock()
        stop = time.perf_counter() + args.seconds

        def client(k):
            i = k
            while time.perf_counter() < stop:
                try:
                    _, ms, _ = post(url + "api/render", body(i))
                    with lock:
                        latencies.append(ms)
                except (urllib.error.URLError, OSError) as e:
                    with lock:
                        errors.append(str(e))
                i += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        alive = urllib.request.urlopen(url + "api/styles", timeout=10).status == 200
    finally:
        server.send_signal(2)
        rc = server.wait(timeout=30)

    result = {
        "photo": f"{photo['width']}x{photo['height']}, preview 512 px",
        "preview": {"n": len(server_ms),
                    "server_p50_ms": statistics.median(server_ms), "server_p95_ms": percentile(server_ms, 0.95),
                    "client_p50_ms": statistics.median(wall_ms), "client_p95_ms": percentile(wall_ms, 0.95)},
        "load": {"clients": args.clients, "seconds": round(elapsed, 1), "renders": len(latencies), "errors": len(errors),
                 "renders_per_s": round(len(latencies) / elapsed, 1),
                 "p50_ms": statistics.median(latencies) if latencies else None, "p99_ms": percentile(latencies, 0.99),
                 "first_errors": errors[:3]},
        "alive_after": alive, "clean_exit": rc == 0,
    }
    print(json.dumps(result, indent=1))
    return 0 if not errors and alive and rc == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
