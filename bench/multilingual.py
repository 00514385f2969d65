#!/usr/bin/env python3
"""Multilingual build benchmark: sitegen vs Hugo on the same content in 4 languages.

Generates PAGES pages (default 2,500) in each of 4 languages (English, the default, plus
French, German and Japanese: 10,000 pages in all) with the content generator and the minimal
Hugo layouts of `bench/build.py`, in the layout both tools read: `page.md` beside
`page.fr.md`, `page.de.md`, `page.ja.md` (Hugo's filename suffixes; sitegen's, as in Zola).
Both render each page, section, term, feed and the sitemap per language; the Hugo layouts
get a language switcher (`.Translations`) like sitegen's default theme has. Highlighting is
off (the languages are what is measured).

Timed with hyperfine (`--runs`, default 3, after 1 warm-up), cold (output removed before
each run), with `/usr/bin/time -v` for the peak RSS; medians and the sitegen/Hugo ratio are
printed, and the same build of a single-language site with as many pages (10,000) is timed
as a reference: the cost of languages is the difference.

    python3 bench/multilingual.py [--pages 2500] [--runs 3]
Environment: SITEGEN=/path/to/sitegen, HUGO=/path/to/hugo.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("build_bench", BENCH / "build.py")
bb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bb)

LANGS = [("en", "Bench site"), ("fr", "Site de mesure"), ("de", "Messseite"), ("ja", "ベンチサイト")]


def pages_of(n: int) -> list[dict]:
    g = bb.Gen(n)
    return [g.page(i) for i in range(n)]


def write_sitegen(root: Path, pages: list[dict], languages: list[tuple[str, str]]) -> None:
    bb.write_sitegen_site(root, pages, len(pages), False)
    cfg = (root / "config.toml").read_text(encoding="utf-8")
    for code, title in languages[1:]:
        cfg += f'\n[languages.{code}]\ntitle = "{title}"\n'
    (root / "config.toml").write_text(cfg, encoding="utf-8")
    content = root / "site" / "content"
    for code, _ in languages[1:]:
        for md in list(content.rglob("*.md")):
            if md.name.count(".") > 1:
                continue
            text = md.read_text(encoding="utf-8")
            text = text.replace('title = "', f'title = "[{code}] ', 1)
            md.with_name(md.stem + f".{code}.md").write_text(text, encoding="utf-8")


SWITCHER = """    <nav class="lang-switch">
      {{- range .AllTranslations }}
      <a href="{{ .Permalink }}" hreflang="{{ .Language.Lang }}">{{ .Language.LanguageName }}</a>
      {{- end }}
    </nav>
  </header>"""


def write_hugo(root: Path, pages: list[dict], languages: list[tuple[str, str]], hugo: Path) -> None:
    bb.write_hugo_site(root, pages, len(pages), False, hugo)
    cfg = (root / "hugo.toml").read_text(encoding="utf-8")
    cfg = cfg.replace('baseURL = "https://example.com/"', 'baseURL = "https://example.com/"\ndefaultContentLanguage = "en"', 1)
    cfg += "\n"
    for w, (code, title) in enumerate(languages, 1):
        cfg += f'[languages.{code}]\nweight = {w}\ntitle = "{title}"\nlanguageName = "{code}"\n'
    (root / "hugo.toml").write_text(cfg, encoding="utf-8")
    base = root / "layouts" / "baseof.html"
    html = base.read_text(encoding="utf-8").replace('<html lang="en">', '<html lang="{{ site.Language.Lang }}">')
    html = html.replace("  </header>", SWITCHER, 1)
    base.write_text(html, encoding="utf-8")
    content = root / "content"
    for code, _ in languages[1:]:
        for md in list(content.rglob("*.md")):
            if md.name.count(".") > 1:
                continue
            text = md.read_text(encoding="utf-8")
            text = text.replace('title = "', f'title = "[{code}] ', 1)
            md.with_name(md.stem + f".{code}.md").write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2500, help="pages per language")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    sitegen = bb.ensure_sitegen()
    hugo = Path(os.environ["HUGO"]) if os.environ.get("HUGO") else bb.ensure_hugo()
    hyperfine = bb.ensure_hyperfine(False)
    bb.ensure_gnu_time()
    work = a.workdir or bb.default_workdir() / "multilingual"
    work.mkdir(parents=True, exist_ok=True)
    n = a.pages
    total = n * len(LANGS)
    sites = {
        "sitegen 4 languages": (work / "sg4", lambda r: write_sitegen(r, pages_of(n), LANGS)),
        "hugo 4 languages": (work / "hugo4", lambda r: write_hugo(r, pages_of(n), LANGS, hugo)),
        "sitegen 1 language": (work / "sg1", lambda r: write_sitegen(r, pages_of(total), LANGS[:1])),
        "hugo 1 language": (work / "hugo1", lambda r: write_hugo(r, pages_of(total), LANGS[:1], hugo)),
    }
    results = {}
    for name, (root, make) in sites.items():
        bb.log(f"generating {name} in {root}")
        make(root)
        out = root / "public"
        if name.startswith("sitegen"):
            cmd = [str(sitegen), "--root", str(root), "build", "-q"]
        else:
            cmd = [str(hugo), "--source", str(root), "--quiet", "--destination", str(out)]
        prepare = ["rm", "-rf", str(out)]
        results[name] = bb.measure(name.replace(" ", "-"), cmd, prepare, a.runs, 1, hyperfine, work)
        results[name]["outputs"] = bb.output_summary(out)
    print(f"\n{n:,} pages x {len(LANGS)} languages ({total:,} pages) vs {total:,} pages in one language; "
          f"cold builds, medians of {a.runs} runs, highlighting off\n")
    print("| build | median s | min–max s | CPU s | peak RSS MB | files written |")
    print("|---|---|---|---|---|---|")
    for name, m in results.items():
        print(f"| {name} | {m['median_s']:.3f} | {m['min_s']:.3f}–{m['max_s']:.3f} | "
              f"{m['user_s'] + m['system_s']:.2f} | {m['rss_median_mb']:.0f} | {m['outputs']['files']:,} |")
    r4 = results["sitegen 4 languages"]["median_s"] / results["hugo 4 languages"]["median_s"]
    r1 = results["sitegen 1 language"]["median_s"] / results["hugo 1 language"]["median_s"]
    cost = results["sitegen 4 languages"]["median_s"] / results["sitegen 1 language"]["median_s"]
    print(f"\nsitegen / Hugo, 4 languages: {r4:.2f}x   (1 language, same page count: {r1:.2f}x)")
    print(f"sitegen 4 languages / 1 language: {cost:.2f}x")


if __name__ == "__main__":
    main()
