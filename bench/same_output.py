#!/usr/bin/env python3
"""Same output before and after a change: builds the same sites with two sitegen binaries
and diffs the output trees byte for byte.

Sites: the bundled documentation site (the repository root), every fixture site under
tests/fixtures/, and a generated site of --pages pages (bench/build.py's generator, with
highlighting on, so code blocks, tags, sections, pagination and feeds are all exercised).
Each site is copied to a temp folder once and built by each binary into its own output
folder, so both see the same input (the image cache is separate per binary, so a warm cache
cannot hide a difference).

Usage:
  python3 bench/same_output.py --before /tmp/sitegen-before --after target/release/sitegen
  python3 bench/same_output.py --before OLD --after NEW --pages 1000
Prints one line per site and exits 1 if any tree differs (listing the first differences).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))


def tree_hashes(d: Path) -> dict[str, str]:
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file():
            out[p.relative_to(d).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def copy_site(src: Path, dst: Path) -> None:
    ignore = shutil.ignore_patterns("target", "public", ".sitegen", ".git", "bench", "tests", "node_modules")
    shutil.copytree(src, dst, ignore=ignore)


def build(binary: Path, root: Path, out: Path) -> tuple[int, str]:
    cmd = [str(binary), "--root", str(root), "-q", "build", "--output", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def compare(name: str, root: Path, before: Path, after: Path, work: Path) -> bool:
    results = []
    for label, binary in (("before", before), ("after", after)):
        # A cache folder of its own per binary: both really make their images.
        shutil.rmtree(root / ".sitegen", ignore_errors=True)
        out = work / f"{name}-{label}"
        code, log = build(binary, root, out)
        results.append((code, log, out))
    (c1, l1, o1), (c2, l2, o2) = results
    if c1 != c2:
        print(f"DIFFERENT {name}: exit codes {c1} (before) vs {c2} (after)\n{l1}\n{l2}")
        return False
    if c1 != 0:
        same_errors = l1 == l2
        print(f"{'same' if same_errors else 'DIFFERENT'} {name}: both fail; errors {'equal' if same_errors else 'differ'}")
        if not same_errors:
            print(l1, l2, sep="\n---\n")
        return same_errors
    h1, h2 = tree_hashes(o1), tree_hashes(o2)
    only1 = sorted(set(h1) - set(h2))
    only2 = sorted(set(h2) - set(h1))
    changed = sorted(k for k in set(h1) & set(h2) if h1[k] != h2[k])
    if not (only1 or only2 or changed):
        size = sum((o1 / k).stat().st_size for k in h1)
        print(f"same {name}: {len(h1)} files, {size:,} bytes identical")
        return True
    print(f"DIFFERENT {name}: {len(only1)} only before, {len(only2)} only after, {len(changed)} changed")
    for k in (only1[:5] + only2[:5] + changed[:10]):
        print("   ", k)
    for k in changed[:2]:
        a, b = (o1 / k).read_bytes(), (o2 / k).read_bytes()
        i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        print(f"    {k} first differs at byte {i}:\n      before: {a[max(0, i - 80):i + 80]!r}\n      after:  {b[max(0, i - 80):i + 80]!r}")
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, type=Path, help="the sitegen binary before the change")
    ap.add_argument("--after", required=True, type=Path, help="the sitegen binary after the change")
    ap.add_argument("--pages", type=int, default=1000, help="pages of the generated site (default 1000; 0: none)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder and print where it is")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sitegen-same-"))
    sites: list[tuple[str, Path]] = []
    copy_site(REPO, work / "src-docs")
    sites.append(("docs site", work / "src-docs"))
    for f in sorted((REPO / "tests" / "fixtures").iterdir()):
        # sitegen sites only (`tests/fixtures/zola-docs` is a Zola site, for the import tests).
        if (f / "config.toml").exists() and (f / "site").is_dir():
            copy_site(f, work / f"src-{f.name}")
            sites.append((f"fixture {f.name}", work / f"src-{f.name}"))
    if args.pages:
        import build as bench_build  # bench/build.py's generator

        g = bench_build.Gen(args.pages)
        pages = [g.page(i) for i in range(args.pages)]
        root = work / f"src-generated-{args.pages}"
        bench_build.write_sitegen_site(root, pages, args.pages, True)
        sites.append((f"generated {args.pages} pages", root))

    ok = True
    for name, root in sites:
        ok &= compare(name.replace(" ", "-"), root, args.before.resolve(), args.after.resolve(), work)
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("all outputs identical" if ok else "outputs differ")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
