// sitegen's search client: no framework, no WASM. It reads the entry file named by the
// box's `data-index` (`search/LANG.json`) and, per query, only the fragments that hold the
// query's words (see src/search/mod.rs for the format). Fragment names are hashes of their
// bytes, so the browser and the CDN may keep them forever.
(function () {
  "use strict";

  // Code point order, as the index is sorted (JavaScript's `<` compares UTF-16 units).
  function cmp(a, b) {
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var x = a.codePointAt(i), y = b.codePointAt(j);
      if (x !== y) return x < y ? -1 : 1;
      i += x > 0xffff ? 2 : 1;
      j += y > 0xffff ? 2 : 1;
    }
    return i < a.length ? 1 : j < b.length ? -1 : 0;
  }

  var CJK = /[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f\uff66-\uff9f\u{20000}-\u{2ffff}]/u;
  var WORD = /[\p{Alphabetic}\p{N}]/u;

  // The query's words, split as the index splits text (src/search/tokenize.rs).
  function words(q) {
    var out = [], plain = "", run = [];
    function flushRun() {
      if (run.length === 1) out.push({ w: run[0], cjk: true, run: run.join("") });
      for (var k = 0; k + 1 < run.length; k++) out.push({ w: run[k] + run[k + 1], cjk: true, run: run.join("") });
      run = [];
    }
    function flushPlain() {
      if (plain) out.push({ w: plain, cjk: false });
      plain = "";
    }
    for (var c of q) {
      if (CJK.test(c)) { flushPlain(); run.push(c); }
      else if (WORD.test(c)) { flushRun(); plain += c.toLowerCase(); }
      else { flushRun(); flushPlain(); }
    }
    flushRun();
    flushPlain();
    return out;
  }

  function Index(url) {
    this.url = url;
    this.cache = new Map();
    this.entry = fetch(url, { cache: "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error("search index: " + r.status);
      return r.json();
    });
  }

  Index.prototype.fragment = function (hash) {
    var self = this;
    if (!this.cache.has(hash)) {
      this.cache.set(hash, this.entry.then(function (e) {
        return fetch(new URL(e.dir + hash + ".json", self.url)).then(function (r) { return r.json(); });
      }));
    }
    return this.cache.get(hash);
  };

  // The index of the term fragment whose range holds `key`.
  function locate(chunks, key) {
    var lo = 0, hi = chunks.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (cmp(chunks[mid][0], key) <= 0) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  Index.prototype.chunkOf = function (e, key) {
    return this.fragment(e.chunks[locate(e.chunks, key)][1]);
  };

  // Packed postings (src/search/mod.rs, `push_number`) → Map(doc id → score).
  var DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
  var VALUE = new Int8Array(128).fill(0);
  for (var d = 0; d < 64; d++) VALUE[DIGITS.charCodeAt(d)] = d;
  function numbers(packed) {
    var out = [], acc = 0;
    for (var k = 0; k < packed.length; k++) {
      var v = VALUE[packed.charCodeAt(k)];
      acc = acc * 32 + (v & 31);
      if (v < 32) { out.push(acc); acc = 0; }
    }
    return out;
  }
  function postings(packed) {
    var m = new Map(), id = 0, n = numbers(packed);
    for (var k = 0; k < n.length; k += 2) { id += n[k]; m.set(id, n[k + 1]); }
    return m;
  }

  // The documents matching one query word (with scores), following word forms to stems and,
  // for the word being typed, keys that start with it.
  Index.prototype.word = async function (e, word, prefix) {
    var w = word.w, chunk = await this.chunkOf(e, w), keys = new Map();
    function add(t, key, weight) {
      if (t[key] && !keys.has(key)) keys.set(key, { flat: t[key], weight: weight });
    }
    add(chunk.t, w, 1);
    if (chunk.f[w]) {
      var s = chunk.f[w];
      add((await this.chunkOf(e, s)).t, s, 1);
    }
    if (!keys.size && !word.cjk) {
      // A form the site never wrote: its longest indexed prefix that is most of it.
      var best = "";
      for (var k in chunk.t) {
        if (k.length > best.length && w.startsWith(k) && k.length >= Math.max(3, w.length - 3)) best = k;
      }
      if (best) add(chunk.t, best, 0.9);
    }
    if (prefix && (word.cjk || w.length >= 2)) {
      var first = locate(e.chunks, w), last = Math.min(locate(e.chunks, w + "\u{10ffff}"), first + 2);
      var stems = [];
      for (var c = first; c <= last && keys.size < 40; c++) {
        var ch = await this.fragment(e.chunks[c][1]);
        for (var key in ch.t) if (key.startsWith(w) && key.indexOf(":") < 0) add(ch.t, key, 0.7);
        for (var form in ch.f) if (form.startsWith(w)) stems.push(ch.f[form]);
      }
      for (var s2 of stems.slice(0, 10)) if (!keys.has(s2)) add((await this.chunkOf(e, s2)).t, s2, 0.7);
    }
    var docs = new Map();
    keys.forEach(function (v) {
      var p = postings(v.flat);
      var idf = Math.log(1 + e.docs / p.size);
      p.forEach(function (score, id) {
        var x = score * idf * v.weight;
        if (!(docs.get(id) >= x)) docs.set(id, x);
      });
    });
    return { docs: docs, stems: Array.from(keys.keys()) };
  };

  Index.prototype.filter = async function (e, key) {
    var t = (await this.chunkOf(e, key)).t;
    return new Set(postings(t[key] || "").keys());
  };

  // The top `limit` results of `query` with `filters` (keys such as `s:docs`).
  Index.prototype.search = async function (query, filters, limit) {
    var e = await this.entry, ws = words(query), self = this;
    if (e.version !== 1) throw new Error("search index: unknown version " + e.version);
    if (!ws.length) return { results: [], words: ws, stems: [] };
    var typing = !/\s$/.test(query);
    var found = await Promise.all(ws.map(function (w, i) { return self.word(e, w, typing && i === ws.length - 1); }));
    var sets = await Promise.all(filters.map(function (f) { return self.filter(e, f); }));
    var total = new Map();
    found[0].docs.forEach(function (s, id) {
      var sum = s;
      for (var k = 1; k < found.length; k++) {
        var x = found[k].docs.get(id);
        if (x === undefined) return;
        sum += x;
      }
      if (sets.every(function (set) { return set.has(id); })) total.set(id, sum);
    });
    var ranked = Array.from(total).sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    var top = ranked.slice(0, limit);
    var results = await Promise.all(top.map(async function (r) {
      var shard = await self.fragment(e.meta[Math.floor(r[0] / e.meta_size)]);
      var d = shard[r[0] % e.meta_size];
      return { url: new URL(d.u, new URL("../", self.url)).href, title: d.t, text: d.x, section: d.s, score: r[1] };
    }));
    var stems = [];
    found.forEach(function (f) { stems.push.apply(stems, f.stems); });
    return { results: results, total: ranked.length, words: ws, stems: stems };
  };

  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // A regex of what to highlight: each query word (and each stem it matched) at a word's
  // start, to the word's end; CJK runs as written.
  function highlighter(ws, stems) {
    var parts = [];
    ws.forEach(function (w) { parts.push(w.cjk ? escapeRe(w.run) : "(?<![\\p{L}\\p{N}])" + escapeRe(w.w) + "[\\p{L}\\p{N}]*"); });
    stems.forEach(function (s) { if (!CJK.test(s)) parts.push("(?<![\\p{L}\\p{N}])" + escapeRe(s) + "[\\p{L}\\p{N}]*"); });
    return parts.length ? new RegExp(parts.join("|"), "giu") : null;
  }

  function excerpt(text, re, length) {
    var start = 0;
    if (re) {
      re.lastIndex = 0;
      var m = re.exec(text);
      if (m) {
        start = Math.max(0, m.index - 40);
        var space = text.indexOf(" ", start);
        if (start > 0 && space >= 0 && space < m.index) start = space + 1;
      }
    }
    var end = Math.min(text.length, start + length * 7);
    var cut = text.lastIndexOf(" ", end);
    if (end < text.length && cut > start + 20) end = cut;
    return (start > 0 ? "… " : "") + text.slice(start, end) + (end < text.length ? " …" : "");
  }

  // `text` as DOM nodes with the matches in <mark>.
  function marked(parent, text, re) {
    var at = 0;
    if (re) {
      re.lastIndex = 0;
      var m;
      while ((m = re.exec(text)) && m[0].length) {
        parent.appendChild(document.createTextNode(text.slice(at, m.index)));
        var mark = document.createElement("mark");
        mark.textContent = m[0];
        parent.appendChild(mark);
        at = m.index + m[0].length;
      }
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
  }

  var boxes = 0;

  // A filter a theme asked for by its label (`data-section-label`, `data-term-label`): made
  // here, hidden until the entry file says there is something to filter by.
  function filter(box, cls, label, all) {
    var sel = box.querySelector("select." + cls);
    if (sel || !label) return sel;
    sel = document.createElement("select");
    sel.className = cls;
    sel.setAttribute("aria-label", label);
    sel.hidden = true;
    var o = document.createElement("option");
    o.value = "";
    o.textContent = all || "";
    sel.appendChild(o);
    box.appendChild(sel);
    return sel;
  }

  function setup(box) {
    var input = box.querySelector("input[type=search]");
    if (!input) return;
    // What a theme may leave out (the default theme's box is an input alone, so every page
    // carries a few hundred bytes less) is made here: the filters, the result list, and
    // the input's combobox attributes.
    var sectionSel = filter(box, "search-section", box.dataset.sectionLabel, box.dataset.allSections);
    var termSel = filter(box, "search-term", box.dataset.termLabel, box.dataset.allTerms);
    var list = box.querySelector(".search-results");
    if (!list) {
      list = document.createElement("ul");
      list.className = "search-results";
      list.setAttribute("role", "listbox");
      list.hidden = true;
      box.appendChild(list);
    }
    if (!list.id) list.id = "search-results" + (boxes ? "-" + boxes : "");
    boxes++;
    [["autocomplete", "off"], ["spellcheck", "false"], ["role", "combobox"], ["aria-expanded", "false"],
     ["aria-controls", list.id], ["aria-autocomplete", "list"]].forEach(function (a) {
      if (!input.hasAttribute(a[0])) input.setAttribute(a[0], a[1]);
    });
    var index = null, seq = 0, timer = 0, selected = -1;

    function load() {
      if (index) return index;
      index = new Index(new URL(box.dataset.index, location.href).href);
      index.entry.then(function (e) {
        if (sectionSel && e.sections.length > 1) {
          e.sections.forEach(function (s) {
            var o = document.createElement("option");
            o.value = "s:" + s[0];
            o.textContent = s[1] || s[0] || "/";
            sectionSel.appendChild(o);
          });
          sectionSel.hidden = false;
        }
        if (termSel && e.terms.length) {
          e.terms.forEach(function (t) {
            var o = document.createElement("option");
            o.value = "t:" + t[0];
            o.textContent = t[0].slice(t[0].indexOf(":") + 1) + " (" + t[1] + ")";
            termSel.appendChild(o);
          });
          termSel.hidden = false;
        }
      });
      return index;
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      selected = -1;
    }

    function select(k) {
      var items = list.querySelectorAll("li[role=option]");
      if (!items.length) return;
      selected = (k + items.length) % items.length;
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === selected ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[selected].id);
      items[selected].scrollIntoView({ block: "nearest" });
    }

    async function run() {
      var q = input.value, mine = ++seq;
      if (!q.trim()) { list.replaceChildren(); close(); return; }
      var filters = [sectionSel && sectionSel.value, termSel && termSel.value].filter(Boolean);
      var r;
      try {
        r = await load().search(q, filters, 10);
      } catch (err) {
        if (mine === seq) { list.replaceChildren(); close(); }
        console.error(err);
        return;
      }
      if (mine !== seq) return;
      var e = await index.entry, re = highlighter(r.words, r.stems);
      list.replaceChildren();
      selected = -1;
      if (!r.results.length) {
        var none = document.createElement("li");
        none.className = "search-none";
        none.textContent = box.dataset.noResults || "No results";
        list.appendChild(none);
      }
      r.results.forEach(function (d, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = list.id + "-" + i;
        var a = document.createElement("a");
        a.href = d.url;
        var title = document.createElement("span");
        title.className = "search-title";
        marked(title, d.title || d.url, re);
        var p = document.createElement("span");
        p.className = "search-excerpt";
        marked(p, excerpt(d.text, re, e.excerpt_length), re);
        a.append(title, p);
        li.appendChild(a);
        li.addEventListener("mousemove", function () { if (selected !== i) select(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(run, 60);
    }

    input.addEventListener("focus", load);
    input.addEventListener("input", later);
    [sectionSel, termSel].forEach(function (s) { if (s) s.addEventListener("change", run); });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) run(); else select(selected + 1); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); select(selected - 1); }
      else if (ev.key === "Enter") {
        var items = list.querySelectorAll("li[role=option] a");
        if (items.length) { ev.preventDefault(); location.href = items[Math.max(selected, 0)].href; }
      } else if (ev.key === "Escape") {
        if (list.hidden) input.value = ""; else close();
      }
    });
    document.addEventListener("click", function (ev) { if (!box.contains(ev.target)) close(); });
  }

  // For tests and other scripts: `sitegenSearch(url).search("query", [], 10)`.
  window.sitegenSearch = function (url) { return new Index(new URL(url, location.href).href); };
  function start() { document.querySelectorAll(".search[data-index]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
