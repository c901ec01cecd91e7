#!/usr/bin/env python3
"""The studio under hostile and broken clients, on loopback only (issue 32):

  * idle connections: silent ones and ones that sent half a request header are closed after
    --idle-timeout;
  * SIGTERM under load: clients that pipeline full-size renders and never read the responses do
    not keep the studio alive: it exits within --shutdown-grace plus a few seconds;
  * restart: the same port binds at once after the studio served clients.

    python3 Tests/faults/studio_faults.py --binary .build/release/pastiche

Prints one line per check and a JSON summary; exits 1 on any failure.
"""
import argparse, json, os, select, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start(binary, library, port, *extra):
    err = open(os.path.join(os.path.dirname(library), "serve.err"), "a")
    p = subprocess.Popen([binary, "serve", "--port", str(port), "--library", library, *extra],
                         stdout=subprocess.PIPE, stderr=err, text=True)
    line = p.stdout.readline()
    if not line.startswith("Pastiche Studio: "):
        p.kill()
        raise RuntimeError(f"serve printed {line!r}")
    return p, line.split(": ", 1)[1].strip()


def closed_by_server(s, timeout):
    """Whether the server closes the connection within `timeout` seconds (EOF or reset)."""
    s.setblocking(False)
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                if s.recv(65536) == b"":
                    return True
            except (ConnectionResetError, BlockingIOError):
                return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--idle", type=int, default=200, help="silent connections")
    ap.add_argument("--half", type=int, default=20, help="connections with half a request header")
    ap.add_argument("--old", action="store_true", help="a binary without --idle-timeout (to reproduce the faults)")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="pastiche-faults-")
    library = os.path.join(work, "library")
    subprocess.run([binary, "embed", "add", os.path.join(ROOT, "styles/s01_vangogh_starry_night.jpg"), "--library", library],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = {}

    # Idle and half-sent connections are closed after the idle timeout.
    server, url = start(binary, library, 0, *([] if args.old else ["--idle-timeout", "2"]))
    port = int(url.rsplit(":", 1)[1].strip("/").split("/")[0])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
    half = []
    for _ in range(args.half):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /api/styles HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        half.append(s)
    start_time = time.time()
    closed_silent = sum(closed_by_server(s, 8 if i == 0 else 0.5) for i, s in enumerate(silent))
    closed_half = sum(closed_by_server(s, 2) for s in half)
    summary["idle_closed"] = f"{closed_silent}/{len(silent)} silent, {closed_half}/{len(half)} half-sent in {time.time() - start_time:.1f} s"
    check(closed_silent == len(silent), f"silent connections are closed after --idle-timeout 2 ({closed_silent}/{len(silent)})")
    check(closed_half == len(half), f"half-sent requests are closed after --idle-timeout 2 ({closed_half}/{len(half)})")
    with urllib.request.urlopen(url + "api/styles") as r:
        check(r.status == 200, "the studio still answers")
    for s in silent + half:
        s.close()

    # SIGTERM while clients pipeline full-size renders and read nothing.
    photo = open(os.path.join(ROOT, "docs/images/honey_bee.jpg"), "rb").read()
    req = urllib.request.Request(url + "api/photos", data=photo, method="POST")
    with urllib.request.urlopen(req) as r:
        photo_id = json.loads(r.read())["photo"]
    body = json.dumps({"photo": photo_id, "styles": [{"name": "s01_vangogh_starry_night", "weight": 1}],
                       **({} if args.old else {"stroke_scale": "native"})}).encode()
    request = (f"POST /api/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    hogs = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(request * 10)
        hogs.append(s)
    time.sleep(3)
    t0 = time.time()
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        rc = "still running after 30 s"
    took = time.time() - t0
    summary["sigterm_under_load_s"] = round(took, 1)
    check(isinstance(rc, int) and took < 15, f"SIGTERM stops the studio under non-reading clients (exit {rc} after {took:.1f} s)")
    for s in hogs:
        s.close()

    # Restart on the same port at once, after serving clients.
    try:
        server, url = start(binary, library, port)
    except RuntimeError as e:
        check(False, f"the studio starts again on port {port} after SIGTERM ({e})")
        summary["failures"] = failures
        print(json.dumps(summary))
        return 1
    with urllib.request.urlopen(url + "api/styles") as r:
        r.read()
    keep = socket.create_connection(("127.0.0.1", port))
    keep.sendall(b"GET /api/styles HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    time.sleep(0.3)
    server.send_signal(signal.SIGINT)
    server.wait(timeout=30)
    keep.close()
    try:
        server, url = start(binary, library, port)
        with urllib.request.urlopen(url + "api/styles") as r:
            check(r.status == 200, f"a restart binds port {port} at once")
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    except RuntimeError as e:
        check(False, f"a restart binds port {port} at once ({e})")
    listed = subprocess.run([binary, "embed", "list", "--library", library], capture_output=True, text=True).stdout
    check("s01_vangogh_starry_night" in listed, "the library keeps its style")
    summary["failures"] = failures
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
