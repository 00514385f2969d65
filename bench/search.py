#!/usr/bin/env python3
"""Search benchmark: sitegen's built-in index beside Pagefind 1.5 on the same built site.

    python3 bench/search.py                  # 10,000 pages, 5 build runs each
    python3 bench/search.py --pages 1000 --runs 1

On one generated site of N pages (bench/serve.py's generator, plus a Japanese sentence on
every 100th page) it measures:

- build time with `[search] enabled = false` and `true` (median of --runs full builds, off and on interleaved, into
  an empty folder), and Pagefind's indexing time on the search-off output (`npx pagefind`);
- index bytes on disk (sitegen: `search/`; Pagefind: `pagefind/`), and file counts;
- per query, in a fresh headless Chromium (cold cache): requests and bytes fetched by the
  client for the top 10 results with their excerpts (sitegen: `sitegenSearch(url).search`,
  what the search box calls; Pagefind: `pagefind.search(q)` then `.data()` of the first 10),
  as served and as sent with gzip (the smaller of the file and its gzip: Pagefind's
  fragments are gzip already), with and without the client's own code (JS, WASM);
- after one page edit and a rebuild, how many index files changed (sitegen: incremental
  `sitegen build` into the same folder; Pagefind: indexing again).

Needs Debian's `chromium` (`.ci/run` installs it) and npm (Pagefind is installed into
bench/target/pagefind with `npm install pagefind@1.5`). Builds the release binary if needed;
SITEGEN=/path/to/sitegen measures another. Results: stdout, bench/target/search-results.json.
"""
import argparse, gzip, hashlib, http.server, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from serve import generate  # noqa: E402  the same site as the serve benchmark

BIN = os.environ.get("SITEGEN") or os.path.join(ROOT, "target", "release", "sitegen")
CHROMIUM = "/usr/bin/chromium"
PAGEFIND_DIR = os.path.join(HERE, "target", "pagefind")

JAPANESE = ["東京の天気は晴れです。", "京都で会議がありました。", "大阪の地図を見てください。"]

QUERIES = [
    # single words
    "bucket", "cloudfront", "template", "markdown", "reload", "invalidate", "sitemap", "theme",
    "render", "deploy",
    # two words
    "static site", "publish bucket", "cache invalidate", "asset template", "browser reload",
    "feed content",
    # rare words (one page has each)
    "4242", "overview 7777",
    # CJK
    "天気", "会議",
]


def run(cmd, cwd=None, **kw):
    return subprocess.run(cmd, cwd=cwd, check=True, **kw)


def set_search(site, on):
    p = os.path.join(site, "config.toml")
    text = open(p).read().split("\n[search]\n")[0]
    if on:
        text += "\n[search]\nenabled = true\n"
    open(p, "w").write(text)


def timed_build(site, out):
    shutil.rmtree(out, ignore_errors=True)
    t = time.monotonic()
    run([BIN, "build", "--output", out], cwd=site, stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def timed_builds(site, off, on, runs):
    """Median build times with search off and on, the runs interleaved (off, on, off, on...)
    so that a busy spell of the machine weighs on both alike."""
    t_off, t_on = [], []
    for _ in range(runs):
        set_search(site, False)
        t_off.append(timed_build(site, off))
        set_search(site, True)
        t_on.append(timed_build(site, on))
    return statistics.median(t_off), statistics.median(t_on), t_off, t_on


def tree(dir):
    """relative path -> sha256 of every file under dir."""
    out = {}
    for base, _, files in os.walk(dir):
        for f in files:
            p = os.path.join(base, f)
            out[os.path.relpath(p, dir)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def du(dir):
    return sum(os.path.getsize(os.path.join(b, f)) for b, _, fs in os.walk(dir) for f in fs)


def wire(data):
    return min(len(data), len(gzip.compress(data, 6)))


class Counting(http.server.SimpleHTTPRequestHandler):
    """Serves the output folder and counts what the page fetches."""
    log = []

    def log_message(self, *a):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self):
        path = self.path.split("?")[0]
        local = self.translate_path(path)
        if os.path.isfile(local):
            Counting.log.append((path, open(local, "rb").read()))
        super().do_GET()


HARNESS = """<!DOCTYPE html><meta charset="utf-8"><title>bench</title>
<body><pre id="out">running</pre><script type="module">
const q = decodeURIComponent(location.hash.slice(1));
const out = document.getElementById('out');
try {
  let urls;
  if (ENGINE === 'sitegen') {
    await new Promise((ok, bad) => { const s = document.createElement('script'); s.src = SCRIPT; s.onload = ok; s.onerror = bad; document.head.append(s); });
    const r = await window.sitegenSearch('/search/en.json').search(q, [], 10);
    urls = r.results.map(x => new URL(x.url).pathname + ' ' + x.text.length);
  } else {
    const pf = await import('/pagefind/pagefind.js');
    await pf.init();
    const r = await pf.search(q);
    const data = await Promise.all(r.results.slice(0, 10).map(x => x.data()));
    urls = data.map(d => d.url + ' ' + d.excerpt.length);
  }
  out.textContent = 'DONE ' + JSON.stringify(urls);
} catch (e) { out.textContent = 'ERROR ' + e; }
</script>"""


def measure_queries(out, engine, script=None):
    Counting.directory = out
    with open(os.path.join(out, "__bench.html"), "w") as f:
        f.write(HARNESS.replace("ENGINE", json.dumps(engine)).replace("SCRIPT", json.dumps(script or "")))
    handler = lambda *a, **k: Counting(*a, directory=out, **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    rows = []
    try:
        for q in QUERIES:
            # Virtual time sometimes ends before a WASM instantiation does: try again.
            for attempt in range(4):
                Counting.log = []
                profile = tempfile.mkdtemp(prefix="bench-chromium-")
                url = f"http://127.0.0.1:{port}/__bench.html#{q}"
                dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      f"--user-data-dir={profile}", f"--virtual-time-budget={60000 * (attempt + 1)}",
                                      "--dump-dom", url],
                                     capture_output=True, text=True, timeout=180).stdout
                shutil.rmtree(profile, ignore_errors=True)
                result = dom.split('<pre id="out">')[1].split("</pre>")[0] if '<pre id="out">' in dom else "no output"
                if result.startswith("DONE"):
                    break
            if not result.startswith("DONE"):
                print(f"  {engine} {q!r}: {result[:200]}", file=sys.stderr)
            fetched = [(p, d) for p, d in Counting.log if p != "/__bench.html"]
            code = [(p, d) for p, d in fetched if p.endswith((".js", ".wasm")) or "wasm" in p]
            index = [(p, d) for p, d in fetched if (p, d) not in code]
            n = len(json.loads(result[5:])) if result.startswith("DONE") else -1
            rows.append({
                "query": q, "results": n,
                "index_requests": len(index), "index_bytes": sum(len(d) for _, d in index),
                "index_wire": sum(wire(d) for _, d in index),
                "code_requests": len(code), "code_wire": sum(wire(d) for _, d in code),
            })
    finally:
        srv.shutdown()
        os.remove(os.path.join(out, "__bench.html"))
    return rows


def pagefind(site_out):
    if not os.path.exists(os.path.join(PAGEFIND_DIR, "node_modules", ".bin", "pagefind")):
        os.makedirs(PAGEFIND_DIR, exist_ok=True)
        run(["npm", "install", "--silent", "--prefix", PAGEFIND_DIR, "pagefind@1.5"])
    t = time.monotonic()
    run([os.path.join(PAGEFIND_DIR, "node_modules", ".bin", "pagefind"), "--site", site_out],
        stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.environ.get("SITEGEN") and (not os.path.exists(BIN) or os.environ.get("SITEGEN_REBUILD")):
        run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    tmp = tempfile.mkdtemp(prefix="sitegen-search-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    site = os.path.join(tmp, "site")
    print(f"generating {a.pages} pages in {site} ...", flush=True)
    generate(site, a.pages)
    content = os.path.join(site, "site", "content")
    for i in range(0, a.pages, 100):
        p = os.path.join(content, f"section-{i % 10}", f"page-{i}.md")
        with open(p, "a") as f:
            f.write(f"\n{JAPANESE[(i // 100) % len(JAPANESE)]}\n")
    res = {"pages": a.pages, "runs": a.runs}
    off, on = os.path.join(tmp, "off"), os.path.join(tmp, "on")
    res["build_off_s"], res["build_on_s"], res["build_off_all"], res["build_on_all"] = timed_builds(site, off, on, a.runs)
    res["search_overhead"] = res["build_on_s"] / res["build_off_s"] - 1
    print(f"build: search off {res['build_off_s']:.2f} s, on {res['build_on_s']:.2f} s "
          f"({100 * res['search_overhead']:+.1f}%)", flush=True)
    sdir = os.path.join(on, "search")
    res["sitegen_index_bytes"] = du(sdir)
    res["sitegen_index_files"] = len(tree(sdir))
    res["sitegen_entry_bytes"] = os.path.getsize(os.path.join(sdir, "en.json"))
    pf_out = os.path.join(tmp, "pagefind-site")
    shutil.copytree(off, pf_out)
    res["pagefind_index_s"] = pagefind(pf_out)
    res["pagefind_index_bytes"] = du(os.path.join(pf_out, "pagefind"))
    res["pagefind_index_files"] = len(tree(os.path.join(pf_out, "pagefind")))
    print(f"index: sitegen {res['sitegen_index_bytes']:,} B in {res['sitegen_index_files']} files; "
          f"pagefind {res['pagefind_index_bytes']:,} B in {res['pagefind_index_files']} files "
          f"({res['pagefind_index_s']:.2f} s)", flush=True)
    script = "/js/" + next(p for p in os.listdir(os.path.join(on, "js")) if p.startswith("search."))
    res["queries"] = {"sitegen": measure_queries(on, "sitegen", script), "pagefind": measure_queries(pf_out, "pagefind")}
    # One page edit: sitegen rebuilds into the same folder; Pagefind indexes again.
    before_s, before_p = tree(sdir), tree(os.path.join(pf_out, "pagefind"))
    edited = min(4242, a.pages - 1)
    with open(os.path.join(content, f"section-{edited % 10}", f"page-{edited}.md"), "a") as f:
        f.write("\nA freshly edited sentence about zeppelins.\n")
    run([BIN, "build", "--output", on], cwd=site, stdout=subprocess.DEVNULL)
    after_s = tree(sdir)
    res["sitegen_changed_after_edit"] = sum(1 for k, v in after_s.items() if before_s.get(k) != v)
    res["sitegen_removed_after_edit"] = sum(1 for k in before_s if k not in after_s)
    set_search(site, False)
    run([BIN, "build", "--output", off], cwd=site, stdout=subprocess.DEVNULL)
    shutil.rmtree(pf_out)
    shutil.copytree(off, pf_out)
    pagefind(pf_out)
    after_p = tree(os.path.join(pf_out, "pagefind"))
    res["pagefind_changed_after_edit"] = sum(1 for k, v in after_p.items() if before_p.get(k) != v)
    res["pagefind_removed_after_edit"] = sum(1 for k in before_p if k not in after_p)
    report(res)
    os.makedirs(os.path.join(HERE, "target"), exist_ok=True)
    with open(os.path.join(HERE, "target", "search-results.json"), "w") as f:
        json.dump(res, f, indent=2)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


def report(res):
    print(f"\n{res['pages']} pages")
    print(f"| | sitegen | Pagefind 1.5 |\n|---|---|---|")
    print(f"| index build | {res['build_on_s'] - res['build_off_s']:+.2f} s over the build "
          f"({100 * res['search_overhead']:+.1f}%) | {res['pagefind_index_s']:.2f} s after it |")
    print(f"| index on disk | {res['sitegen_index_bytes']:,} B, {res['sitegen_index_files']} files "
          f"(entry {res['sitegen_entry_bytes']:,} B) | {res['pagefind_index_bytes']:,} B, {res['pagefind_index_files']} files |")
    for key, label in [("index_requests", "index requests per query (mean)"), ("index_wire", "index bytes per query, gzip (mean)"),
                       ("index_bytes", "index bytes per query, as served (mean)"), ("code_wire", "client code, gzip (once)")]:
        s = statistics.mean(r[key] for r in res["queries"]["sitegen"])
        p = statistics.mean(r[key] for r in res["queries"]["pagefind"])
        print(f"| {label} | {s:,.0f} | {p:,.0f} |")
    print(f"| index files changed after one edit | {res['sitegen_changed_after_edit']} "
          f"(+{res['sitegen_removed_after_edit']} removed) | {res['pagefind_changed_after_edit']} "
          f"(+{res['pagefind_removed_after_edit']} removed) |")
    print("\nper query: results, index requests, index bytes gzip (sitegen / Pagefind)")
    for s, p in zip(res["queries"]["sitegen"], res["queries"]["pagefind"]):
        print(f"  {s['query']:<18} {s['results']:>3} / {p['results']:>3}   {s['index_requests']:>3} / {p['index_requests']:>3}"
              f"   {s['index_wire']:>8,} / {p['index_wire']:>8,}")


if __name__ == "__main__":
    main()
