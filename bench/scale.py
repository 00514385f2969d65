#!/usr/bin/env python3
"""Scale benchmark: wall time and peak memory of a full build as a site grows, sitegen beside
Zola, from the same page bodies and the same templates.

    python3 bench/scale.py                                  # 10k and 50k pages
    python3 bench/scale.py --sizes 10000,50000,200000,1000000 --runs 1
    ZOLA=/path/to/zola SITEGEN=target/release/sitegen python3 bench/scale.py

Content: a pool of distinct page bodies (bench/build.py's generator: ~800 words of prose,
headings, lists, a table, links to other pages, two code blocks; highlighting off) is
replicated to N pages over 10 sections, each page with its own title, date and 3 of 50 tags.
Templates: a small Zola theme written here (base, index, section with pagination, page with
TOC and previous/next links, tag list and tag pages, Atom feeds); sitegen builds the same
site imported by `sitegen import zola` (a small copy is imported once for its config and
templates, then both layouts get the same N pages), so both do the same work.

Each build runs under `/usr/bin/time -v` (wall time, peak RSS) with the output folder
removed first and `sync` run (not timed). Zola runs only at sizes up to --zola-max (it holds every page in
memory: at 1M pages it would need about 45 GB). Sites are written under --workdir (default
bench/target/scale, on disk: a million pages is ~5 GB of Markdown) and removed after use
unless --keep. Results: stdout, bench/target/scale-results.md and .json. A benchmark, not a
test: nothing asserts on the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import build as gen  # noqa: E402  (bench/build.py: the page generator)

N_SECTIONS = 10

ZOLA_CONFIG = """base_url = "https://example.com"
title = "Scale bench"
description = "A generated site for the scale benchmark."
generate_feeds = true
feed_filenames = ["atom.xml"]
build_search_index = false
taxonomies = [{ name = "tags", feed = true }]
# No [markdown.highlighting]: Zola 0.22 highlights nothing (the import keeps it off).
"""

ZOLA_TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{% block title %}{{ config.title }}{% endblock title %}</title>
  <link rel="alternate" type="application/atom+xml" href="{{ get_url(path="atom.xml") }}">
</head>
<body>
  <header><a href="{{ config.base_url }}">{{ config.title }}</a></header>
  <main>{% block content %}{% endblock content %}</main>
</body>
</html>
""",
    "index.html": """{% extends "base.html" %}
{% block content %}
<h1>{{ section.title }}</h1>
{{ section.content | safe }}
<ul>{% for s in section.subsections %}{% set sub = get_section(path=s, metadata_only=true) %}<li><a href="{{ sub.permalink }}">{{ sub.title }}</a></li>{% endfor %}</ul>
{% endblock content %}
""",
    "section.html": """{% extends "base.html" %}
{% block title %}{{ section.title }} · {{ config.title }}{% endblock title %}
{% block content %}
<h1>{{ section.title }}</h1>
{{ section.content | safe }}
<ul>
{% for page in paginator.pages %}<li><a href="{{ page.permalink }}">{{ page.title }}</a> <time>{{ page.date | date(format="%Y-%m-%d") }}</time>
{% if page.description %}<p>{{ page.description }}</p>{% else %}<div>{{ page.summary | safe }}</div>{% endif %}</li>
{% endfor %}
</ul>
<nav>{% if paginator.previous %}<a href="{{ paginator.previous }}">previous</a>{% endif %} {{ paginator.current_index }} / {{ paginator.number_pagers }} {% if paginator.next %}<a href="{{ paginator.next }}">next</a>{% endif %}</nav>
{% endblock content %}
""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ page.title }} · {{ config.title }}{% endblock title %}
{% block content %}
<article>
<h1>{{ page.title }}</h1>
<p><time>{{ page.date | date(format="%B %e, %Y") }}</time> · {{ page.reading_time }} min read</p>
<nav><ul>{% for h in page.toc %}<li><a href="#{{ h.id }}">{{ h.title }}</a>{% if h.children %}<ul>{% for c in h.children %}<li><a href="#{{ c.id }}">{{ c.title }}</a></li>{% endfor %}</ul>{% endif %}</li>{% endfor %}</ul></nav>
{{ page.content | safe }}
{% if page.taxonomies.tags %}<p>Tags:{% for t in page.taxonomies.tags %} <a href="{{ get_taxonomy_url(kind="tags", name=t) }}">{{ t }}</a>{% endfor %}</p>{% endif %}
<nav>{% if page.lower %}<a rel="prev" href="{{ page.lower.permalink }}">{{ page.lower.title }}</a>{% endif %}
{% if page.higher %}<a rel="next" href="{{ page.higher.permalink }}">{{ page.higher.title }}</a>{% endif %}</nav>
</article>
{% endblock content %}
""",
    "taxonomy_list.html": """{% extends "base.html" %}
{% block content %}
<h1>{{ taxonomy.name }}</h1>
<ul>{% for term in terms %}<li><a href="{{ term.permalink }}">{{ term.name }}</a> ({{ term.pages | length }})</li>{% endfor %}</ul>
{% endblock content %}
""",
    "taxonomy_single.html": """{% extends "base.html" %}
{% block content %}
<h1>{{ term.name }}</h1>
<ul>{% for page in term.pages %}<li><a href="{{ page.permalink }}">{{ page.title }}</a></li>{% endfor %}</ul>
{% endblock content %}
""",
}


def log(msg: str) -> None:
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


def page_path(i: int) -> str:
    return f"section-{i % N_SECTIONS:02d}/page-{i:07d}"


def pool_pages(size: int) -> list[dict]:
    """`size` distinct bodies; their links to other pages point at pages every site has."""
    g = gen.Gen(size, seed=7, code="real")
    g.paths = [page_path(i) for i in range(size)]
    pages = [g.page(i) for i in range(size)]
    # Zola reads `{{ name(...) }}` and `{% name() %}` even inside code blocks as shortcode
    # calls; real code has such text now and then.
    for p in pages:
        p["body"] = p["body"].replace("{{", "{ {").replace("{%", "{ %").replace("%}", "% }").replace("}}", "} }")
    return pages


def write_content(content: Path, pool: list[dict], n: int, more: str) -> None:
    gen.write(content / "_index.md", '+++\ntitle = "Home"\n+++\n\nThe home page.\n')
    for s in range(N_SECTIONS):
        gen.write(content / f"section-{s:02d}" / "_index.md",
                  f'+++\ntitle = "Section {s}"\nsort_by = "date"\npaginate_by = 10\n+++\n\nSection {s}.\n')
    start = dt.datetime(2000, 1, 1, 8, 0, 0)
    for i in range(n):
        p = pool[i % len(pool)]
        date = (start + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = ", ".join(gen.toml_str(t) for t in p["tags"])
        title = re.sub(r" \d+$", "", p["title"]) + f" {i}"
        path = content / f"{page_path(i)}.md"
        if i < N_SECTIONS:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"+++\ntitle = {gen.toml_str(title)}\ndate = {date}\n"
                    f"description = {gen.toml_str(p['description'])}\n[taxonomies]\ntags = [{tags}]\n+++\n\n")
            f.write(p["body"].replace("{MORE}", more))


def write_zola_site(root: Path, pool: list[dict], n: int) -> None:
    if root.exists():
        shutil.rmtree(root)
    gen.write(root / "config.toml", ZOLA_CONFIG)
    for name, text in ZOLA_TEMPLATES.items():
        gen.write(root / "templates" / name, text)
    (root / "static").mkdir(parents=True, exist_ok=True)
    write_content(root / "content", pool, n, "<!-- more -->")


def sitegen_from_zola(sitegen: Path, zola_site: Path, dest: Path, pool: list[dict], n: int) -> None:
    """The imported config and templates of a small copy, with the N pages written directly."""
    if dest.exists():
        shutil.rmtree(dest)
    small = dest.parent / (dest.name + "-import-src")
    write_zola_site(small, pool, min(n, 50))
    r = subprocess.run([str(sitegen), "import", "zola", str(small), str(dest)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"error: sitegen import zola failed:\n{r.stdout}")
    shutil.rmtree(small)
    content = next(p for p in [dest / "site" / "content", dest / "content"] if p.is_dir())
    shutil.rmtree(content)
    write_content(content, pool, n, "<!-- more -->")


def measure(name: str, cmd: list[str], out: Path, runs: int, workdir: Path, keep_out: bool = False,
            before=None) -> dict:
    """`runs` builds under /usr/bin/time -v, each into an empty output folder or, with
    `keep_out`, over the last build's output (`before()` runs first, untimed)."""
    times, rss, user, system = [], [], [], []
    log_file = workdir / f"{name}.time.txt"
    for _ in range(runs):
        if out.exists() and not keep_out:
            shutil.rmtree(out)
        if before:
            before()
        # Each build starts with nothing left to write back (untimed): otherwise the dirty
        # pages of the runs before it throttle its writes, and later runs get slower.
        os.sync()
        log_file.unlink(missing_ok=True)
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", "-o", str(log_file)] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            log(f"{name} failed:\n{r.stderr[-3000:]}")
            return {"name": name, "failed": True}
        t = log_file.read_text()
        rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024)
        user.append(float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)))
        system.append(float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1)))
        times.append(wall)
        log(f"  {name}: {wall:.2f} s, {rss[-1]:.0f} MB")
    files = sum(len(f) for _, _, f in os.walk(out))
    return {
        "name": name, "runs": runs, "times": times, "median_s": statistics.median(times),
        "rss_mb": rss, "rss_median_mb": statistics.median(rss),
        "user_s": statistics.median(user), "system_s": statistics.median(system), "files": files,
    }


def merge(ms: list[dict]) -> dict:
    """One tool's single-run measurements as one result (medians)."""
    if any(m.get("failed") for m in ms):
        return {"name": ms[0]["name"], "failed": True}
    times = [t for m in ms for t in m["times"]]
    rss = [r for m in ms for r in m["rss_mb"]]
    return {
        "name": ms[0]["name"], "runs": len(times), "times": times, "median_s": statistics.median(times),
        "rss_mb": rss, "rss_median_mb": statistics.median(rss),
        "user_s": statistics.median(m["user_s"] for m in ms), "system_s": statistics.median(m["system_s"] for m in ms),
        "files": ms[-1]["files"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pool", type=int, default=2000, help="distinct page bodies")
    ap.add_argument("--zola-max", type=int, default=200000, help="largest site Zola builds")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "target" / "scale"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--rebuild", action="store_true",
                    help="also time builds over an existing output: sitegen with nothing changed and with every "
                         "page changed (a template edit), Zola's (it empties its output folder itself)")
    args = ap.parse_args()
    sitegen = Path(os.environ.get("SITEGEN", ROOT / "target" / "release" / "sitegen")).resolve()
    zola = os.environ.get("ZOLA")
    if not sitegen.exists():
        sys.exit(f"error: no sitegen at {sitegen} (cargo build --release, or set SITEGEN)")
    if not zola:
        log("ZOLA is not set: sitegen only (build Zola 0.22.1 from github:getzola/zola for the comparison)")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    log(f"generating a pool of {args.pool} bodies")
    pool = pool_pages(args.pool)
    results = []
    for n in sizes:
        log(f"N = {n}: writing the sites")
        zsite, ssite = work / f"zola-{n}", work / f"sitegen-{n}"
        sitegen_from_zola(sitegen, zsite, ssite, pool, n)
        row = {"pages": n}
        with_zola = bool(zola) and n <= args.zola_max
        if with_zola:
            write_zola_site(zsite, pool, n)
        # Runs interleaved (sitegen, Zola, sitegen, ...), so both see the same machine.
        runs = {"sitegen": [], "zola": []}
        for _ in range(args.runs):
            runs["sitegen"].append(measure(f"sitegen-{n}", [str(sitegen), "--root", str(ssite), "-q", "build"],
                                           ssite / "public", 1, work))
            if with_zola:
                runs["zola"].append(measure(f"zola-{n}", [zola, "--root", str(zsite), "build", "--force"],
                                            zsite / "public", 1, work))
        for tool, ms in runs.items():
            if ms:
                row[tool] = merge(ms)
        if args.rebuild:
            rebuild(row, sitegen, ssite, zola if with_zola else None, zsite, args.runs, work)
        results.append(row)
        if not args.keep:
            shutil.rmtree(ssite, ignore_errors=True)
            shutil.rmtree(zsite, ignore_errors=True)
    report = render(results, sizes)
    print(report)
    (ROOT / "bench" / "target").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "target" / "scale-results.md").write_text(report)
    (ROOT / "bench" / "target" / "scale-results.json").write_text(json.dumps(results, indent=1))


def rebuild(row: dict, sitegen: Path, ssite: Path, zola: str | None, zsite: Path, runs: int, work: Path) -> None:
    """Builds over the existing output, on the disk the sites are on: the write path (hard
    links for unchanged files, writes, the old output's removal, the swap)."""
    base = next(ssite.rglob("templates/base.html"))
    edits = iter(range(1_000_000))

    def edit_template():
        with open(base, "a", encoding="utf-8") as f:
            f.write(f"\n<!-- edit {next(edits)} -->\n")

    cmd = [str(sitegen), "--root", str(ssite), "-q", "build"]
    measure(f"sitegen-{row['pages']}-warm", cmd, ssite / "public", 1, work)  # an output to build over
    kinds = {"unchanged": [], "all changed": [], "zola": []}
    for _ in range(runs):
        kinds["unchanged"].append(measure(f"sitegen-{row['pages']}-unchanged", cmd, ssite / "public", 1, work, True))
        kinds["all changed"].append(measure(f"sitegen-{row['pages']}-changed", cmd, ssite / "public", 1, work, True,
                                            edit_template))
        if zola:
            kinds["zola"].append(measure(f"zola-{row['pages']}-rebuild", [zola, "--root", str(zsite), "build", "--force"],
                                         zsite / "public", 1, work, True))
    row["rebuild"] = {k: merge(v) for k, v in kinds.items() if v}


def render(results: list[dict], sizes: list[int]) -> str:
    lines = ["| pages | sitegen wall | Zola wall | ratio | sitegen µs/page | sitegen peak RSS | Zola peak RSS | sitegen KB/page |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s, z = r["sitegen"], r.get("zola")
        if s.get("failed"):
            lines.append(f"| {r['pages']:,} | failed | | | | | | |")
            continue
        zw = f"{z['median_s']:.2f} s" if z and not z.get("failed") else "–"
        ratio = f"{s['median_s'] / z['median_s']:.2f}x" if z and not z.get("failed") else "–"
        zr = f"{z['rss_median_mb']:,.0f} MB" if z and not z.get("failed") else "–"
        lines.append(
            f"| {r['pages']:,} | {s['median_s']:.2f} s | {zw} | {ratio} | {s['median_s'] / r['pages'] * 1e6:.0f} | "
            f"{s['rss_median_mb']:,.0f} MB | {zr} | {s['rss_median_mb'] * 1024 / r['pages']:.1f} |")
    if any("rebuild" in r for r in results):
        lines += ["", "Builds over an existing output (medians; user and system CPU seconds):", "",
                  "| pages | sitegen, nothing changed | sitegen, every page changed | Zola (empties its output first) |",
                  "|---:|---:|---:|---:|"]
        for r in results:
            b = r.get("rebuild")
            if not b:
                continue
            cell = lambda m: (f"{m['median_s']:.2f} s ({m['user_s']:.2f} u, {m['system_s']:.2f} s)"  # noqa: E731
                              if m and not m.get("failed") else "–")
            lines.append(f"| {r['pages']:,} | {cell(b.get('unchanged'))} | {cell(b.get('all changed'))} | {cell(b.get('zola'))} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
