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
  const framesEl = document.getElementById("frames");
  const labelsEl = document.getElementById("labels");
  const detailsEl = document.getElementById("details");
  const matchedEl = document.getElementById("matched");
  const unzoomEl = document.getElementById("unzoom");
  const searchEl = document.getElementById("search");
  const icEl = document.getElementById("ic");
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

  const state = { z: 0, term: "", ic: false, matches: [], rebased: 0 };
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
  function tooltip(i) {
    return nameOf(i) + " (" + stats(i) + ")";
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
    return k < 2 ? "" : name.slice(0, k) + "..";
  }

  // `s`, or as much of it as fits `avail` px followed by "..".
  function clip(s, avail) {
    if (textWidth(s) <= avail) return s;
    if (!dotsWidth) dotsWidth = textWidth("..");
    let w = dotsWidth;
    let k = 0;
    while (k < s.length && w + glyphWidth(s[k]) <= avail) w += glyphWidth(s[k++]);
    return s.slice(0, k) + "..";
  }

  function labelY(i) {
    const row = cfg.inv ? D[i] : cfg.md - D[i];
    return cfg.top + row * fh + fh / 2 + cfg.fs * 0.35;
  }

  // Re-fits every label for the current zoom and width: arithmetic first, then DOM writes.
  function layoutLabels() {
    const z = state.z;
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
    const z = state.z;
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
      state.rebased = 1;
      framesEl.setAttribute("viewBox", "0 0 " + K + " " + framesH);
      return;
    }
    if (state.rebased) {
      for (let i = 0; i < n; i++) {
        rects[i].setAttribute("x", X[i]);
        rects[i].setAttribute("width", W[i]);
      }
      state.rebased = 0;
    }
    framesEl.setAttribute("viewBox", X[z] + " 0 " + W[z] + " " + framesH);
  }

  function zoom(i, keepUrl) {
    const old = state.z;
    for (let a = P[old]; a >= 0; a = P[a]) rects[a].classList.remove("p");
    state.z = i;
    for (let a = P[i]; a >= 0; a = P[a]) rects[a].classList.add("p");
    unzoomEl.classList.toggle("hide", i === 0);
    setViewBox();
    layoutLabels();
    if (state.term) updateMatched();
    if (!keepUrl) saveUrl();
  }

  // ---- search ----
  function makeRegExp(term) {
    const flags = state.ic ? "i" : "";
    try {
      return new RegExp(term, flags);
    } catch (_e) {
      return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), flags);
    }
  }

  function search(term, keepUrl) {
    const old = state.matches;
    for (let k = 0; k < old.length; k++) rects[old[k]].classList.remove("m");
    state.matches = [];
    state.term = term || "";
    if (state.term) {
      const re = makeRegExp(state.term);
      const m = state.matches;
      for (let i = 0; i < n; i++) {
        if (!HID[i] && re.test(nameOf(i))) m.push(i);
      }
      for (let k = 0; k < m.length; k++) rects[m[k]].classList.add("m");
      searchEl.textContent = "Reset Search";
    } else {
      searchEl.textContent = "Search";
    }
    updateMatched();
    if (!keepUrl) saveUrl();
  }

  // Matched share of the zoomed frame: nested matches count once (pre-order is x-sorted).
  function matchedShare() {
    const z = state.z;
    const lo = XE[z];
    const hi = XE[z] + NE[z];
    const dz = D[z];
    const m = state.matches;
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
    if (!state.term) {
      matchedEl.textContent = "";
      return;
    }
    const p = 100 * matchedShare();
    matchedEl.textContent = "Matched: " + (p === 100 ? "100" : p.toFixed(1)) + "%";
  }

  function setIgnoreCase(on) {
    state.ic = on;
    icEl.classList.toggle("on", on);
    if (state.term) search(state.term);
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
    input.value = state.term;
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
    if (state.term) search("", true);
    if (state.z !== 0) zoom(0, true);
    saveUrl();
  }

  // ---- URL state: ?x=<exact left edge in units>&y=<depth>&s=<regex>&i=1 ----
  function saveUrl() {
    const q = [];
    if (state.z !== 0) q.push("x=" + XE[state.z], "y=" + D[state.z]);
    if (state.term) q.push("s=" + encodeURIComponent(state.term));
    if (state.term && state.ic) q.push("i=1");
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
    const lines = wrap(nameOf(i), Math.min(600, pxW - 20));
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
    const room = pxW - (state.term ? textWidth(matchedEl.textContent) + 20 : 0);
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
    if (i !== state.z) zoom(i);
  });
  unzoomEl.addEventListener("click", function () {
    zoom(0);
  });
  searchEl.addEventListener("click", function () {
    if (state.term) search("");
    else openSearch();
  });
  icEl.addEventListener("click", function () {
    setIgnoreCase(!state.ic);
  });
  globalThis.addEventListener("keydown", function (e) {
    const mod = e.ctrlKey || e.metaKey;
    if (e.key === "F3" || (mod && (e.key === "f" || e.key === "F"))) {
      e.preventDefault();
      openSearch();
    } else if (mod && (e.key === "i" || e.key === "I")) {
      e.preventDefault();
      setIgnoreCase(!state.ic);
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

  if (!cfg.w) root.removeAttribute("viewBox");
  labelsEl.textContent = "";
  measure();
  loadUrl();
  if (state.z === 0) layoutLabels();
})();
