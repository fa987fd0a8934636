// flame's in-browser script: click to zoom, search, tooltips, URL state, label fitting.
// It holds no frame data: names and positions are read from the document it is embedded in.
// Frames are <rect>s in #frames, whose viewBox is in count units; zoom changes that viewBox.
(function () {
  "use strict";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HTML_NS = "http://www.w3.org/1999/xhtml";
  const XPAD = 10;
  // Browsers keep SVG geometry in float32: zooming deeper than this would lose pixels, so the
  // rects are then re-positioned in doubles, relative to the zoomed frame, on a K-unit scale.
  const DEEP_ZOOM = 2048;
  const K = 1048576;
  const root = document.documentElement;
  const cfg = JSON.parse(root.getAttribute("data-flame"));
  function byId(id) {
    return document.getElementById(id);
  }
  const framesEl = byId("frames");
  const labelsEl = byId("labels");
  const detailsEl = byId("details");
  const matchedEl = byId("matched");
  const unzoomEl = byId("unzoom");
  const searchEl = byId("search");
  const icEl = byId("ic");
  const idleDetails = detailsEl.textContent;
  // A static array: indexing a live collection is slower, and frames never change.
  const rects = Array.prototype.slice.call(framesEl.getElementsByTagName("rect"));
  const n = rects.length;
  const fh = cfg.fh;
  const ROOT = cfg.t;
  // In grid mode (totals above 2^24) positions are rounded; exact ones are rebuilt below.
  const GRID_MODE = cfg.tu !== cfg.t;
  const ROOT_UNITS = cfg.tu;
  const X = new Float64Array(n);
  const W = new Float64Array(n);
  // Exact left edges and widths in count units (the same arrays as X and W unless grid mode).
  const XE = GRID_MODE ? new Float64Array(n) : X;
  const NE = GRID_MODE ? new Float64Array(n) : W;
  const D = new Int32Array(n);
  const P = new Int32Array(n);
  const E = new Int32Array(n);
  const HID = new Uint8Array(n);
  const names = new Array(n);
  const fullWidth = new Float64Array(n).fill(-1);
  const labels = new Array(n);
  let shown = [];
  const framesH = (cfg.md + 1) * fh;

  // Read positions and depths once; parents and subtree ends follow from pre-order.
  (function readFrames() {
    const open = [];
    const packed = [];
    for (let i = 0; i < n; i++) {
      const r = rects[i];
      r.fi = i;
      X[i] = +r.getAttribute("x");
      W[i] = +r.getAttribute("width");
      const row = Math.round(+r.getAttribute("y") / fh);
      const d = cfg.inv ? row : cfg.md - row;
      D[i] = d;
      if (GRID_MODE) {
        NE[i] = +r.getAttribute("e");
        if (d > 0) {
          XE[i] = packed[d - 1] + +(r.getAttribute("g") || 0);
          packed[d - 1] = XE[i] + NE[i];
        }
        packed[d] = XE[i];
      }
      if (r.getAttribute("class") === "h") HID[i] = 1;
      while (open.length > d) E[open.pop()] = i;
      P[i] = d > 0 ? open[d - 1] : -1;
      open.push(i);
    }
    while (open.length) E[open.pop()] = n;
  })();

  // The view: the zoomed frame, the search (its term, matches and how it went: "" done, "busy",
  // "slow" given up, "text" searched as text), case, and whether the rects were re-positioned.
  let zoomedAt = 0;
  let searchTerm = "";
  let searchNote = "";
  let ignoreCase = false;
  let matches = [];
  let rebased = 0;
  let pxW = 0;

  function nameOf(i) {
    let s = names[i];
    if (s === undefined) s = names[i] = rects[i].getAttribute("t") || "";
    return s;
  }

  // ---- numbers and tooltips ----
  function group(intText) {
    return intText.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function fmtNum(v) {
    const neg = v < 0;
    v = Math.abs(v);
    const r = Math.round(v * 100) / 100;
    const whole = Math.floor(r);
    const frac = Math.round((r - whole) * 100);
    let s = group(String(whole));
    if (frac) s += "." + String(frac).padStart(2, "0").replace(/0$/, "");
    return (neg ? "-" : "") + s;
  }
  function human(bytes) {
    const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let u = 0;
    while (bytes >= 1024 && u < units.length - 1) {
      bytes /= 1024;
      u++;
    }
    return u === 0 ? fmtNum(bytes) + " bytes" : bytes.toFixed(bytes < 10 ? 2 : 1) + " " + units[u];
  }
  // Nanoseconds as the largest unit that keeps the number at 1 or more: "12.3 ms".
  function duration(ns) {
    const units = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"]];
    for (const [size, name] of units) {
      if (ns >= size) {
        const v = ns / size;
        return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + " " + name;
      }
    }
    return fmtNum(ns) + " ns";
  }
  function amount(units) {
    const v = ((units * cfg.g) / cfg.u) * cfg.f;
    if (cfg.b === 1) {
      const exact = fmtNum(v) + " bytes";
      return v >= 1024 ? human(v) + ", " + exact : exact;
    }
    if (cfg.b === 2) return duration(v);
    return fmtNum(v) + " " + cfg.c;
  }
  function pct(part, whole) {
    const p = (100 * part) / whole;
    return p === 100 ? "100%" : p.toFixed(2) + "%";
  }
  // "N samples, P%" (and "; +D%" for a differential): a frame's numbers.
  function stats(i) {
    let s = amount(NE[i]) + ", " + pct(NE[i], ROOT_UNITS);
    if (cfg.d) {
      const d = +(rects[i].getAttribute("data-d") || 0);
      const dp = (100 * d) / ROOT_UNITS;
      s += "; " + (dp > 0 ? "+" : "") + dp.toFixed(2) + "%";
    }
    return s;
  }
  // A name shown next to flame's own text is isolated (FSI ... PDI) when it holds a bidi
  // control or a right-to-left letter: a right-to-left override in it would otherwise reverse
  // the "(N samples, P%)" after it. (The same test as the SVG writer's BIDI_SENSITIVE.)
  const BIDI =
    /[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufefc\ud802\ud803\ud83a\ud83b]/;
  function iso(name) {
    return BIDI.test(name) ? "\u2068" + name + "\u2069" : name;
  }
  function tooltip(i) {
    return iso(nameOf(i)) + " (" + stats(i) + ")";
  }

  // ---- label fitting: glyph widths measured once per character with a canvas ----
  let ctx = null;
  try {
    ctx = new OffscreenCanvas(1, 1).getContext("2d");
  } catch (_e) {
    try {
      ctx = document.createElementNS(HTML_NS, "canvas").getContext("2d");
    } catch (_e2) {
      ctx = null;
    }
  }
  if (ctx) ctx.font = cfg.fs + "px " + cfg.font;
  const glyph = new Map();
  const avgGlyph = cfg.fs * cfg.fw;
  function glyphWidth(ch) {
    let w = glyph.get(ch);
    if (w === undefined) {
      w = ctx ? ctx.measureText(ch).width : avgGlyph;
      glyph.set(ch, w);
    }
    return w;
  }
  function textWidth(s) {
    let w = 0;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0xd800 && c < 0xdc00 && k + 1 < s.length) {
        w += glyphWidth(s.substr(k, 2));
        k++;
      } else {
        w += glyphWidth(s[k]);
      }
    }
    return w;
  }
  let dotsWidth = 0;
  // The longest label of frame i that fits `avail` px: the name, or a prefix and "..".
  function fit(i, avail) {
    const name = nameOf(i);
    if (fullWidth[i] < 0) fullWidth[i] = textWidth(name);
    if (fullWidth[i] <= avail) return name;
    if (!dotsWidth) dotsWidth = textWidth("..");
    const room = avail - dotsWidth;
    let w = 0;
    let k = 0;
    while (k < name.length) {
      const c = name.charCodeAt(k);
      const step = c >= 0xd800 && c < 0xdc00 && k + 1 < name.length ? 2 : 1;
      const g = glyphWidth(name.substr(k, step));
      if (w + g > room) break;
      w += g;
      k += step;
    }
    return k < 2 ? "" : iso(name.slice(0, k)) + "..";
  }

  // `s`, or as much of it as fits `avail` px followed by "..".
  function clip(s, avail) {
    if (textWidth(s) <= avail) return s;
    if (!dotsWidth) dotsWidth = textWidth("..");
    let w = dotsWidth;
    let k = 0;
    while (k < s.length && w + glyphWidth(s[k]) <= avail) w += glyphWidth(s[k++]);
    const kept = s.slice(0, k);
    // Cut inside an isolated name: close it, so the ".." stays at the end.
    return (kept.lastIndexOf("\u2068") > kept.lastIndexOf("\u2069") ? kept + "\u2069" : kept) +
      "..";
  }

  function labelY(i) {
    const row = cfg.inv ? D[i] : cfg.md - D[i];
    return cfg.top + row * fh + fh / 2 + cfg.fs * 0.35;
  }

  // Re-fits every label for the current zoom and width: arithmetic first, then DOM writes.
  function layoutLabels() {
    const z = zoomedAt;
    const x0 = XE[z];
    const zw = NE[z];
    const s = pxW / zw;
    const minPx = avgGlyph * 2 + 6;
    const next = [];
    let i = 0;
    while (i < n) {
      let l = (XE[i] - x0) * s;
      let r = (XE[i] + NE[i] - x0) * s;
      if (r <= 0 || l >= pxW || NE[i] * s < minPx) {
        i = E[i] > i ? E[i] : i + 1; // children are no wider: skip the subtree
        continue;
      }
      if (l < 0) l = 0;
      if (r > pxW) r = pxW;
      if (r - l >= minPx) {
        const text = fit(i, r - l - 6);
        if (text) next.push(i, l, text);
      }
      i++;
    }
    const keep = new Uint8Array(n);
    for (let k = 0; k < next.length; k += 3) keep[next[k]] = 1;
    for (let k = 0; k < shown.length; k++) {
      const j = shown[k];
      if (!keep[j] && labels[j]) {
        labelsEl.removeChild(labels[j]);
        labels[j] = undefined;
        rects[j].classList.remove("s");
      }
    }
    shown = [];
    for (let k = 0; k < next.length; k += 3) {
      const f = next[k];
      const x = (XPAD + next[k + 1] + 3).toFixed(1);
      let el = labels[f];
      if (!el) {
        el = labels[f] = document.createElementNS(SVG_NS, "text");
        el.setAttribute("y", labelY(f).toFixed(1));
        labelsEl.appendChild(el);
        // A thin edge sets labelled frames apart; tiny ones get none (edges would drown them).
        rects[f].classList.add("s");
      }
      if (el.lx !== x) el.setAttribute("x", el.lx = x);
      if (el.textContent !== next[k + 2]) el.textContent = next[k + 2];
      shown.push(f);
    }
  }

  // ---- zoom ----
  function setViewBox() {
    const z = zoomedAt;
    const deep = z !== 0 && (W[z] * DEEP_ZOOM < ROOT || (GRID_MODE && W[z] < 16384));
    if (deep) {
      const x0 = XE[z];
      const k = K / NE[z];
      for (let i = 0; i < n; i++) {
        // Clamped by hand: browsers clamp huge lengths on their own, which would move edges.
        const a = Math.max(-K, Math.min(2 * K, (XE[i] - x0) * k));
        const b = Math.max(-K, Math.min(2 * K, (XE[i] + NE[i] - x0) * k));
        rects[i].setAttribute("x", a);
        rects[i].setAttribute("width", b - a);
      }
      rebased = 1;
      framesEl.setAttribute("viewBox", "0 0 " + K + " " + framesH);
      return;
    }
    if (rebased) {
      for (let i = 0; i < n; i++) {
        rects[i].setAttribute("x", X[i]);
        rects[i].setAttribute("width", W[i]);
      }
      rebased = 0;
    }
    framesEl.setAttribute("viewBox", X[z] + " 0 " + W[z] + " " + framesH);
  }

  function zoom(i, keepUrl) {
    const old = zoomedAt;
    for (let a = P[old]; a >= 0; a = P[a]) rects[a].classList.remove("p");
    zoomedAt = i;
    for (let a = P[i]; a >= 0; a = P[a]) rects[a].classList.add("p");
    unzoomEl.classList.toggle("hide", i === 0);
    setViewBox();
    layoutLabels();
    if (searchTerm) updateMatched();
    if (!keepUrl) saveUrl();
  }

  // ---- search ----
  // A regular expression typed in (or given as ?s=) can backtrack for ages: `(a+)+$` against a
  // long name would freeze the tab for longer than anyone waits. A pattern without repetition
  // cannot (a match costs at most the name's length times the pattern's), so it runs here, at
  // once. Any other runs in a Web Worker made from a Blob (which a file:// document may make
  // too), and a search that takes longer than SEARCH_BUDGET ms is given up: the worker is
  // terminated and the line says so. Where no worker can be made, such a pattern is searched
  // for as plain text, and the line says that.
  const SEARCH_BUDGET = 2000;

  // The pattern of a search term: a regular expression, or the term as text when it is not one.
  function patternOf(term, forceText) {
    const flags = ignoreCase ? "i" : "";
    const text = term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (!forceText) {
      try {
        new RegExp(term, flags);
        return { source: term, flags: flags, text: false };
      } catch (_e) {
        // Not a regular expression: searched for as text, as before.
      }
    }
    return { source: text, flags: flags, text: true };
  }

  // True when a pattern cannot backtrack much: it repeats nothing (no *, +, ?, {n}) and has
  // no alternatives inside a group (k groups of two would be 2^k ways to try), so a match costs
  // at most the name's length times the pattern's. `parse|lex` or `^draw_` qualify.
  function backtracksLittle(source) {
    let inClass = false;
    let depth = 0;
    let afterOpen = false; // just after an unescaped "(": a "?" there starts (?: (?= (?<name>
    for (let k = 0; k < source.length; k++) {
      const c = source[k];
      if (c === "\\") k++;
      else if (inClass) inClass = c !== "]";
      else if (c === "[") inClass = true;
      else if (c === "*" || c === "+" || c === "{") return false;
      else if (c === "?" && !afterOpen) return false;
      else if (c === "|" && depth > 0) return false;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
      afterOpen = c === "(" && !inClass;
    }
    return true;
  }

  // Each distinct name once (searched once however many frames have it), and each frame's
  // index into them (-1 for the hidden-frames bars, which are never matched).
  let uniq = null;
  let nameIds = null;
  function distinctNames() {
    if (uniq) return uniq;
    const ids = new Map();
    uniq = [];
    nameIds = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (HID[i]) {
        nameIds[i] = -1;
        continue;
      }
      const name = nameOf(i);
      let id = ids.get(name);
      if (id === undefined) {
        id = uniq.length;
        ids.set(name, id);
        uniq.push(name);
      }
      nameIds[i] = id;
    }
    return uniq;
  }

  // One flag per name: does the pattern match it. Pure, so the worker runs it too.
  function matchAll(names, source, flags) {
    const re = new RegExp(source, flags);
    const hit = new Uint8Array(names.length);
    for (let k = 0; k < names.length; k++) if (re.test(names[k])) hit[k] = 1;
    return hit;
  }
  function matchHere(pattern) {
    return matchAll(distinctNames(), pattern.source, pattern.flags);
  }

  // The worker's program (a Blob made of this function's text, called with matchAll's): it
  // keeps the names and answers each pattern with its flags.
  function matcher(match) {
    let names = [];
    onmessage = function (e) {
      const d = e.data;
      if (d.names) {
        names = d.names;
      } else {
        const hit = match(names, d.source, d.flags);
        postMessage({ id: d.id, hit: hit }, [hit.buffer]);
      }
    };
  }

  let worker = null;
  let noWorker = false;
  // The search the worker is busy with: { id, pattern, done, timer }.
  let busy = null;
  let searchId = 0;

  function stopWorker() {
    if (busy) clearTimeout(busy.timer);
    busy = null;
    if (worker) worker.terminate();
    worker = null;
  }

  let workerUrl = "";
  function startWorker() {
    try {
      const code = "(" + matcher + ")(" + matchAll + ");";
      workerUrl = workerUrl || URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      worker = new Worker(workerUrl);
    } catch (_e) {
      return false;
    }
    worker.onmessage = function (e) {
      const job = busy;
      if (job && e.data.id === job.id) {
        clearTimeout(job.timer);
        busy = null;
        job.done(e.data.hit, "");
      }
    };
    // A worker that cannot start (a viewer's policy forbids it) or fails: search without.
    worker.onerror = function (e) {
      e.preventDefault();
      const job = busy;
      stopWorker();
      noWorker = true;
      if (job) runWithoutWorker(job.pattern, job.done);
    };
    worker.postMessage({ names: distinctNames() });
    return true;
  }

  function runWithoutWorker(pattern, done) {
    if (backtracksLittle(pattern.source)) done(matchHere(pattern), "");
    else done(matchHere(patternOf(searchTerm, true)), "text");
  }

  // Matches `pattern` against every name and calls done(flags per distinct name, note), or
  // done(null, "slow") when it took longer than the budget.
  function matchNames(pattern, done) {
    if (busy) stopWorker(); // busy with an older search: only terminating stops it
    if (backtracksLittle(pattern.source)) {
      done(matchHere(pattern), pattern.text ? "text" : "");
    } else if (noWorker || (!worker && !startWorker())) {
      noWorker = true;
      runWithoutWorker(pattern, done);
    } else {
      const job = { id: ++searchId, pattern: pattern, done: done, timer: 0 };
      job.timer = setTimeout(function () {
        stopWorker();
        done(null, "slow");
      }, SEARCH_BUDGET);
      busy = job;
      worker.postMessage({ id: job.id, source: pattern.source, flags: pattern.flags });
    }
  }

  function search(term, keepUrl) {
    const old = matches;
    for (let k = 0; k < old.length; k++) rects[old[k]].classList.remove("m");
    matches = [];
    searchTerm = term || "";
    searchNote = "";
    if (busy) stopWorker();
    if (searchTerm) {
      searchEl.textContent = "Reset Search";
      searchNote = "busy";
      matchNames(patternOf(searchTerm, false), function (hit, note) {
        searchNote = note;
        if (hit) {
          const m = matches;
          for (let i = 0; i < n; i++) if (nameIds[i] >= 0 && hit[nameIds[i]]) m.push(i);
          for (let k = 0; k < m.length; k++) rects[m[k]].classList.add("m");
        }
        updateMatched();
      });
    } else {
      searchEl.textContent = "Search";
    }
    updateMatched();
    if (!keepUrl) saveUrl();
  }

  // Matched share of the zoomed frame: nested matches count once (pre-order is x-sorted).
  function matchedShare() {
    const z = zoomedAt;
    const lo = XE[z];
    const hi = XE[z] + NE[z];
    const dz = D[z];
    const m = matches;
    let sum = 0;
    let end = -Infinity;
    for (let k = 0; k < m.length; k++) {
      const i = m[k];
      if (D[i] < dz || XE[i] < lo || XE[i] >= hi) continue;
      if (XE[i] >= end) {
        sum += NE[i];
        end = XE[i] + NE[i];
      }
    }
    return sum / NE[z];
  }

  function updateMatched() {
    if (!searchTerm) {
      matchedEl.textContent = "";
      return;
    }
    if (searchNote === "busy") {
      matchedEl.textContent = "Searching...";
      return;
    }
    if (searchNote === "slow") {
      matchedEl.textContent = "Search gave up: over " + SEARCH_BUDGET / 1000 + " s";
      return;
    }
    const p = 100 * matchedShare();
    const as = searchNote === "text" ? "Matched as text: " : "Matched: ";
    matchedEl.textContent = as + (p === 100 ? "100" : p.toFixed(1)) + "%";
  }

  function setIgnoreCase(on) {
    ignoreCase = on;
    icEl.classList.toggle("on", on);
    if (searchTerm) search(searchTerm);
  }

  // The search box: an HTML input in a foreignObject, made when first needed.
  let box = null;
  let input = null;
  let typing = 0;
  function placeBox() {
    if (box) box.setAttribute("x", String(Math.max(XPAD, XPAD + pxW - 280)));
  }
  function openSearch() {
    if (!box) {
      box = document.createElementNS(SVG_NS, "foreignObject");
      box.setAttribute("y", String(Math.max(2, cfg.fs * 2 - cfg.fs - 6)));
      box.setAttribute("width", "250");
      box.setAttribute("height", String(cfg.fs + 14));
      input = document.createElementNS(HTML_NS, "input");
      input.setAttribute("type", "text");
      input.setAttribute("placeholder", "Search (regular expression)");
      input.setAttribute("spellcheck", "false");
      input.setAttribute("aria-label", "Search frames by regular expression");
      box.appendChild(input);
      root.appendChild(box);
      input.addEventListener("input", function () {
        clearTimeout(typing);
        typing = setTimeout(function () {
          search(input.value);
        }, n > 5000 ? 150 : 40);
      });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") {
          e.preventDefault();
          clearTimeout(typing);
          search(input.value);
          closeSearch();
        } else if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          clearTimeout(typing);
          search("");
          closeSearch();
        }
      });
    }
    placeBox();
    box.classList.remove("hide");
    searchEl.classList.add("hide");
    input.value = searchTerm;
    input.focus();
    input.select();
  }
  function closeSearch() {
    if (!box) return;
    box.classList.add("hide");
    searchEl.classList.remove("hide");
    if (document.activeElement === input) input.blur();
  }
  function resetAll() {
    closeSearch();
    if (searchTerm) search("", true);
    if (zoomedAt !== 0) zoom(0, true);
    saveUrl();
  }

  // ---- URL state: ?x=<exact left edge in units>&y=<depth>&s=<regex>&i=1 ----
  function saveUrl() {
    const q = [];
    if (zoomedAt !== 0) q.push("x=" + XE[zoomedAt], "y=" + D[zoomedAt]);
    if (searchTerm) q.push("s=" + encodeURIComponent(searchTerm));
    if (searchTerm && ignoreCase) q.push("i=1");
    try {
      history.replaceState(null, "", location.pathname + (q.length ? "?" + q.join("&") : ""));
    } catch (_e) {
      // Some viewers forbid history changes; the view still works.
    }
  }
  function loadUrl() {
    const params = new URLSearchParams(location.search);
    if (params.get("i") === "1") setIgnoreCase(true);
    const x = params.get("x");
    const y = params.get("y");
    if (x !== null && y !== null) {
      const xv = +x;
      const yv = +y;
      for (let i = 0; i < n; i++) {
        if (XE[i] === xv && D[i] === yv) {
          zoom(i, true);
          break;
        }
      }
    }
    const s = params.get("s");
    if (s) search(s, true);
  }

  // ---- events: one listener each, delegated from #frames ----
  function frameOf(e) {
    const t = e.target;
    return t && t.fi !== undefined ? t.fi : -1;
  }
  // The tooltip: a box that follows the pointer (made when first needed).
  let tip = null;
  let tipBox = null;
  let tipText = null;
  // Splits text into lines of at most `max` px, breaking after punctuation when it can.
  function wrap(text, max) {
    const lines = [];
    let start = 0;
    let w = 0;
    let lastBreak = -1;
    for (let k = 0; k < text.length; k++) {
      w += glyphWidth(text[k]);
      if (w > max && k > start) {
        const cut = lastBreak > start + 8 ? lastBreak : k;
        lines.push(text.slice(start, cut));
        start = cut;
        w = textWidth(text.slice(start, k + 1));
        lastBreak = -1;
        if (lines.length === 7) return lines.concat(clip(text.slice(start), max));
      }
      if (" ;:<>(/".indexOf(text[k]) !== -1) lastBreak = k + 1;
    }
    lines.push(text.slice(start));
    return lines;
  }
  // Shows the frame's name (wrapped) and, on a line of its own, its numbers.
  function showTip(i, e) {
    if (!tip) {
      tip = document.createElementNS(SVG_NS, "g");
      tip.setAttribute("id", "tip");
      tipBox = document.createElementNS(SVG_NS, "rect");
      tipBox.setAttribute("rx", "3");
      tipText = document.createElementNS(SVG_NS, "text");
      tip.appendChild(tipBox);
      tip.appendChild(tipText);
      root.appendChild(tip);
    }
    const lineH = cfg.fs + 3;
    const lines = wrap(nameOf(i), Math.min(600, pxW - 20)).map(iso);
    lines.push(stats(i));
    tipText.textContent = "";
    for (let k = 0; k < lines.length; k++) {
      const t = document.createElementNS(SVG_NS, "tspan");
      t.setAttribute("x", "6");
      t.setAttribute("y", String(cfg.fs + 2 + k * lineH));
      t.textContent = lines[k];
      if (k === lines.length - 1) t.setAttribute("class", "n");
      tipText.appendChild(t);
    }
    tip.classList.remove("hide");
    tip.tw = tipText.getBBox().width + 12;
    tip.th = lines.length * lineH + 5;
    tipBox.setAttribute("width", String(tip.tw));
    tipBox.setAttribute("height", String(tip.th));
    moveTip(e);
  }
  function moveTip(e) {
    if (!tip || tip.classList.contains("hide")) return;
    const w = root.getBoundingClientRect();
    let x = e.clientX - w.left + 14;
    let y = e.clientY - w.top + 18;
    if (x + tip.tw > w.width - 2) x = Math.max(2, e.clientX - w.left - tip.tw - 8);
    if (y + tip.th > w.height - 2) y = e.clientY - w.top - tip.th - 8;
    tip.setAttribute("transform", "translate(" + x + "," + y + ")");
  }
  framesEl.addEventListener("mouseover", function (e) {
    const i = frameOf(e);
    if (i < 0) return;
    const text = tooltip(i);
    // The details line must not run into "Matched: N%" on the right.
    const room = pxW - (searchTerm ? textWidth(matchedEl.textContent) + 20 : 0);
    detailsEl.textContent = clip(HID[i] ? text : cfg.nt + " " + text, room);
    showTip(i, e);
  });
  framesEl.addEventListener("mousemove", moveTip);
  framesEl.addEventListener("mouseout", function () {
    detailsEl.textContent = idleDetails;
    if (tip) tip.classList.add("hide");
  });
  framesEl.addEventListener("click", function (e) {
    const i = frameOf(e);
    if (i < 0) return;
    if (i !== zoomedAt) zoom(i);
  });
  unzoomEl.addEventListener("click", function () {
    zoom(0);
  });
  searchEl.addEventListener("click", function () {
    if (searchTerm) search("");
    else openSearch();
  });
  icEl.addEventListener("click", function () {
    setIgnoreCase(!ignoreCase);
  });
  globalThis.addEventListener("keydown", function (e) {
    const mod = e.ctrlKey || e.metaKey;
    if (e.key === "F3" || (mod && (e.key === "f" || e.key === "F"))) {
      e.preventDefault();
      openSearch();
    } else if (mod && (e.key === "i" || e.key === "I")) {
      e.preventDefault();
      setIgnoreCase(!ignoreCase);
    } else if (e.key === "Escape") {
      resetAll();
    }
  });

  // ---- width: fluid graphs fill the window and re-fit labels on resize (once per frame) ----
  function measure() {
    const total = cfg.w || root.getBoundingClientRect().width || 1200;
    pxW = Math.max(1, total - 2 * XPAD);
    framesEl.setAttribute("width", String(pxW));
  }
  let pending = 0;
  globalThis.addEventListener("resize", function () {
    if (pending) return;
    pending = requestAnimationFrame(function () {
      pending = 0;
      const before = pxW;
      measure();
      if (pxW !== before) {
        layoutLabels();
        placeBox();
      }
    });
  });

  // A graph taller than the window opens where its frames are, not at an empty top: at the
  // root (the bottom of a flame graph, the top of an icicle graph), or at the zoomed frame a
  // URL restored, with room for its children.
  function scrollToFrames() {
    const box = root.getBoundingClientRect();
    const height = +root.getAttribute("height") || box.height;
    const view = innerHeight;
    if (box.height <= view) return;
    const scale = box.height / height;
    const row = cfg.inv ? D[zoomedAt] : cfg.md - D[zoomedAt];
    // Icicle: the frame's row at the top (the title too, for the root). Flame graph: the
    // frame's row and everything below it at the bottom of the window.
    const y = cfg.inv ? row * fh : height - (framesH - (row + 1) * fh) - view / scale;
    scrollTo(0, Math.max(0, y * scale));
  }

  if (!cfg.w) root.removeAttribute("viewBox");
  labelsEl.textContent = "";
  measure();
  loadUrl();
  if (zoomedAt === 0) layoutLabels();
  scrollToFrames();
})();
