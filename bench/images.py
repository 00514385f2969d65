#!/usr/bin/env python3
"""Image benchmark: sitegen vs Hugo resizing the same photographs.

20 real photographs (the JPEG wallpapers of Debian's `plasma-workspace-wallpapers` package:
2560x1600 to 5120x2880, 0.2 to 4.6 MB; fetched with `apt-get download`, nothing is committed),
each resized to 3 widths (480, 1024, 1920) in JPEG and WebP at quality 75: 120 outputs.

Measured, each in its own copy of the site, on the same machine in the same run:
  * cold: processed-image cache and output removed before every run
          (sitegen: .sitegen/cache + public/; Hugo: resources/ + public/ + --cacheDir)
  * warm: everything from the previous run left in place
Each run is wrapped in `/usr/bin/time -v` (wall time, peak RSS); medians are quoted. Output
bytes are compared too (total JPEG and WebP bytes per tool).

    python3 bench/images.py               # 3 cold + 5 warm runs each
    python3 bench/images.py --runs 1      # quick
Environment: HUGO=/path/to/hugo and SITEGEN=/path/to/sitegen override the binaries.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WIDTHS = [480, 1024, 1920]
WALLPAPERS = [
    "Autumn", "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
    "FallenLeaf", "Flow", "Grey", "Honeywave", "Kite", "OneStandsOut", "PastelHills", "Path",
    "SafeLanding", "Shell", "Volna", "summer_1am",
]


def log(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def photos(work: Path) -> list[Path]:
    """The 20 largest distinct JPEGs of the KDE wallpapers (18 wallpapers + 2 variants)."""
    src = work / "photos"
    if src.exists() and len(list(src.glob("*.jpg"))) == 20:
        return sorted(src.glob("*.jpg"))
    deb_dir = work / "deb"
    deb_dir.mkdir(parents=True, exist_ok=True)
    if not list(deb_dir.glob("plasma-workspace-wallpapers_*.deb")):
        subprocess.run(["apt-get", "download", "plasma-workspace-wallpapers"], cwd=deb_dir, check=True)
    deb = next(deb_dir.glob("plasma-workspace-wallpapers_*.deb"))
    x = work / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
    src.mkdir(exist_ok=True)
    wall = x / "usr/share/wallpapers"
    chosen = []
    for name in WALLPAPERS:
        imgs = sorted((wall / name / "contents/images").glob("*.jpg"), key=lambda p: p.stat().st_size)
        chosen.append((name, imgs[-1]))
    # Two more distinct pictures: the dark variant of Flow and the portrait SafeLanding.
    chosen.append(("FlowDark", max((wall / "Flow/contents/images_dark").glob("*.jpg"), key=lambda p: p.stat().st_size)))
    chosen.append(("SafeLandingPortrait", wall / "SafeLanding/contents/images/1622x2880.jpg"))
    for name, p in chosen:
        shutil.copy(p, src / f"{name.lower()}.jpg")
    shutil.rmtree(x)
    return sorted(src.glob("*.jpg"))


def sitegen_site(root: Path, imgs: list[Path]) -> None:
    (root / "site/content/gallery").mkdir(parents=True)
    (root / "site/templates").mkdir(parents=True)
    (root / "config.toml").write_text(
        'base_url = "https://example.com"\ntitle = "Bench"\ngenerate_feeds = false\n'
        "[images]\njpeg_quality = 75\nwebp_quality = 75\n"
    )
    (root / "site/content/_index.md").write_text("+++\ntitle = \"Home\"\n+++\n")
    (root / "site/content/gallery/index.md").write_text(
        '+++\ntitle = "Gallery"\ntemplate = "gallery.html"\n+++\n'
    )
    t = ["<html><body>"]
    for p in imgs:
        shutil.copy(p, root / "site/content/gallery" / p.name)
        for fmt in ("jpeg", "webp"):
            for w in WIDTHS:
                t.append(
                    f"{{% set r = resize_image(path='{p.name}', width={w}, op='fit_width', format='{fmt}') %}}"
                    f'<img src="{{{{ r.url }}}}" width="{{{{ r.width }}}}" height="{{{{ r.height }}}}">'
                )
    t.append("</body></html>")
    (root / "site/templates/gallery.html").write_text("\n".join(t))


def hugo_site(root: Path, imgs: list[Path]) -> None:
    (root / "content/gallery").mkdir(parents=True)
    (root / "layouts").mkdir(parents=True)
    (root / "hugo.toml").write_text(
        'baseURL = "https://example.com/"\ntitle = "Bench"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'
        "[imaging]\nquality = 75\n"
    )
    (root / "content/gallery/index.md").write_text('---\ntitle: "Gallery"\n---\n')
    for p in imgs:
        shutil.copy(p, root / "content/gallery" / p.name)
    spec = "".join(
        f'{{{{ $r := .Resize "{w}x {fmt} q75" }}}}<img src="{{{{ $r.RelPermalink }}}}" width="{{{{ $r.Width }}}}" height="{{{{ $r.Height }}}}">\n'
        for fmt in ("jpg", "webp")
        for w in WIDTHS
    )
    single = "<html><body>{{ range .Resources.ByType \"image\" }}\n" + spec + "{{ end }}</body></html>\n"
    for name in ("single.html", "page.html"):
        (root / "layouts" / name).write_text(single)
    for name in ("list.html", "home.html", "section.html"):
        (root / "layouts" / name).write_text("<html><body>{{ .Title }}</body></html>\n")


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return secs, rss


def out_bytes(public: Path) -> dict[str, int]:
    sizes = {"jpg": 0, "webp": 0, "n": 0}
    for p in public.rglob("*"):
        if p.is_file() and p.suffix in (".jpg", ".webp") and ("processed_images" in p.parts or "_hu" in p.name):
            sizes[p.suffix[1:]] += p.stat().st_size
            sizes["n"] += 1
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="cold runs per tool (warm runs: runs + 2)")
    ap.add_argument("--workdir", default="/dev/shm/sitegen-images" if Path("/dev/shm").exists() else str(BENCH / "target/images"))
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    sitegen = os.environ.get("SITEGEN") or str(REPO / "target/release/sitegen")
    if "SITEGEN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    hugo = os.environ.get("HUGO") or shutil.which("hugo") or "/opt/hugo-venv/bin/hugo"
    imgs = photos(work)
    log(f"{len(imgs)} photos, {sum(p.stat().st_size for p in imgs) / 1e6:.1f} MB")

    sg, hg = work / "sitegen", work / "hugo"
    for d in (sg, hg):
        shutil.rmtree(d, ignore_errors=True)
    sitegen_site(sg, imgs)
    hugo_site(hg, imgs)
    hugo_cache = work / "hugo-cache"

    def sg_cold():
        shutil.rmtree(sg / ".sitegen", ignore_errors=True)
        shutil.rmtree(sg / "public", ignore_errors=True)
        return timed([sitegen, "build", "-q"], sg)

    def hg_cmd():
        return [hugo, "--quiet", "--cacheDir", str(hugo_cache)]

    def hg_cold():
        for d in (hg / "resources", hg / "public", hugo_cache):
            shutil.rmtree(d, ignore_errors=True)
        return timed(hg_cmd(), hg)

    results = {}
    for name, cold, warm in (
        ("sitegen", sg_cold, lambda: timed([sitegen, "build", "-q"], sg)),
        ("hugo", hg_cold, lambda: timed(hg_cmd(), hg)),
    ):
        c = [cold() for _ in range(args.runs)]
        log(f"{name} cold: {[round(x[0], 2) for x in c]}")
        w = [warm() for _ in range(args.runs + 2)]
        log(f"{name} warm: {[round(x[0], 3) for x in w]}")
        results[name] = (c, w)

    sg_bytes = out_bytes(sg / "public")
    hg_bytes = out_bytes(hg / "public")
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    sc, sw = results["sitegen"]
    hc, hw = results["hugo"]
    lines = [
        f"20 photos x {len(WIDTHS)} widths x 2 formats (JPEG, WebP; q75), medians of {args.runs} cold / {args.runs + 2} warm runs",
        "",
        "| | cold wall | cold peak RSS | warm wall | warm / cold | JPEG bytes | WebP bytes | outputs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, (c, w), b in (("sitegen", results["sitegen"], sg_bytes), ("hugo", results["hugo"], hg_bytes)):
        lines.append(
            f"| {name} | {med(c, 0):.2f} s | {med(c, 1) / 1024:.0f} MB | {med(w, 0):.3f} s | {100 * med(w, 0) / med(c, 0):.1f}% "
            f"| {b['jpg'] / 1e6:.2f} MB | {b['webp'] / 1e6:.2f} MB | {b['n']} |"
        )
    lines.append("")
    lines.append(
        f"sitegen / Hugo: cold wall {med(sc, 0) / med(hc, 0):.2f}x, peak RSS {med(sc, 1) / med(hc, 1):.2f}x, "
        f"JPEG bytes {sg_bytes['jpg'] / max(hg_bytes['jpg'], 1):.2f}x, WebP bytes {sg_bytes['webp'] / max(hg_bytes['webp'], 1):.2f}x"
    )
    text = "\n".join(lines)
    print(text)
    out = BENCH / "target"
    out.mkdir(exist_ok=True)
    (out / "images.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
