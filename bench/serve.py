#!/usr/bin/env python3
"""Live-preview benchmark: on a generated site of N pages, the time from saving one page's
Markdown to (a) the live-reload message reaching a connected browser socket and (b) the new
page being served, median over E edits.

    python3 bench/serve.py                 # 10,000 pages, 20 edits
    python3 bench/serve.py --pages 1000 --edits 10
    python3 bench/serve.py --languages 4    # 10,000 pages: 2,500 in each of en, fr, de, ja;
                                            # the edits are of French pages (page-N.fr.md)

Also prints the server's resident memory (VmRSS, and its peak VmHWM, from /proc on Linux)
after the first build and after the edits: `serve` holds every file it shows.

Builds the release binary if needed. Everything runs on 127.0.0.1.
"""
import argparse, base64, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SITEGEN=/path/to/sitegen measures another binary (a before/after comparison).
BIN = os.environ.get("SITEGEN") or os.path.join(ROOT, "target", "release", "sitegen")

WORDS = ("static site generator publish bucket cloudfront asset template markdown section page "
         "reload browser cache invalidate deploy content feed sitemap theme render fast").split()


def body(i):
    paras = []
    for p in range(6):
        words = [WORDS[(i * 7 + p * 13 + k) % len(WORDS)] for k in range(110)]
        paras.append(" ".join(words).capitalize() + ".")
    return (f"## Overview {i}\n\n{paras[0]}\n\n{paras[1]}\n\n## Details\n\n{paras[2]}\n\n"
            f"- one\n- two\n- three\n\n{paras[3]}\n\n```rust\nfn main() {{ println!(\"{i}\"); }}\n```\n\n"
            f"## More\n\n{paras[4]}\n\n{paras[5]}\n")


LANGS = ["fr", "de", "ja"]


def generate(dir, pages, sections=10, languages=1):
    os.makedirs(os.path.join(dir, "site", "content"))
    with open(os.path.join(dir, "config.toml"), "w") as f:
        f.write('base_url = "https://example.com"\ntitle = "Bench"\n[[taxonomies]]\nname = "tags"\n')
        for code in LANGS[:languages - 1]:
            f.write(f'[languages.{code}]\ntitle = "Bench {code}"\n')
    pages //= languages
    suffixes = [""] + [f".{c}" for c in LANGS[:languages - 1]]
    for s in range(sections):
        d = os.path.join(dir, "site", "content", f"section-{s}")
        os.makedirs(d)
        for sfx in suffixes:
            with open(os.path.join(d, f"_index{sfx}.md"), "w") as f:
                f.write(f'+++\ntitle = "Section {s}"\npaginate_by = 10\n+++\n')
    for i in range(pages):
        s = i % sections
        tags = ", ".join(f'"tag-{(i * k) % 50}"' for k in (1, 3, 7))
        for sfx in suffixes:
            with open(os.path.join(dir, "site", "content", f"section-{s}", f"page-{i}{sfx}.md"), "w") as f:
                f.write(f'+++\ntitle = "Page {i}{sfx}"\ndate = 2024-01-{1 + i % 28:02d}\ndescription = "Page {i} of the benchmark"\n'
                        f'[taxonomies]\ntags = [{tags}]\n+++\n{body(i)}')


class Socket:
    """A minimal WebSocket client (text frames from the server, unmasked)."""

    def __init__(self, host, port, path):
        self.s = socket.create_connection((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.s.recv(4096)
        self.buf = buf.split(b"\r\n\r\n", 1)[1]

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout):
        self.s.settimeout(timeout)
        h = self._read(2)
        n = h[1] & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8), "big")
        return self._read(n).decode()


def memory(pid):
    """The process's resident memory now and at its peak, in MB (Linux), or None."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return None
    kb = lambda k: int(re.search(rf"{k}:\s+(\d+) kB", status).group(1))
    return kb("VmRSS") / 1024, kb("VmHWM") / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the generated site")
    ap.add_argument("--languages", type=int, default=1, choices=[1, 2, 3, 4],
                    help="split --pages over this many languages and edit pages of the second")
    a = ap.parse_args()
    per_lang = a.pages // a.languages
    sfx, prefix = (f".{LANGS[0]}", f"/{LANGS[0]}") if a.languages > 1 else ("", "")
    if not os.environ.get("SITEGEN") and (not os.path.exists(BIN) or os.environ.get("SITEGEN_REBUILD")):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="sitegen-serve-bench-")
    site = os.path.join(tmp, "site")
    print(f"generating {a.pages} pages in {site} ...", flush=True)
    generate(site, a.pages, languages=a.languages)
    t0 = time.monotonic()
    srv = subprocess.Popen([BIN, "serve", "--port", "0"], cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = srv.stdout.readline()
    url = re.search(r"http://[0-9.:]+", first).group(0)
    print(f"initial build + start: {time.monotonic() - t0:.2f} s ({first.strip()})", flush=True)
    mem_start = memory(srv.pid)
    host, port = url[len("http://"):].split(":")
    ws = Socket(host, int(port), "/__sitegen/livereload")
    to_msg, to_page, server_ms = [], [], []
    try:
        for e in range(a.edits):
            i = (e * 97) % per_lang
            path = os.path.join(site, "site", "content", f"section-{i % 10}", f"page-{i}{sfx}.md")
            marker = f"edit-marker-{e}-{time.time_ns()}"
            text = open(path).read().replace("## Details", f"## Details\n\n{marker}", 1)
            time.sleep(0.3)  # let the previous rebuild settle
            start = time.monotonic()
            with open(path, "w") as f:
                f.write(text)
            while True:
                msg = json.loads(ws.recv(timeout=30))
                if msg["type"] == "reload" and f"{prefix}/section-{i % 10}/page-{i}/" in msg["paths"]:
                    break
            to_msg.append((time.monotonic() - start) * 1000)
            page_url = f"{url}{prefix}/section-{i % 10}/page-{i}/"
            while marker not in urllib.request.urlopen(page_url).read().decode():
                pass
            to_page.append((time.monotonic() - start) * 1000)
            line = srv.stdout.readline()
            m = re.search(r"in (\d+) ms", line)
            if m:
                server_ms.append(int(m.group(1)))
        mem_end = memory(srv.pid)
    finally:
        srv.terminate()
        srv.wait()
        if not a.keep:
            shutil.rmtree(tmp)
    med = statistics.median
    langs = f", {a.languages} languages ({per_lang} each), edits of {LANGS[0]} pages" if a.languages > 1 else ""
    print(f"\n{a.pages} pages{langs}, {a.edits} edits (median / min / max, ms)")
    print(f"  save -> reload message sent to the browser: {med(to_msg):7.1f} / {min(to_msg):6.1f} / {max(to_msg):6.1f}")
    print(f"  save -> new page served:                    {med(to_page):7.1f} / {min(to_page):6.1f} / {max(to_page):6.1f}")
    if server_ms:
        print(f"  rebuild as reported by the server:          {med(server_ms):7.1f} / {min(server_ms):6.1f} / {max(server_ms):6.1f}")
    print("  (includes the watcher's 15 ms settle time after the last file event)")
    if mem_start and mem_end:
        print(f"  resident memory after the first build: {mem_start[0]:.0f} MB; after the edits: "
              f"{mem_end[0]:.0f} MB (peak {mem_end[1]:.0f} MB)")


if __name__ == "__main__":
    sys.exit(main())
