#!/usr/bin/env python3
"""Publish benchmark: `sitegen publish` vs `aws s3 sync` on a 10,000-file site.

Both tools publish the same generated site to the same local S3 server (s3s-fs 0.14.1 with
SigV4, `cargo run --example s3_server`, which logs every request it receives), each into a
fresh bucket, through the same scenarios:

  * initial   : empty bucket, everything goes up
  * no-op     : nothing changed since the last publish (median of 3 runs)
  * one page  : one page's Markdown edited, site rebuilt, published
  * clean     : `public/` deleted and rebuilt from the same sources (what a fresh CI checkout
                does: same bytes, new modification times), published

For each: wall time, and the requests the server saw, by operation. This is a benchmark, not
a test: nothing asserts on the figures. Results are printed and written to
bench/target-publish/results.md.

With `--latency MS`, only sitegen runs: the initial upload goes to a plain server, which is
then restarted on the same files with every request delayed by MS milliseconds (a round
trip to a distant S3 region) and ListObjectsV2 answered from one walk of the bucket
(`--fast-list`: s3s-fs's own listing costs about a second per page at 10,000 objects, far
more than S3's, and would be what is measured); then the no-op and the one-page edit (a
different page each time, rebuilt) are timed, median of 3 each. Results go to bench/target-publish/results-latency.md.

Usage:
  python3 bench/publish.py                 # 10,000 files, debug build of sitegen
  python3 bench/publish.py --release       # release build (slower to compile, faster to hash)
  python3 bench/publish.py --pages 500     # smaller site (smoke test)
  python3 bench/publish.py --latency 150   # sitegen only, 150 ms added to every request
Needs: cargo, python3 with venv (awscli is installed into bench/target-publish/venv).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "target-publish"
ACCESS_KEY = "AKIASITEGENTEST00001"
SECRET_KEY = "sitegen/test/secret/key/0000000000000000"
PORT = 9014


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def env():
    e = dict(os.environ)
    for v in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]:
        e.pop(v, None)
    e.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_ENDPOINT_URL_CLOUDFRONT="http://127.0.0.1:9",
    )
    return e


def binaries(release: bool) -> tuple[Path, Path]:
    profile = ["--release"] if release else []
    sh(["cargo", "build", "--quiet", *profile, "--bin", "sitegen", "--example", "s3_server"], cwd=ROOT)
    d = ROOT / "target" / ("release" if release else "debug")
    return d / "sitegen", d / "examples" / "s3_server"


def awscli() -> Path:
    venv = WORK / "venv"
    aws = venv / "bin" / "aws"
    if not aws.exists():
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "awscli"])
    return aws


def generate(site: Path, pages: int):
    """A blog of `pages` pages, paginated by 50: about pages + 220 other files of output."""
    if site.exists():
        shutil.rmtree(site)
    (site / "site" / "content" / "blog").mkdir(parents=True)
    (site / "config.toml").write_text(
        'base_url = "https://bench.example.com"\ntitle = "Bench"\n\n'
        "[[deploy.targets]]\n"
        'name = "bench"\nbucket = "site"\n'
        f'endpoint = "http://127.0.0.1:{PORT}"\n'
        "max_deletes = 100000\n"
    )
    (site / "site" / "content" / "_index.md").write_text('+++\ntitle = "Home"\n+++\nWelcome.\n')
    (site / "site" / "content" / "blog" / "_index.md").write_text(
        '+++\ntitle = "Blog"\nsort_by = "date"\npaginate_by = 50\n+++\n'
    )
    body = "\n\n".join(
        f"Paragraph {i} of a benchmark page, with *some* Markdown and a [link](/blog/)." for i in range(6)
    )
    for i in range(pages):
        day = i % 28 + 1
        month = i // 28 % 12 + 1
        year = 2000 + i // 336
        (site / "site" / "content" / "blog" / f"post-{i:05}.md").write_text(
            f'+++\ntitle = "Post {i}"\ndate = {year:04}-{month:02}-{day:02}\n+++\n{body}\n'
        )


def edit_one_page(site: Path, which: int = 0):
    """Edits a page in the middle of the blog (`which` picks another one each time)."""
    posts = sorted((site / "site" / "content" / "blog").glob("post-*.md"))
    p = posts[(len(posts) // 2 + 101 * which) % len(posts)]
    p.write_text(p.read_text().replace("Paragraph 0", "Paragraph zero (edited)"))


class Server:
    def __init__(self, exe: Path, extra=(), fresh=True):
        self.root = WORK / "s3"
        self.log = WORK / "s3.log"
        if fresh and self.root.exists():
            shutil.rmtree(self.root)
        self.proc = subprocess.Popen(
            [str(exe), "--root", str(self.root), "--port", str(PORT), "--log", str(self.log), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.proc.stdout.readline()  # the endpoint: the server is listening
        self.seen = 0

    def requests(self) -> collections.Counter:
        """Requests since the last call, by operation."""
        time.sleep(0.2)  # the server flushes its log every 20 ms
        lines = self.log.read_text().splitlines()
        new = lines[self.seen:]
        self.seen = len(lines)
        return collections.Counter(l.split(" ", 1)[0] for l in new)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def timed(cmd, cwd) -> float:
    t = time.perf_counter()
    sh(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def scenarios(tool: str, publish, build, site: Path, server: Server, pages: int) -> list[tuple]:
    rows = []
    generate(site, pages)
    build()
    files = sum(1 for p in (site / "public").rglob("*") if p.is_file())
    server.requests()

    t = timed(publish, site)
    rows.append((tool, "initial", files, t, server.requests()))

    times, reqs = [], None
    for _ in range(3):
        times.append(timed(publish, site))
        reqs = server.requests()
    rows.append((tool, "no-op", files, statistics.median(times), reqs))

    edit_one_page(site)
    build()
    t = timed(publish, site)
    rows.append((tool, "one page", files, t, server.requests()))

    shutil.rmtree(site / "public")
    build()
    t = timed(publish, site)
    rows.append((tool, "clean", files, t, server.requests()))
    return rows


def latency_scenarios(sitegen: Path, s3_server: Path, site: Path, pages: int, latency: int) -> list[tuple]:
    """Initial upload without latency; no-op and one page with `latency` ms per request."""
    build = lambda: sh([str(sitegen), "--root", str(site), "build", "-q"])
    publish = [str(sitegen), "publish", "-q"]
    generate(site, pages)
    build()
    files = sum(1 for p in (site / "public").rglob("*") if p.is_file())
    server = Server(s3_server)
    try:
        server.requests()
        t = timed(publish, site)
        rows = [("sitegen publish", "initial (no latency)", files, t, server.requests())]
    finally:
        server.stop()
    server = Server(s3_server, ["--latency", str(latency), "--fast-list"], fresh=False)
    try:
        server.requests()
        times, reqs = [], None
        for _ in range(3):
            times.append(timed(publish, site))
            reqs = server.requests()
        rows.append(("sitegen publish", f"no-op, {latency} ms a request", files, statistics.median(times), reqs))
        times = []
        for which in range(3):
            edit_one_page(site, which)
            build()
            server.requests()
            times.append(timed(publish, site))
            reqs = server.requests()
        rows.append(("sitegen publish", f"one page, {latency} ms a request", files, statistics.median(times), reqs))
    finally:
        server.stop()
    return rows


def fmt(c: collections.Counter) -> str:
    total = sum(c.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
    return f"{total} ({parts})" if parts else "0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=9_780, help="pages to generate (default: 10,000 output files)")
    ap.add_argument("--release", action="store_true", help="benchmark a release build of sitegen")
    ap.add_argument("--latency", type=int, default=0, metavar="MS",
                    help="sitegen only: no-op and one-page publishes with MS milliseconds added to every request")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sitegen, s3_server = binaries(args.release)
    site = WORK / "site"
    if args.latency:
        rows = latency_scenarios(sitegen, s3_server, site, args.pages, args.latency)
        report(rows, f"Site: {rows[0][2]} files. sitegen: {'release' if args.release else 'debug'} build. "
               f"Server: s3s-fs 0.14.1 on 127.0.0.1 (SigV4), {args.latency} ms added to every request, "
               f"LIST from one walk (--fast-list). Machine: {os.cpu_count()} cores.", "results-latency.md")
        return
    aws = awscli()
    build = lambda: sh([str(sitegen), "--root", str(site), "build", "-q"])
    rows = []
    for tool, publish in [
        ("sitegen publish", [str(sitegen), "publish", "-q"]),
        ("aws s3 sync --delete", [str(aws), "s3", "sync", "public", "s3://site/", "--delete",
                                  "--only-show-errors", "--endpoint-url", f"http://127.0.0.1:{PORT}"]),
    ]:
        server = Server(s3_server)
        try:
            rows += scenarios(tool, publish, build, site, server, args.pages)
        finally:
            server.stop()
    version = subprocess.run([str(aws), "--version"], capture_output=True, text=True).stdout.strip()
    report(rows, f"Site: {rows[0][2]} files. sitegen: {'release' if args.release else 'debug'} build; "
           f"{version}. Server: s3s-fs 0.14.1 on 127.0.0.1 (SigV4). Machine: {os.cpu_count()} cores.", "results.md")


def report(rows, heading, name):
    """Prints the table of `rows` under `heading` and writes it to bench/target-publish/NAME."""
    out = [heading, "", "| tool | scenario | time | requests (by operation) |",
           "|------|----------|-----:|--------------------------|"]
    for tool, scen, _, t, reqs in rows:
        out.append(f"| {tool} | {scen} | {t:.2f} s | {fmt(reqs)} |")
    text = "\n".join(out) + "\n"
    (WORK / name).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
