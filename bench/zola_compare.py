#!/usr/bin/env python3
"""Zola's build of a site against sitegen's build of its import: the same pages, the same
visible text.

    bench/zola_compare.py --zola PATH/TO/zola --sitegen target/release/sitegen SITE [SITE...]

For each SITE (a Zola site: its config.toml and content/), it runs `zola build` into a temp
folder, `sitegen import zola SITE` and `sitegen build` of the result, and then compares every
HTML page Zola wrote with sitegen's page at the same path: the visible text (everything but
tags, <script>, <style> and <title>), compared modulo whitespace. It prints, per site, how many of
Zola's pages exist in sitegen's output and how many of those have the same text, and the
first difference of each page that differs (`--show N` pages).
"""

import argparse
import difflib
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile


class Text(html.parser.HTMLParser):
    SKIP = {"script", "style", "template", "noscript", "title"}
    # Tags that separate words; inline tags (spans of highlighted code) do not.
    BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td",
        "th", "table", "pre", "section", "article", "header", "footer", "nav", "main",
        "blockquote", "dt", "dd", "dl", "hr", "figure", "figcaption", "aside", "details",
        "summary", "body", "a", "img", "button", "label", "option",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(path):
    p = Text()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    return " ".join("".join(p.parts).split())


def html_pages(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".html"):
                out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def is_redirect(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(2000).lower()
    return 'http-equiv="refresh"' in head or "http-equiv=refresh" in head


def compare(site, zola, sitegen, show):
    work = tempfile.mkdtemp(prefix="zola-compare-")
    try:
        zsrc = os.path.join(work, "zola-src")
        shutil.copytree(site, zsrc, ignore=shutil.ignore_patterns("public"))
        zout = os.path.join(work, "zola-public")
        r = subprocess.run([zola, "build", "--output-dir", zout], cwd=zsrc, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{site}: zola build failed:\n{r.stderr}", file=sys.stderr)
            return None
        dest = os.path.join(work, "imported")
        r = subprocess.run([sitegen, "import", "zola", site, dest], capture_output=True, text=True)
        r = subprocess.run([sitegen, "--root", dest, "build", "-q"], capture_output=True, text=True)
        # Files Zola makes itself (its search index script) or the site's config names but
        # does not have: empty placeholders, so the pages can be compared.
        for _ in range(5):
            names = re.findall(r"no static file `([^`]+)`", r.stderr)
            if r.returncode == 0 or not names:
                break
            for n in names:
                p = os.path.join(dest, "static", n)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                open(p, "w").close()
                print(f"{site}: placeholder for `{n}`", file=sys.stderr)
            r = subprocess.run([sitegen, "--root", dest, "build", "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{site}: sitegen build failed:\n{r.stderr}", file=sys.stderr)
            return None
        sout = os.path.join(dest, "public")
        pages = [p for p in html_pages(zout) if not is_redirect(os.path.join(zout, p))]
        present = [p for p in pages if os.path.exists(os.path.join(sout, p))]
        same, differ = [], []
        for p in present:
            a, b = visible_text(os.path.join(zout, p)), visible_text(os.path.join(sout, p))
            # "Modulo whitespace": the same characters once all whitespace is left out (Zola's
            # line numbers are inline spans, sitegen's table cells, say).
            (same if "".join(a.split()) == "".join(b.split()) else differ).append((p, a, b))
        n = len(pages)
        print(f"== {site}")
        print(f"Zola pages (redirects left out): {n}")
        print(f"at the same path in sitegen's build: {len(present)} ({100 * len(present) / max(n, 1):.1f}%)")
        print(f"same visible text: {len(same)} ({100 * len(same) / max(n, 1):.1f}% of Zola's pages)")
        for p, a, b in differ[:show]:
            sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
            for tag, i1, i2, j1, j2 in sm.get_opcodes():
                if tag != "equal":
                    print(f"  {p}: zola {a[max(0, i1 - 30):i2 + 30]!r}")
                    print(f"  {' ' * len(p)}  sitegen {b[max(0, j1 - 30):j2 + 30]!r}")
                    break
        missing = [p for p in pages if p not in present]
        for p in missing[:show]:
            print(f"  missing: {p}")
        return len(same), n
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zola", required=True)
    ap.add_argument("--sitegen", default="target/release/sitegen")
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("sites", nargs="+")
    a = ap.parse_args()
    for s in a.sites:
        compare(os.path.abspath(s), os.path.abspath(a.zola), os.path.abspath(a.sitegen), a.show)


if __name__ == "__main__":
    main()
