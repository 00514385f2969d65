#!/usr/bin/env python3
"""Before/after: two sitegen binaries timed on the same generated sites in the same run.

For a refactor or an optimisation, what matters is the ratio of two builds of sitegen on one
machine at one time (this machine is noisy; ratios across days mean little). The sites come
from bench/build.py's generator (real code blocks, tags, sections, pagination, feeds); each
size is built with highlighting on and off. hyperfine runs both binaries' cold builds
(output folder removed before each run); peak RSS comes from one `/usr/bin/time -v` run each.

Usage:
  python3 bench/before_after.py --before /tmp/sitegen-old --after target/release/sitegen
  python3 bench/before_after.py --before OLD --after NEW --sizes 10000 --runs 5
Prints a table of medians, the after/before ratio, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import build as bench_build  # noqa: E402  (bench/build.py: the site generator)


def peak_rss_mb(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return int(m.group(1)) / 1024 if m else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, type=Path)
    ap.add_argument("--after", required=True, type=Path)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--highlight", default="on,off")
    args = ap.parse_args()
    bench_build.ensure_gnu_time()
    hyperfine = bench_build.ensure_hyperfine(False)
    if not hyperfine:
        sys.exit("hyperfine is needed (apt-get install hyperfine)")
    work = Path(tempfile.mkdtemp(prefix="sitegen-before-after-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",") if s]:
            g = bench_build.Gen(n)
            pages = [g.page(i) for i in range(n)]
            for hl in [h.strip() == "on" for h in args.highlight.split(",") if h.strip()]:
                root = work / f"n{n}-{'on' if hl else 'off'}"
                bench_build.write_sitegen_site(root, pages, n, hl)
                out = root / "public"
                cmds = {k: [str(b.resolve()), "--root", str(root), "-q", "build"] for k, b in
                        (("before", args.before), ("after", args.after))}
                js = work / "hf.json"
                subprocess.run([hyperfine, "-N", "--style", "none", "-w", "1", "-r", str(args.runs),
                                "--prepare", f"rm -rf {out}", "--export-json", str(js),
                                " ".join(cmds["before"]), " ".join(cmds["after"])],
                               check=True, stdout=subprocess.DEVNULL)
                res = json.loads(js.read_text())["results"]
                med = [r["median"] for r in res]
                rss = [peak_rss_mb(cmds[k], out) for k in ("before", "after")]
                rows.append((n, hl, med[0], med[1], rss[0], rss[1]))
                print(f"n={n} highlight={'on' if hl else 'off'}: before {med[0]:.3f} s, after {med[1]:.3f} s "
                      f"({med[1] / med[0]:.3f}x); RSS {rss[0]:.0f} -> {rss[1]:.0f} MB", flush=True)
                shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| pages | highlighting | before (median) | after (median) | after/before | RSS before | RSS after |")
    print("|---|---|---|---|---|---|---|")
    for n, hl, b, a, rb, ra in rows:
        print(f"| {n:,} | {'on' if hl else 'off'} | {b:.3f} s | {a:.3f} s | {a / b:.3f}x | {rb:.0f} MB | {ra:.0f} MB |")


if __name__ == "__main__":
    main()
