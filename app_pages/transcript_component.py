"""The transcript view coders work in, with its code picker: a Streamlit Custom
Components v2 element.

It shows transcript blocks (speaker turns), paints coded spans, and beside them the code
picker: the selection, the recent codes (keys 1-9), a type-ahead box (``/``) over the
whole codebook, what was clicked, and Undo/Redo naming the step they act on. HTML, CSS
and JS are inline (no iframe, no build step). The component is mounted with
``isolate_styles=False``: its DOM lives in the page itself (not in a shadow root), so
``window.getSelection()`` sees real text nodes; every CSS class is prefixed ``cwtv-``.

Transcript text reaches the DOM only as text nodes (``document.createTextNode``);
speaker names, code names, titles and ids only through text nodes, ``setAttribute`` or
``title``. Nothing from ``data`` is ever parsed as markup.

Offsets are absolute UTF-16 code units of the document (what a browser counts).
The page converts them with :class:`coding.text.offsets.Utf16Map`; the JS never does.

**The selection lives in the browser.** Selecting text, clearing it, typing in the picker
and moving in it cost no server round. The server hears of a selection only with an
action: choosing a code sends ONE trigger carrying the selection and the codes (the
rerun it causes stores the coding and sends the new highlights back, and the browser
then clears the selection by itself).

Result of :func:`transcript_view` (a ``ComponentResult``; attribute or key access):

``apply`` (trigger, one rerun only)
    ``{"codes": [code ids], "sel": selection, "how": "click"|"key"|"typed", "nonce"}``
    when the user chooses code(s) for the selection (picker click, key 1-9, Enter in the
    type-ahead). ``sel`` is ``{"start", "end", "text", "doc", "sha", "nonce"}``: UTF-16
    offsets, the text the user saw selected (block texts joined by ``"\\n"``; display
    only), the document id and text hash it was made on, and a one-time id.
``selection`` (state, persists across reruns)
    The selection the browser last *shared* (same shape as ``sel``), or ``None``. Shared
    only when the user asks for something that needs it on the page: "Suggest codes"
    in the picker, or a page button whose key starts with one of ``coding_sugg_accept``,
    ``coding_sugg_reject``, ``coding_adjust``, ``coding_apply_multi``, ``coding_turn``,
    ``coding_new_make`` (sent at the button's mousedown, so its click sees it).
``clicked`` (trigger, one rerun only)
    ``{"ids": [highlight ids under the click], "at": int}`` when the user clicks
    a highlight (or a margin label) without selecting.
``shortcut`` (trigger, one rerun only)
    ``{"key": "t" | "u" | "r", "block": block id or None, "target": event id or None,
    "sel": selection or None, "nonce"}``: ``t`` = code this turn, ``u`` = undo (also
    Ctrl+Z and the picker's Undo button), ``r`` = redo (Ctrl+Shift+Z, Ctrl+Y, the
    Redo button). ``target`` is the id from ``undo``/``redo`` the user saw; u/r pressed
    while an action is unanswered wait for its answer. ``block`` is the block holding
    the selection start or caret (else the block clicked last).

Triggers are also visible in ``st.session_state[key]`` during the rerun they
cause, so a page may read them before mounting the component (or use the
``on_*`` callbacks).

To drop a shared selection from Python (say after using it) call :func:`clear_selection`
before mounting; assigning to ``st.session_state`` alone is undone by the browser, which
re-sends its last state value on every rerun.

In ``AppTest`` the component is an ``UnknownElement`` (``at.get("bidi_component")``,
``.proto.id`` ends with ``-{key}``, ``.proto.json`` is the data). Its state can be
set with ``at.session_state[key] = {"selection": {...}}`` (no callbacks run), or,
like the browser (callbacks run, triggers last one run), by appending to
``at._tree.get_widget_states()`` a ``WidgetState(id=proto.id, json_value=...)``
and/or ``WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{proto.id}__events",
json_trigger_value='[{"event": "apply", "value": {...}}]')`` and calling
``at._run(states)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

COMPONENT_NAME = "coding_workbench.transcript_view"

_HTML = ('<div class="cwtv-root" tabindex="0" role="document" aria-label="Transcript">'
         '<div class="cwtv-main"><div class="cwtv-statusbar"><span class="cwtv-status" aria-live="polite"></span>'
         '</div><div class="cwtv-body"></div></div>'
         '<aside class="cwtv-side" aria-label="Code picker"></aside></div>')

_CSS = """
/* The coding page's own layout (the component is mounted without style isolation, so these
   reach the page): room for the transcript on a laptop screen, less blank space above the title. */
.stMainBlockContainer { padding-top: 3.6rem; }
.stMainBlockContainer h1 { font-size: 1.7rem; padding: 0 0 0.1rem 0; }
.st-key-coding_focus_area, .st-key-coding_suggestions { scroll-margin-top: 4.5rem; }
/* Transcript (left) and code picker (right) side by side, both scrolling inside the
   component, whose height fits the window: the page need not scroll to reach either. */
.cwtv-root {
  font-size: 1rem; line-height: 1.7; outline: none; position: relative;
  display: grid; grid-template-columns: minmax(0, 1fr) 16.5rem; column-gap: 0.9rem;
}
.cwtv-root:focus-visible { box-shadow: 0 0 0 2px rgba(100, 100, 255, 0.4); }
.cwtv-main { overflow-y: auto; min-height: 0; padding: 0 0.5rem 0.25rem 0; }
.cwtv-side { overflow-y: auto; min-height: 0; display: flex; flex-direction: column; gap: 0.35rem;
  font-size: 0.88rem; line-height: 1.35; border-left: 1px solid rgba(128, 128, 128, 0.3);
  padding: 0 0.2rem 0.2rem 0.7rem; }
.cwtv-selbox { background: rgba(128, 128, 128, 0.08); border-radius: 4px; padding: 0.3rem 0.45rem; }
.cwtv-has-sel .cwtv-selbox { background: rgba(30, 110, 255, 0.1); }
.cwtv-sel-head { font-weight: 700; }
.cwtv-sel-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 6.8em; overflow-y: auto; }
.cwtv-hint { color: rgba(100, 100, 100, 1); }
.cwtv-link { background: none; border: none; padding: 0; color: #1a5fd0; cursor: pointer; text-align: left;
  font: inherit; }
.cwtv-suggest { display: none; }
.cwtv-has-sel .cwtv-suggest { display: block; }
.cwtv-filter { font: inherit; padding: 0.3rem 0.45rem; border: 1px solid rgba(128, 128, 128, 0.5);
  border-radius: 4px; width: 100%; box-sizing: border-box; }
.cwtv-list { flex: 1 1 auto; min-height: 8rem; overflow-y: auto; display: flex; flex-direction: column; }
.cwtv-head { font-weight: 700; font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.03em;
  color: rgba(90, 90, 90, 1); margin: 0.35rem 0 0.1rem; }
.cwtv-folder { font-weight: 600; color: rgba(80, 80, 80, 1); padding: 0.1rem 0; }
.cwtv-code { display: flex; align-items: center; gap: 0.35rem; text-align: left; font: inherit;
  background: none; border: 1px solid transparent; border-radius: 4px; padding: 0.12rem 0.3rem; cursor: pointer; }
.cwtv-code:hover, .cwtv-code.cwtv-active { background: rgba(30, 110, 255, 0.1); border-color: rgba(30, 110, 255, 0.4); }
.cwtv-chip { flex: none; width: 0.7rem; height: 0.7rem; border-radius: 2px; }
.cwtv-key { flex: none; font-size: 0.75rem; font-weight: 700; border: 1px solid rgba(128, 128, 128, 0.6);
  border-radius: 3px; padding: 0 0.25rem; }
.cwtv-name { overflow-wrap: anywhere; }
.cwtv-path { color: rgba(110, 110, 110, 1); font-size: 0.75rem; margin-left: auto; }
.cwtv-here-row { display: flex; align-items: center; gap: 0.35rem; }
.cwtv-undo { display: flex; flex-direction: column; gap: 0.2rem; border-top: 1px solid rgba(128, 128, 128, 0.3);
  padding-top: 0.3rem; }
.cwtv-undo button { font: inherit; font-size: 0.82rem; text-align: left; background: none; cursor: pointer;
  border: 1px solid rgba(128, 128, 128, 0.45); border-radius: 4px; padding: 0.15rem 0.4rem; }
.cwtv-undo button:disabled { cursor: default; opacity: 0.55; }
::highlight(cwtv-sel) { background-color: rgba(30, 110, 255, 0.28); }
/* The status floats over the text: it never moves the text under the user's mouse. */
.cwtv-statusbar { position: sticky; top: 0; height: 0; z-index: 2; }
.cwtv-status { position: absolute; right: 11rem; top: 0.1rem; font-size: 0.8rem;
  user-select: none; -webkit-user-select: none; pointer-events: none; }
.cwtv-status:not(:empty) { padding: 0.1rem 0.5rem; border-radius: 4px;
  background: rgba(240, 240, 240, 0.95); color: #333; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.2); }
.cwtv-status.cwtv-bad { background: rgba(255, 225, 225, 0.97); color: #8a0000; font-weight: 600; }
.cwtv-block { display: grid; grid-template-columns: minmax(0, 1fr) 8.5rem; column-gap: 0.6rem;
  margin: 0 0 0.75rem 0; }
.cwtv-text {
  white-space: pre-wrap; overflow-wrap: anywhere;
  border-left: 3px solid rgba(128, 128, 128, 0.35); padding: 0.1rem 0 0.1rem 0.7rem;
}
.cwtv-text[data-caption]::before {
  content: attr(data-caption); display: block; font-weight: 700;
  user-select: none; -webkit-user-select: none;
}
.cwtv-stripes { font-size: 0.72rem; line-height: 1.25; user-select: none; -webkit-user-select: none;
  display: flex; flex-direction: column; gap: 2px; padding-top: 0.2rem; }
.cwtv-stripe { border-left: 4px solid #999; padding: 0 0.3rem; cursor: pointer;
  overflow-wrap: anywhere; background: rgba(128, 128, 128, 0.08); border-radius: 0 3px 3px 0; }
.cwtv-stripe.cwtv-focus { outline: 2px solid currentColor; }
.cwtv-label { font-weight: 700; }
.cwtv-hl { cursor: pointer; border-radius: 2px;
  -webkit-box-decoration-break: clone; box-decoration-break: clone; }
.cwtv-hl.cwtv-focus { outline: 2px solid currentColor; outline-offset: 1px; }
.cwtv-mark { outline: 2px dashed #d08000; outline-offset: 1px; }
"""

_JS = r"""
const ALPHA = "59";  // 0x59/0xff ~ 35 % opacity for highlight backgrounds
const COLOUR = /^#[0-9a-fA-F]{6}$/;
// Page buttons whose action needs the selection (the JS tells the server before their click).
const NEEDS_SELECTION = /(?:^|\s)st-key-coding_(?:sugg_accept|sugg_reject|adjust|apply_multi|turn|new_make)/;

function colour(c) { return COLOUR.test(c || "") ? c : "#999999"; }
function nonce() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

// Index of the first element of sorted `arr` with key(x) > v (upper bound).
function upper(arr, v, key) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (key(arr[m]) > v) hi = m; else lo = m + 1; }
  return lo;
}

// One transcript block: its text cut into pieces at label, highlight and mark edges,
// and its margin of coding labels.
function makeBlock(b, active, marks, focus) {
  const text = String(b.text || "");
  const base = b.base | 0, endAbs = base + text.length;
  const div = document.createElement("div");
  div.className = "cwtv-block";
  div.setAttribute("data-block", String(b.id));
  const body = document.createElement("div");
  body.className = "cwtv-text";
  const speaker = String(b.speaker || "");
  // The label (speaker, timestamp) is part of the text and shown in bold; a speaker
  // known only from elsewhere (e.g. a voice tag) is shown as a caption instead.
  let labelEnd = b.label_end;
  if (labelEnd == null) {  // not given: a label is the speaker's name at the start
    labelEnd = speaker && text.startsWith(speaker) ? speaker.length + (text[speaker.length] === ":" ? 1 : 0) : 0;
  }
  labelEnd = Math.max(0, Math.min(text.length, labelEnd | 0));
  if (speaker && labelEnd === 0) body.setAttribute("data-caption", speaker);
  const cuts = new Set([0, text.length]);
  if (labelEnd > 0 && labelEnd < text.length) cuts.add(labelEnd);
  for (const h of [...active, ...marks]) {
    if (h.start > base && h.start < endAbs) cuts.add(h.start - base);
    if (h.end > base && h.end < endAbs) cuts.add(h.end - base);
  }
  const points = [...cuts].sort((x, y) => x - y);
  const starts = active.slice().sort((x, y) => x.start - y.start);
  const pieces = [];
  let si = 0, on = [];
  for (let p = 0; p + 1 < points.length; p++) {
    const s = base + points[p], e = base + points[p + 1];
    on = on.filter(h => h.end > s);
    while (si < starts.length && starts[si].start <= s) { if (starts[si].end > s) on.push(starts[si]); si++; }
    const span = document.createElement("span");
    span.setAttribute("data-s", String(s));
    span.appendChild(document.createTextNode(text.slice(points[p], points[p + 1])));
    let cls = points[p] < labelEnd ? "cwtv-label" : "";
    if (marks.some(m => m.start <= s && m.end >= e)) cls += " cwtv-mark";
    if (on.length) {
      // Shortest (most specific) code paints the background; every other one adds a stripe.
      const cover = on.slice().sort((x, y) => (x.end - x.start) - (y.end - y.start) || x.i - y.i);
      span.style.backgroundColor = colour(cover[0].colour) + ALPHA;
      if (cover.length > 1) {
        span.style.boxShadow = cover.slice(1)
          .map((h, k) => `inset 0 -${3 * (k + 1)}px 0 0 ${colour(h.colour)}`).join(", ");
      }
      span.title = cover.map(h => h.title || h.label || "").filter(Boolean).join("\n");
      span.setAttribute("data-hl", cover.map(h => String(h.id)).join(" "));
      cls += " cwtv-hl";
      if (focus != null && cover.some(h => String(h.id) === String(focus))) cls += " cwtv-focus";
    }
    if (cls.trim()) span.className = cls.trim();
    body.appendChild(span);
    pieces.push({s, e, node: span.firstChild});
  }
  // Coding stripes: one label per coding touching this block, in the margin (NVivo style).
  const stripes = document.createElement("div");
  stripes.className = "cwtv-stripes";
  for (const h of active.slice().sort((x, y) => x.start - y.start || x.i - y.i)) {
    const tag = document.createElement("div");
    tag.className = "cwtv-stripe" + (focus != null && String(h.id) === String(focus) ? " cwtv-focus" : "");
    tag.style.borderLeftColor = colour(h.colour);
    tag.setAttribute("data-stripe", String(h.id));
    tag.title = h.title || h.label || "";
    tag.appendChild(document.createTextNode(h.label || ""));
    stripes.appendChild(tag);
  }
  div.appendChild(body);
  div.appendChild(stripes);
  return {div, pieces, block: {id: String(b.id), base, end: endAbs, text}};
}

// Draw the blocks. Only blocks whose text, codings, marks or focus changed are made
// again (a new coding redraws one or two blocks, not a 50,000-character transcript).
function build(st, data) {
  const root = st.root;
  const scroll = st.main.scrollTop;
  const focus = data.focus;
  const hls = (data.highlights || []).filter(h => h.end > h.start)
    .map((h, i) => ({...h, i})).sort((a, b) => a.start - b.start || b.end - a.end);
  const marks = (data.marks || []).filter(m => m.end > m.start);
  const blocks = data.blocks || [];
  const ids = blocks.map(b => String(b.id));
  const prev = st.blockMap || new Map();
  const sameLayout = !!st.order && st.order.length === ids.length && ids.every((id, k) => st.order[k] === id);
  const next = new Map();
  let hp = 0;           // next highlight (by start) not yet activated
  let carried = [];     // highlights that started before the current block and may continue
  for (const b of blocks) {
    const text = String(b.text || "");
    const base = b.base | 0, endAbs = base + text.length;
    const active = carried.filter(h => h.end > base);
    while (hp < hls.length && hls[hp].start < endAbs) { if (hls[hp].end > base) active.push(hls[hp]); hp++; }
    carried = active.filter(h => h.end > endAbs);
    const local = marks.filter(m => m.end > base && m.start < endAbs);
    const sig = JSON.stringify([base, text.length, b.label_end, b.speaker,
      active.map(h => [h.id, h.start, h.end, h.colour, h.label, h.title, String(h.id) === String(focus)]),
      local.map(m => [m.start, m.end])]);
    const id = String(b.id);
    const old = prev.get(id);
    if (sameLayout && old && old.sig === sig && old.block.text === text) {
      next.set(id, old);
      continue;
    }
    const made = makeBlock(b, active, local, focus);
    made.sig = sig;
    if (sameLayout && old) old.div.replaceWith(made.div);
    next.set(id, made);
  }
  if (!sameLayout) {
    const frag = document.createDocumentFragment();
    for (const id of ids) frag.appendChild(next.get(id).div);
    st.body.replaceChildren(frag);
  }
  st.blockMap = next;
  st.order = ids;
  st.blocks = ids.map(id => next.get(id).block);
  st.pieces = [].concat(...ids.map(id => next.get(id).pieces));
  st.main.scrollTop = scroll;
  if (focus != null && focus !== st.lastFocus) {
    const f = root.querySelector(".cwtv-hl.cwtv-focus") || root.querySelector(".cwtv-focus");
    if (f) f.scrollIntoView({block: "center"});
  }
  st.lastFocus = focus;
}

// Absolute offset of a DOM boundary point; `asEnd` picks the piece before it, else after it.
function absolute(st, node, offset, asEnd) {
  const el = node.nodeType === 3 ? node.parentNode : null;
  if (el && el.hasAttribute && el.hasAttribute("data-s") && st.root.contains(el)) {
    return parseInt(el.getAttribute("data-s"), 10) + offset;
  }
  const r = document.createRange();
  r.setStart(node, offset);
  const ps = st.pieces;
  let lo = 0, hi = ps.length;   // first piece whose start is after the point
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (r.comparePoint(ps[m].node, 0) > 0) hi = m; else lo = m + 1;
  }
  if (asEnd) {
    if (lo === 0) return null;
    const p = ps[lo - 1];
    return r.comparePoint(p.node, p.node.length) <= 0 ? p.e : p.s + Math.min(offset, p.e - p.s);
  }
  if (lo > 0 && r.comparePoint(ps[lo - 1].node, ps[lo - 1].node.length) > 0) return ps[lo - 1].s;
  return lo < ps.length ? ps[lo].s : null;
}

function textOf(st, start, end) {
  const out = [];
  for (const b of st.blocks) {
    if (b.end <= start || b.base >= end) continue;
    out.push(b.text.slice(Math.max(start, b.base) - b.base, Math.min(end, b.end) - b.base));
  }
  return out.join("\n");
}

function currentRange(st) {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const r = sel.getRangeAt(0);
  return r.intersectsNode(st.body) ? r : null;
}

function blockAt(st, node) {
  const el = node && (node.nodeType === 1 ? node : node.parentNode);
  const b = el && el.closest ? el.closest(".cwtv-block") : null;
  return b && st.root.contains(b) ? b.getAttribute("data-block") : null;
}

// --- the selection lives here, in the browser: the server hears of it only with an action ---

function paintSel(st) {
  if (!(window.CSS && CSS.highlights && window.Highlight)) return;
  const r = st.sel ? rangeOf(st, st.sel.start, st.sel.end) : null;
  // Painted apart from the DOM selection, so it stays visible while the user types in the picker.
  if (r) CSS.highlights.set("cwtv-sel", new Highlight(r)); else CSS.highlights.delete("cwtv-sel");
}

function setSel(st, value) {
  const old = st.sel;
  if (old === value || (old && value && old.start === value.start && old.end === value.end)) return;
  // Every new selection carries the document it was made on and a fresh id, so the
  // server can refuse it on another document and never use it twice.
  st.sel = value ? {...value, doc: st.doc, sha: st.sha, nonce: nonce()} : null;
  st.root.setAttribute("data-selection", st.sel ? `${st.sel.start}:${st.sel.end}` : "");
  paintSel(st);
  drawSelection(st);
}

function clearSel(st) {
  const r = currentRange(st);
  if (r) window.getSelection().removeAllRanges();
  setSel(st, null);
}

// Tell the server the selection (a state value: one rerun), only when the user asks for
// something on the page that needs it (suggestions, new boundaries, several codes, a new code).
function share(st) {
  const want = st.sel || null, had = st.shared || null;
  if (want === had || (want && had && want.nonce === had.nonce)) return;
  st.shared = want;
  st.api.setStateValue("selection", want);
}

function readSelection(st) {
  const r = currentRange(st);
  if (!r || r.collapsed) return false;
  const start = absolute(st, r.startContainer, r.startOffset, false);
  const end = absolute(st, r.endContainer, r.endOffset, true);
  if (start == null || end == null || end <= start) return false;
  setSel(st, {start, end, text: textOf(st, start, end)});
  return true;
}

function locate(st, v, asEnd) {
  const ps = st.pieces;
  let i = upper(ps, v, p => p.s) - 1;   // last piece starting at or before v
  if (asEnd && i > 0 && ps[i].s === v) i--;
  i = Math.max(0, i);
  return [ps[i].node, Math.min(v - ps[i].s, ps[i].node.length)];
}

function rangeOf(st, start, end) {
  const ps = st.pieces;
  if (!ps.length || start < ps[0].s || end > ps[ps.length - 1].e || end <= start) return null;
  const [sn, so] = locate(st, start, false), [en, eo] = locate(st, end, true);
  const r = document.createRange();
  r.setStart(sn, so);
  r.setEnd(en, eo);
  return r;
}

function status(st, text, bad) {
  st.status.textContent = text || "";
  st.status.classList.toggle("cwtv-bad", !!bad);
  if (st.statusTimer) clearTimeout(st.statusTimer);
  if (text && !bad) st.statusTimer = setTimeout(() => { st.status.textContent = ""; }, 4000);
}

// Optimistic highlight: paint the selection in the code's colour at once (CSS Custom
// Highlight API: no DOM change, the selection stays), until the server answers.
function addPending(st, codeId, sel) {
  const c = st.colours[codeId];
  if (!sel || !c || sel.doc !== st.doc) return;
  const r = rangeOf(st, sel.start, sel.end);
  if (!r) return;
  st.pending.push({start: sel.start, end: sel.end, code: codeId, nonce: sel.nonce});
  if (window.CSS && CSS.highlights && window.Highlight) {
    const name = "cwtv-pending-" + colour(c).slice(1);
    if (!st.styled.has(name)) {
      const el = document.createElement("style");
      el.textContent = `::highlight(${name}) { background-color: ${colour(c)}${ALPHA}; ` +
        `text-decoration: underline dashed ${colour(c)}; }`;
      document.head.appendChild(el);
      st.styled.add(name);
    }
    const hl = CSS.highlights.get(name) || new Highlight();
    hl.add(r);
    CSS.highlights.set(name, hl);
    st.pendingNames.add(name);
  }
  st.root.setAttribute("data-pending", String(st.pending.length));
  status(st, "Saving…", false);
}

// The server answered (new data): keep what it stored, drop what it did not, say so.
// A selection whose coding was stored is cleared here: clearing costs the server nothing.
function reconcile(st, data) {
  if (!st.pending.length) return 0;
  const stored = new Set((data.highlights || []).map(h => `${h.start}:${h.end}:${h.code}`));
  const refused = st.pending.filter(p => !stored.has(`${p.start}:${p.end}:${p.code}`));
  const done = new Set(st.pending.filter(p => !refused.includes(p)).map(p => p.nonce));
  for (const name of st.pendingNames) CSS.highlights.delete(name);
  st.pendingNames.clear();
  st.confirmed += st.pending.length - refused.length;
  st.refused += refused.length;
  st.pending = [];
  st.root.setAttribute("data-pending", "0");
  st.root.setAttribute("data-confirmed", String(st.confirmed));
  st.root.setAttribute("data-refused", String(st.refused));
  if (refused.length) status(st, "Not stored: the coding was refused (see the message on the page).", true);
  else status(st, "Saved.", false);
  if (st.sel && done.has(st.sel.nonce)) clearSel(st);
  return refused.length;
}

// Choosing a code: ONE request (a trigger) that carries the selection and the codes; the
// rerun it causes stores them and sends the new highlights back.
function applyCodes(st, codes, how) {
  codes = codes.filter(c => c && st.colours[c]);
  if (!codes.length) return;
  if (!st.sel || st.sel.doc !== st.doc) {
    status(st, "Select some text in the transcript first, then choose a code.", true);
    return;
  }
  const sel = st.sel;
  for (const c of codes) addPending(st, c, sel);
  st.awaiting = performance.now();
  st.keepFocus = true;
  st.api.setTriggerValue("apply", {codes, sel, how, nonce: nonce()});
}

function onClickUp(st, ev) {
  if (readSelection(st)) return;
  if (st.sel) clearSel(st);
  let ids = null, at = null;
  const stripe = ev.target && ev.target.closest ? ev.target.closest("[data-stripe]") : null;
  if (stripe && st.root.contains(stripe)) ids = [stripe.getAttribute("data-stripe")];
  else {
    const piece = ev.target && ev.target.closest ? ev.target.closest("[data-hl]") : null;
    if (!piece || !st.root.contains(piece)) return;
    const sel = window.getSelection();
    at = parseInt(piece.getAttribute("data-s"), 10);
    if (sel && sel.rangeCount && sel.focusNode && sel.focusNode.parentNode === piece) at += sel.focusOffset;
    ids = piece.getAttribute("data-hl").split(" ");
  }
  st.here = ids;
  drawHere(st);
  st.api.setTriggerValue("clicked", {ids, at});
}

function onKey(st, ev) {
  if (ev.target === st.filter) return;   // the picker handles its own keys
  const key = (ev.key || "").toLowerCase();
  let k = key;
  if (ev.altKey) return;
  if (ev.ctrlKey || ev.metaKey) {   // Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo
    if (key === "z") k = ev.shiftKey ? "r" : "u";
    else if (key === "y") k = "r";
    else return;
  } else if (key === "/") {  // jump to the type-ahead code picker
    ev.preventDefault();
    readSelection(st);
    st.filter.focus();
    return;
  }
  if (!st.keys.has(k) && !((k === "u" || k === "r") && st.awaiting)) return;
  ev.preventDefault();
  if (ev.repeat) return;   // a held key is one press
  readSelection(st);
  if (/^[1-9]$/.test(k)) { applyCodes(st, [st.shortcuts[Number(k) - 1]], "key"); return; }
  const sel = window.getSelection();
  let block = null;
  const r = currentRange(st);
  if (r) block = blockAt(st, r.startContainer);
  if (!block && sel && sel.anchorNode) block = blockAt(st, sel.anchorNode);
  press(st, {key: k, block: block || st.lastBlock || null, nonce: nonce(), target: null, sel: st.sel});
}

function press(st, shortcut) {
  if (st.awaiting && performance.now() - st.awaiting > 5000) st.awaiting = 0;  // no answer: stop waiting
  if ((shortcut.key === "u" || shortcut.key === "r") && st.awaiting) {
    st.queued = shortcut;   // wait for the answer to the last action: undo names what it undoes
    return;
  }
  sendShortcut(st, shortcut);
}

function sendShortcut(st, shortcut) {
  if (shortcut.key === "u") shortcut.target = st.undo ? st.undo.id : null;
  if (shortcut.key === "r") shortcut.target = st.redo ? st.redo.id : null;
  if ((shortcut.key === "u" || shortcut.key === "r") && !shortcut.target) {
    status(st, shortcut.key === "u" ? "Nothing to undo on this document." : "Nothing to redo.", false);
    return;
  }
  st.awaiting = performance.now();
  st.api.setTriggerValue("shortcut", shortcut);
}

function restoreSelection(st) {
  if (!st.sel || st.sel.doc !== st.doc) { st.sel = null; paintSel(st); drawSelection(st); return; }
  const r = rangeOf(st, st.sel.start, st.sel.end);
  if (!r) { clearSel(st); return; }
  paintSel(st);
  if (typing()) return;   // never pull the caret out of a field the user is typing in
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(r);
}

function typing() {
  const a = document.activeElement;
  return a && (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName));
}

// --- the code picker, beside the transcript ---

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.appendChild(document.createTextNode(String(text)));
  return e;
}

function drawSelection(st) {
  const box = st.selBox;
  box.replaceChildren();
  st.side.classList.toggle("cwtv-has-sel", !!st.sel);
  if (!st.sel) {
    box.appendChild(el("div", "cwtv-hint", "Select text in the transcript, then choose a code: click it, " +
      "press its key 1–9, or type its name (/)."));
    return;
  }
  const t = st.sel.text || "";
  box.appendChild(el("div", "cwtv-sel-head", `Selection · ${t.length.toLocaleString()} characters`));
  box.appendChild(el("div", "cwtv-sel-text", t.length > 280 ? t.slice(0, 280) + " …" : t));
}

function codeButton(st, c, badge) {
  const b = el("button", "cwtv-code");
  b.type = "button";
  b.setAttribute("data-code", c.id);
  b.title = c.path + (c.definition ? "\n" + c.definition : "");
  const chip = el("span", "cwtv-chip");
  chip.style.backgroundColor = colour(c.colour);
  b.appendChild(chip);
  if (badge) b.appendChild(el("span", "cwtv-key", badge));
  b.appendChild(el("span", "cwtv-name", c.name + (c.proposed ? " (proposed)" : "")));
  return b;
}

function drawList(st) {
  const list = st.list;
  list.replaceChildren();
  const q = (st.filter.value || "").trim().toLowerCase();
  st.choices = [];
  if (q) {
    for (const c of st.picker) {
      if (!c.codable) continue;
      if (!(c.path.toLowerCase().includes(q) || (c.definition || "").toLowerCase().includes(q))) continue;
      const b = codeButton(st, c, null);
      b.appendChild(el("span", "cwtv-path", c.path.includes("/") ? c.path.slice(0, c.path.lastIndexOf("/")) : ""));
      list.appendChild(b);
      st.choices.push(c.id);
      if (st.choices.length >= 60) break;
    }
    if (!st.choices.length) list.appendChild(el("div", "cwtv-hint", "No code matches."));
  } else {
    if (st.shortcuts.length) {
      list.appendChild(el("div", "cwtv-head", "Recent codes"));
      st.shortcuts.forEach((id, k) => {
        const c = st.byId[id];
        if (c) list.appendChild(codeButton(st, c, String(k + 1)));
      });
      list.appendChild(el("div", "cwtv-head", "All codes"));
    }
    for (const c of st.picker) {
      if (!c.codable) {
        const f = el("div", "cwtv-folder", c.name);
        f.style.paddingLeft = `${0.8 * (c.depth | 0)}rem`;
        list.appendChild(f);
        continue;
      }
      const b = codeButton(st, c, null);
      b.style.paddingLeft = `${0.3 + 0.8 * (c.depth | 0)}rem`;
      list.appendChild(b);
    }
  }
  st.activeIndex = 0;
  markActive(st);
}

function markActive(st) {
  const want = st.choices[st.activeIndex];
  for (const b of st.list.querySelectorAll(".cwtv-code")) {
    b.classList.toggle("cwtv-active", !!want && b.getAttribute("data-code") === want &&
      !!b.querySelector(".cwtv-path"));
  }
}

function drawHere(st) {
  const box = st.hereBox;
  box.replaceChildren();
  const ids = (st.here || []).filter(id => st.hlById[id]);
  if (!ids.length) return;
  box.appendChild(el("div", "cwtv-head", "At the click"));
  for (const id of ids) {
    const h = st.hlById[id];
    const row = el("div", "cwtv-here-row");
    const chip = el("span", "cwtv-chip");
    chip.style.backgroundColor = colour(h.colour);
    row.appendChild(chip);
    row.appendChild(el("span", "", h.title || h.label || ""));
    box.appendChild(row);
  }
  const more = el("button", "cwtv-link", "Memo, boundaries, remove: below ↓");
  more.type = "button";
  more.addEventListener("click", () => {
    const t = document.querySelector(".st-key-coding_focus_area");
    if (t) t.scrollIntoView({block: "start", behavior: "smooth"});
  });
  box.appendChild(more);
}

function drawUndo(st) {
  st.undoBtn.disabled = !st.undo;
  st.redoBtn.disabled = !st.redo;
  st.undoBtn.textContent = st.undo ? `↶ Undo ${st.undo.label}` : "↶ Nothing to undo here";
  st.redoBtn.textContent = st.redo ? `↷ Redo ${st.redo.label}` : "↷ Redo";
  st.undoBtn.title = "Ctrl+Z or u: undo your last step on this document";
  st.redoBtn.title = "Ctrl+Shift+Z, Ctrl+Y or r";
}

function fitHeight(st, want) {
  if (want === "fit") {
    // Transcript and picker fill the window below the component's top: the page itself
    // need not scroll to reach either (1366×768 first).
    const top = st.root.getBoundingClientRect().top + window.scrollY;
    st.root.style.height = `${Math.max(320, Math.floor(window.innerHeight - top - 12))}px`;
  } else {
    st.root.style.height = want ? `${want | 0}px` : "";
  }
}

function makeSide(st) {
  const side = st.side;
  st.selBox = el("div", "cwtv-selbox");
  const suggest = el("button", "cwtv-link cwtv-suggest", "Suggest codes for it ↓");
  suggest.type = "button";
  suggest.title = "Ask which of your codes fit the selection (shown below the transcript)";
  suggest.addEventListener("click", () => {
    share(st);
    const t = document.querySelector(".st-key-coding_suggestions");
    if (t) t.scrollIntoView({block: "start", behavior: "smooth"});
  });
  st.filter = el("input", "cwtv-filter");
  st.filter.type = "text";
  st.filter.placeholder = "Type a code name… ( / )";
  st.filter.setAttribute("aria-label", "Find a code");
  st.list = el("div", "cwtv-list");
  st.list.setAttribute("role", "listbox");
  st.hereBox = el("div", "cwtv-here");
  const undoRow = el("div", "cwtv-undo");
  st.undoBtn = el("button", "cwtv-undo-btn");
  st.redoBtn = el("button", "cwtv-redo-btn");
  st.undoBtn.type = st.redoBtn.type = "button";
  undoRow.append(st.undoBtn, st.redoBtn);
  side.append(st.selBox, suggest, st.filter, st.list, st.hereBox, undoRow);
  // Buttons here never take the focus or the text selection away from the transcript.
  side.addEventListener("mousedown", ev => {
    if (ev.target.closest("button")) ev.preventDefault();
  });
  st.list.addEventListener("click", ev => {
    const b = ev.target.closest("[data-code]");
    if (!b) return;
    applyCodes(st, [b.getAttribute("data-code")], "click");
    if (st.filter.value) { st.filter.value = ""; drawList(st); }
  });
  st.undoBtn.addEventListener("click", () => press(st, {key: "u", block: null, nonce: nonce(), target: null}));
  st.redoBtn.addEventListener("click", () => press(st, {key: "r", block: null, nonce: nonce(), target: null}));
  st.filter.addEventListener("input", () => drawList(st));
  st.filter.addEventListener("keydown", ev => {
    ev.stopPropagation();   // typed letters are a code's name, not the transcript's keys
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const n = st.choices.length;
      if (n) st.activeIndex = (st.activeIndex + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
      markActive(st);
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      const id = st.choices[st.activeIndex];
      if (!id) return;
      applyCodes(st, [id], "typed");
      st.filter.value = "";
      drawList(st);
      st.root.focus({preventScroll: true});
    } else if (ev.key === "Escape") {
      st.filter.value = "";
      drawList(st);
      st.root.focus({preventScroll: true});
    }
  });
  drawSelection(st);
}

export default function (component) {
  const {data, parentElement, setStateValue, setTriggerValue} = component;
  const root = parentElement.querySelector(".cwtv-root");
  if (!root) return;
  let st = root.__cwtv;
  if (!st) {
    st = {root, main: root.querySelector(".cwtv-main"), body: root.querySelector(".cwtv-body"),
          side: root.querySelector(".cwtv-side"), status: root.querySelector(".cwtv-status"),
          rev: null, sel: null, shared: null, lastBlock: null, pieces: [], blocks: [], keys: new Set(),
          pending: [], pendingNames: new Set(), styled: new Set(), confirmed: 0, refused: 0,
          keepFocus: false, doc: null, sha: null, ack: null, scrollNonce: null, selectNonce: null,
          noticeNonce: null, picker: [], byId: {}, colours: {}, shortcuts: [], choices: [], activeIndex: 0,
          hlById: {}, here: null, undo: null, redo: null, pickerSig: null};
    root.__cwtv = st;
    makeSide(st);
    const down = ev => {
      if (ev.button !== 0) return;
      st.pressed = true;
      st.keepFocus = true;
      st.lastBlock = blockAt(st, ev.target) || st.lastBlock;
    };
    const up = ev => {
      if (!st.pressed) return;
      st.pressed = false;
      onClickUp(st, ev);
      // Data that arrived during the drag is drawn now, after the selection was read.
      if (st.deferred) { const d = st.deferred; st.deferred = null; render(st, d); }
    };
    const keyup = ev => { if (ev.target !== st.filter && (ev.shiftKey || ev.key === "Shift")) readSelection(st); };
    const keydown = ev => { if (ev.target !== st.filter) st.keepFocus = true; onKey(st, ev); };
    // A page button that needs the selection: tell the server before its click arrives.
    const pageDown = ev => {
      if (root.contains(ev.target)) return;
      const holder = ev.target.closest ? ev.target.closest("[class*='st-key-coding_']") : null;
      const button = ev.target.closest && ev.target.closest("button");
      if (holder && button && NEEDS_SELECTION.test(holder.className)) { share(st); st.keepFocus = true; }
      else if (!button) st.keepFocus = false;
    };
    const resize = () => fitHeight(st, st.height);
    st.main.addEventListener("mousedown", down);
    document.addEventListener("mouseup", up);   // a drag may end outside the component
    document.addEventListener("mousedown", pageDown, true);
    root.addEventListener("keyup", keyup);
    root.addEventListener("keydown", keydown);
    window.addEventListener("resize", resize);
    st.cleanup = () => {
      st.main.removeEventListener("mousedown", down);
      document.removeEventListener("mouseup", up);
      document.removeEventListener("mousedown", pageDown, true);
      root.removeEventListener("keyup", keyup);
      root.removeEventListener("keydown", keydown);
      window.removeEventListener("resize", resize);
      if (window.CSS && CSS.highlights) CSS.highlights.delete("cwtv-sel");
      delete root.__cwtv;
    };
  }
  // Streamlit calls this function again on every data/theme change without running
  // the previous cleanup, so always refresh the callbacks and return the same cleanup.
  st.api = {setStateValue, setTriggerValue};
  if (st.pressed) {
    // The user is dragging: rebuilding the text now would tear the selection apart
    // (its nodes would vanish under the mouse). Draw when the button is released.
    st.deferred = data || {};
    return st.cleanup;
  }
  render(st, data || {});
  return st.cleanup;
}

function render(st, d) {
  const root = st.root;
  st.picker = d.picker || [];
  st.byId = {};
  for (const c of st.picker) st.byId[c.id] = c;
  st.colours = {...(d.codes || {})};
  for (const c of st.picker) if (c.codable) st.colours[c.id] = c.colour;
  st.shortcuts = (d.shortcuts || []).filter(id => st.colours[id]);
  st.undo = d.undo || null;
  st.redo = d.redo || null;
  st.keys = new Set(["t"]);
  if (st.undo) st.keys.add("u");
  if (st.redo) st.keys.add("r");
  for (let k = 0; k < 9 && k < st.shortcuts.length; k++) st.keys.add(String(k + 1));
  st.hlById = {};
  for (const h of d.highlights || []) st.hlById[String(h.id)] = h;
  const sig = JSON.stringify([st.picker, st.shortcuts]);
  if (sig !== st.pickerSig) { st.pickerSig = sig; drawList(st); }
  drawUndo(st);
  st.height = d.height;
  fitHeight(st, d.height);
  const docChanged = d.doc !== st.doc;
  if (docChanged) {
    // Another document: nothing selected in the old one may follow the user here
    // (the server checks it too, so nothing needs to be sent).
    st.doc = d.doc || null;
    st.sha = d.sha || null;
    st.sel = null;
    st.here = null;
    drawHere(st);
    st.rev = null;
    st.order = null;
    st.blockMap = null;
    st.main.scrollTop = 0;
    st.root.setAttribute("data-doc", st.doc || "");
  }
  if (st.reset === undefined) {
    st.reset = d.reset;
  } else if (d.reset !== st.reset) {
    // Python used the selection it was told (clear_selection): forget it here too, unless
    // the user has made another one since.
    st.reset = d.reset;
    const used = new Set(d.consumed || []);
    if (st.sel && (!d.consumed || used.has(st.sel.nonce))) clearSel(st);
    if (st.shared) { st.shared = null; st.api.setStateValue("selection", null); }
  }
  let refusedNow = 0;
  if (d.rev !== st.rev) {
    st.rev = d.rev;
    const t0 = performance.now();
    build(st, d);
    root.setAttribute("data-build-ms", String(Math.round(performance.now() - t0)));  // for the bench
    restoreSelection(st);
    refusedNow = reconcile(st, d);
  } else if (d.ack !== st.ack) {
    refusedNow = reconcile(st, d);
  }
  if (d.ack !== st.ack) {
    st.awaiting = 0;
    if (st.queued) { const q = st.queued; st.queued = null; sendShortcut(st, q); }
  }
  st.ack = d.ack;
  if (d.notice && d.notice.nonce !== st.noticeNonce) {
    st.noticeNonce = d.notice.nonce;
    // a refusal keeps saying that nothing was stored, and why
    status(st, (refusedNow && d.notice.bad ? "Not stored: " : "") + d.notice.text, !!d.notice.bad);
  }
  if (d.scroll_to && d.scroll_to.nonce !== st.scrollNonce) {
    st.scrollNonce = d.scroll_to.nonce;
    const r = rangeOf(st, d.scroll_to.at, d.scroll_to.at + 1);
    const el = r && r.startContainer.parentNode;
    if (el && el.scrollIntoView) el.scrollIntoView({block: "center"});
  }
  if (d.select && d.select.nonce !== st.selectNonce) {
    // The page asked to select a span (e.g. a search hit), so it can be coded.
    st.selectNonce = d.select.nonce;
    const r = rangeOf(st, d.select.start, d.select.end);
    if (r) {
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      readSelection(st);
      st.keepFocus = true;
    }
  }
  if (st.keepFocus && document.activeElement !== root && !typing()) root.focus({preventScroll: true});
}
"""

_transcript_component = st.components.v2.component(
    COMPONENT_NAME, html=_HTML, css=_CSS, js=_JS, isolate_styles=False
)


def _noop() -> None:
    return None


def _reset_key(key: str) -> str:
    return f"_cwtv_reset_{key}"


def clear_selection(key: str) -> None:
    """Forget the selection of the view ``key``: now in Python, and in the browser
    when the view renders next. Call it before ``transcript_view`` in the run (for
    example in a button callback). Assigning ``None`` to the selection in
    ``st.session_state`` alone does not last: the browser sends its copy back on
    the next rerun.
    """
    st.session_state[_reset_key(key)] = st.session_state.get(_reset_key(key), 0) + 1
    try:
        st.session_state[key]["selection"] = None
    except (KeyError, TypeError, StreamlitAPIException):
        pass  # not mounted yet, or already mounted in this run: the browser clears it


def _current_selection(key: str) -> dict[str, Any] | None:
    """The selection state the component holds now (from the previous run)."""
    try:
        value = st.session_state[key]
    except KeyError:
        return None
    selection = value.get("selection") if isinstance(value, dict) else None
    return dict(selection) if isinstance(selection, dict) else None


def transcript_view(
    *,
    key: str,
    blocks: list[dict],
    highlights: list[dict],
    doc: str | None = None,
    sha: str | None = None,
    focus: str | None = None,
    shortcuts: list[str] | None = None,
    codes: dict[str, str] | None = None,
    picker: list[dict] | None = None,
    marks: list[dict] | None = None,
    undo: dict | None = None,
    redo: dict | None = None,
    ack: int = 0,
    notice: dict | None = None,
    scroll_to: dict | None = None,
    select: dict | None = None,
    consumed: list[str] | None = None,
    height: int | str | None = None,
    on_apply: Callable[[], None] | None = None,
    on_selection: Callable[[], None] | None = None,
    on_clicked: Callable[[], None] | None = None,
    on_shortcut: Callable[[], None] | None = None,
) -> Any:
    """Mount the transcript view and its picker; return its result (see the module docstring).

    blocks: ``[{"id", "speaker", "text" (whole turn, label included), "base",
    "label_end"}]``, ``base`` being the UTF-16 offset of the block start in the
    document and ``label_end`` the UTF-16 length of its speaker label/timestamp.
    highlights: ``[{"id", "start", "end" (absolute UTF-16), "colour" "#rrggbb",
    "label", "title", "code"}]``. doc/sha: the document shown (every selection
    carries them back). focus: a highlight id to outline. shortcuts: code ids for
    keys 1..9 (the recent codes). picker: the codebook in tree order, ``[{"id", "name",
    "path", "colour", "definition", "depth", "codable", "proposed"}]``; codes: extra
    code id -> colour (codes that can be applied but are not listed). marks:
    ``[{"start", "end"}]`` outlined (search hits). undo/redo: ``{"id", "label"}`` of the
    step u/r act on (the picker names it). ack: bump after every server action so the
    view reconciles optimistic highlights. notice: ``{"text", "bad", "nonce"}`` shown
    once in the view's status. scroll_to ``{"at", "nonce"}`` and select
    ``{"start", "end", "nonce"}`` act once per nonce. consumed: ids of shared selections
    the page has used; a clear_selection then clears only one of those, never a
    selection the user made since. height: pixels, or ``"fit"`` (fill the window
    below the view's top).
    """
    payload = {
        "blocks": [
            {
                "id": str(b["id"]),
                "speaker": str(b.get("speaker") or ""),
                "text": str(b["text"]),
                "base": int(b["base"]),
                "label_end": None if b.get("label_end") is None else int(b["label_end"]),
            }
            for b in blocks
        ],
        "highlights": [
            {
                "id": str(h["id"]),
                "start": int(h["start"]),
                "end": int(h["end"]),
                "colour": str(h.get("colour") or ""),
                "label": str(h.get("label") or ""),
                "title": str(h.get("title") or h.get("label") or ""),
                "code": str(h.get("code") or ""),
            }
            for h in highlights
        ],
        "marks": [{"start": int(m["start"]), "end": int(m["end"])} for m in (marks or [])],
        "focus": None if focus is None else str(focus),
        "doc": doc,
        "sha": sha,
    }
    # The JS rebuilds the transcript only when `rev` changes, so a rerun for anything
    # else (same blocks and highlights) leaves the user's selection and scroll alone.
    payload["rev"] = hashlib.sha1(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    payload.update({
        "shortcuts": [str(s) for s in (shortcuts or [])][:9],
        "codes": {str(k): str(v) for k, v in (codes or {}).items()},
        "picker": [
            {"id": str(c["id"]), "name": str(c.get("name") or ""), "path": str(c.get("path") or c.get("name") or ""),
             "colour": str(c.get("colour") or ""), "definition": str(c.get("definition") or ""),
             "depth": int(c.get("depth") or 0), "codable": bool(c.get("codable", True)),
             "proposed": bool(c.get("proposed"))}
            for c in (picker or [])
        ],
        "undo": _step(undo),
        "redo": _step(redo),
        "ack": int(ack),
        "notice": notice,
        "scroll_to": scroll_to,
        "select": select,
        "consumed": consumed,
        "height": height if height == "fit" else (int(height) if height else None),
        "reset": st.session_state.get(_reset_key(key), 0),
    })
    return _transcript_component(
        key=key,
        data=payload,
        default={"selection": None},
        on_selection_change=on_selection or _noop,
        on_apply_change=on_apply or _noop,
        on_clicked_change=on_clicked or _noop,
        on_shortcut_change=on_shortcut or _noop,
    )


def _step(step: dict | None) -> dict | None:
    return {"id": str(step["id"]), "label": str(step.get("label") or "")} if step and step.get("id") else None
