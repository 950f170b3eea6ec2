"""The transcript view coders work in: a Streamlit Custom Components v2 element.

It shows transcript blocks (speaker turns), paints coded spans, and reports what
the user selects, clicks and types. HTML, CSS and JS are inline (no iframe, no
build step). The component is mounted with ``isolate_styles=False``: its DOM lives
in the page itself (not in a shadow root), so ``window.getSelection()`` sees real
text nodes; every CSS class is prefixed ``cwtv-`` to stay out of Streamlit's way.

Transcript text reaches the DOM only as text nodes (``document.createTextNode``);
speaker names, titles and ids only through ``setAttribute``/``title``. Nothing from
``data`` is ever parsed as markup.

Offsets are absolute UTF-16 code units of the document (what a browser counts).
The page converts them with :class:`coding.text.offsets.Utf16Map`; the JS never does.

Result of :func:`transcript_view` (a ``ComponentResult``; attribute or key access):

``selection`` (state, persists across reruns)
    ``{"start": int, "end": int, "text": str}`` or ``None``. Set when the user
    selects text with the mouse or keyboard (mouseup/keyup with a non-empty range
    touching the component); a selection running past the component is clipped to
    it. Reset to ``None`` by a plain click inside the component. ``text`` is the
    selected part of the block texts joined by ``"\\n"`` (display only: trust
    ``start``/``end``). After a data change the selection is painted again if it
    still lies in the shown blocks, otherwise it is reset to ``None``.
``clicked`` (trigger, one rerun only)
    ``{"ids": [highlight ids under the click], "at": int}`` when the user clicks
    a highlight without selecting.
``shortcut`` (trigger, one rerun only)
    ``{"key": "1".."9" | "t" | "u", "block": block id or None}`` for a key press
    while the component has focus: a digit only if ``shortcuts`` has a label for
    it, ``t`` = code this turn, ``u`` = undo. ``block`` is the block holding the
    selection start or caret (else the block clicked last). A selection made with
    the keyboard is reported (``selection``) before the shortcut.

Triggers are also visible in ``st.session_state[key]`` during the rerun they
cause, so a page may read them before mounting the component (or use the
``on_*`` callbacks).

To drop the selection from Python (say after applying a code) call
:func:`clear_selection` before mounting; assigning to ``st.session_state`` alone
is undone by the browser, which re-sends its last state value on every rerun.

In ``AppTest`` the component is an ``UnknownElement`` (``at.get("bidi_component")``,
``.proto.id`` ends with ``-{key}``, ``.proto.json`` is the data). Its state can be
set with ``at.session_state[key] = {"selection": {...}}`` (no callbacks run), or,
like the browser (callbacks run, triggers last one run), by appending to
``at._tree.get_widget_states()`` a ``WidgetState(id=proto.id, json_value=...)``
and/or ``WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{proto.id}__events",
json_trigger_value='[{"event": "clicked", "value": {...}}]')`` and calling
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
         '<div class="cwtv-statusbar"><span class="cwtv-status" aria-live="polite"></span></div>'
         '<div class="cwtv-body"></div></div>')

_CSS = """
.cwtv-root {
  font-size: 1rem; line-height: 1.7; outline: none; position: relative;
  overflow-y: auto; padding: 0 0.5rem 0.25rem 0;
}
.cwtv-root:focus-visible { box-shadow: 0 0 0 2px rgba(100, 100, 255, 0.4); }
/* The status floats over the text: it never moves the text under the user's mouse. */
.cwtv-statusbar { position: sticky; top: 0; height: 0; z-index: 2; }
.cwtv-status { position: absolute; right: 11rem; top: 0.1rem; font-size: 0.8rem;
  user-select: none; -webkit-user-select: none; pointer-events: none; }
.cwtv-status:not(:empty) { padding: 0.1rem 0.5rem; border-radius: 4px;
  background: rgba(240, 240, 240, 0.95); color: #333; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.2); }
.cwtv-status.cwtv-bad { background: rgba(255, 225, 225, 0.97); color: #8a0000; font-weight: 600; }
.cwtv-block { display: grid; grid-template-columns: minmax(0, 1fr) 10.5rem; column-gap: 0.6rem;
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
const CODE_BUTTON = /(?:^|\s)st-key-coding_(?:code|recent|sugg_accept)_([0-9a-fA-F-]{36})(?:\s|$)/;

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
  const scroll = root.scrollTop;
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
  root.style.maxHeight = data.height ? `${data.height | 0}px` : "";
  root.scrollTop = scroll;
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

function sendSelection(st, value) {
  const old = st.sent;
  if (old === value || (old && value && old.start === value.start && old.end === value.end)) return;
  // Every new selection carries the document it was made on and a fresh id, so the
  // server can refuse it on another document and never apply it twice.
  st.sent = value ? {...value, doc: st.doc, sha: st.sha, nonce: nonce()} : null;
  st.api.setStateValue("selection", st.sent);
}

function readSelection(st) {
  const r = currentRange(st);
  if (!r || r.collapsed) return false;
  const start = absolute(st, r.startContainer, r.startOffset, false);
  const end = absolute(st, r.endContainer, r.endOffset, true);
  if (start == null || end == null || end <= start) return false;
  sendSelection(st, {start, end, text: textOf(st, start, end)});
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
function addPending(st, codeId) {
  const sel = st.sent;
  const c = (st.codes || {})[codeId];
  if (!sel || !c || sel.doc !== st.doc) return;
  const r = rangeOf(st, sel.start, sel.end);
  if (!r) return;
  st.pending.push({start: sel.start, end: sel.end, code: codeId});
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
function reconcile(st, data) {
  if (!st.pending.length) return;
  const stored = new Set((data.highlights || []).map(h => `${h.start}:${h.end}:${h.code}`));
  const refused = st.pending.filter(p => !stored.has(`${p.start}:${p.end}:${p.code}`));
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
}

function onClickUp(st, ev) {
  if (readSelection(st)) return;
  if (st.sent) sendSelection(st, null);
  const stripe = ev.target && ev.target.closest ? ev.target.closest("[data-stripe]") : null;
  if (stripe && st.root.contains(stripe)) {
    st.api.setTriggerValue("clicked", {ids: [stripe.getAttribute("data-stripe")], at: null});
    return;
  }
  const piece = ev.target && ev.target.closest ? ev.target.closest("[data-hl]") : null;
  if (!piece || !st.root.contains(piece)) return;
  const sel = window.getSelection();
  let at = parseInt(piece.getAttribute("data-s"), 10);
  if (sel && sel.rangeCount && sel.focusNode && sel.focusNode.parentNode === piece) at += sel.focusOffset;
  st.api.setTriggerValue("clicked", {ids: piece.getAttribute("data-hl").split(" "), at});
}

function onKey(st, ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = (ev.key || "").toLowerCase();
  if (key === "/") {  // jump to the type-ahead code picker
    const input = document.querySelector(".st-key-coding_pick input");
    if (input) { ev.preventDefault(); st.keepFocus = false; input.focus(); }
    return;
  }
  if (!st.keys.has(key) && !((key === "u" || key === "r") && st.awaiting)) return;
  ev.preventDefault();
  if (ev.repeat) return;   // a held key is one press
  readSelection(st);
  const sel = window.getSelection();
  let block = null;
  const r = currentRange(st);
  if (r) block = blockAt(st, r.startContainer);
  if (!block && sel && sel.anchorNode) block = blockAt(st, sel.anchorNode);
  if (/^[1-9]$/.test(key)) addPending(st, st.shortcuts[Number(key) - 1]);
  const shortcut = {key, block: block || st.lastBlock || null, nonce: nonce(), target: null};
  if (st.awaiting && performance.now() - st.awaiting > 5000) st.awaiting = 0;  // no answer: stop waiting
  if ((key === "u" || key === "r") && st.awaiting) {
    st.queued = shortcut;   // wait for the answer to the last action: undo names what it undoes
    return;
  }
  sendShortcut(st, shortcut);
}

function sendShortcut(st, shortcut) {
  if (shortcut.key === "u") shortcut.target = st.undoTarget;
  if (shortcut.key === "r") shortcut.target = st.redoTarget;
  if ((shortcut.key === "u" || shortcut.key === "r") && !shortcut.target) return;
  st.awaiting = performance.now();
  st.api.setTriggerValue("shortcut", shortcut);
}

function restoreSelection(st, want) {
  if (!want || want.doc !== st.doc) { st.sent = null; return; }
  const r = rangeOf(st, want.start, want.end);
  if (!r) { st.sent = want; sendSelection(st, null); return; }
  st.sent = want;
  // Never pull the caret out of a field the user is typing in elsewhere on the page.
  const a = document.activeElement;
  if (a && a !== document.body && !st.root.contains(a) &&
      (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName))) return;
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(r);
}

function typing() {
  const a = document.activeElement;
  return a && (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName));
}

export default function (component) {
  const {data, parentElement, setStateValue, setTriggerValue} = component;
  const root = parentElement.querySelector(".cwtv-root");
  if (!root) return;
  let st = root.__cwtv;
  if (!st) {
    st = {root, body: root.querySelector(".cwtv-body"), status: root.querySelector(".cwtv-status"),
          rev: null, sent: null, lastBlock: null, pieces: [], blocks: [], keys: new Set(),
          pending: [], pendingNames: new Set(), styled: new Set(), confirmed: 0, refused: 0,
          keepFocus: false, doc: null, sha: null, ack: null, scrollNonce: null, selectNonce: null};
    root.__cwtv = st;
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
    const keyup = ev => { if (ev.shiftKey || ev.key === "Shift") readSelection(st); };
    const keydown = ev => { st.keepFocus = true; onKey(st, ev); };
    // A click on a code button elsewhere on the page: paint at once, keep the keyboard here.
    const pageDown = ev => {
      if (root.contains(ev.target)) return;
      const holder = ev.target.closest ? ev.target.closest("[class*='st-key-coding_']") : null;
      const m = holder ? CODE_BUTTON.exec(holder.className) : null;
      if (m && ev.target.closest("button")) {
        addPending(st, m[1]);
        st.keepFocus = true;
        st.awaiting = performance.now();
      }
      else if (!(ev.target.closest && ev.target.closest("button"))) st.keepFocus = false;
    };
    root.addEventListener("mousedown", down);
    document.addEventListener("mouseup", up);   // a drag may end outside the component
    document.addEventListener("mousedown", pageDown, true);
    root.addEventListener("keyup", keyup);
    root.addEventListener("keydown", keydown);
    st.cleanup = () => {
      root.removeEventListener("mousedown", down);
      document.removeEventListener("mouseup", up);
      document.removeEventListener("mousedown", pageDown, true);
      root.removeEventListener("keyup", keyup);
      root.removeEventListener("keydown", keydown);
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
  st.codes = d.codes || {};
  st.shortcuts = d.shortcuts || [];
  st.undoTarget = d.undo_target || null;
  st.redoTarget = d.redo_target || null;
  st.keys = new Set(["t"]);
  if (st.undoTarget) st.keys.add("u");
  if (st.redoTarget) st.keys.add("r");
  for (let k = 0; k < 9 && k < st.shortcuts.length; k++) if (st.shortcuts[k]) st.keys.add(String(k + 1));
  const docChanged = d.doc !== st.doc;
  if (docChanged) {
    // Another document: nothing selected in the old one may follow the user here.
    st.doc = d.doc || null;
    st.sha = d.sha || null;
    if (st.sent) { st.sent = null; if (st.rev !== null) st.api.setStateValue("selection", null); }
    st.rev = null;
    st.order = null;
    st.blockMap = null;
    st.root.scrollTop = 0;
    st.root.setAttribute("data-doc", st.doc || "");
  }
  if (st.reset === undefined) {
    st.reset = d.reset;
  } else if (d.reset !== st.reset) {
    // Python asked to forget the selection (clear_selection): only the browser can
    // make that stick, since it re-sends its last state value on every rerun. A
    // selection the user made since (while the server was busy) is not the one Python
    // used: keep it.
    st.reset = d.reset;
    const used = new Set(d.consumed || []);
    if (!st.sent || !d.consumed || used.has(st.sent.nonce)) {
      const r = currentRange(st);
      if (r) window.getSelection().removeAllRanges();
      st.sent = null;
      st.api.setStateValue("selection", null);
    }
  }
  const fresh = st.rev === null;
  if (d.rev !== st.rev) {
    st.rev = d.rev;
    const t0 = performance.now();
    build(st, d);
    root.setAttribute("data-build-ms", String(Math.round(performance.now() - t0)));  // for the bench
    // What the JS sent last is fresher than what Python saw; Python's copy only
    // matters on a fresh mount (e.g. after switching pages and back).
    restoreSelection(st, st.sent || (fresh && !docChanged ? d.selection : null) || null);
    reconcile(st, d);
  } else if (d.ack !== st.ack) {
    reconcile(st, d);
  }
  if (d.ack !== st.ack) {
    st.awaiting = 0;
    if (st.queued) { const q = st.queued; st.queued = null; sendShortcut(st, q); }
  }
  st.ack = d.ack;
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
    marks: list[dict] | None = None,
    undo_target: str | None = None,
    redo_target: str | None = None,
    ack: int = 0,
    scroll_to: dict | None = None,
    select: dict | None = None,
    selection: dict | None | bool = True,
    consumed: list[str] | None = None,
    height: int | None = None,
    on_selection: Callable[[], None] | None = None,
    on_clicked: Callable[[], None] | None = None,
    on_shortcut: Callable[[], None] | None = None,
) -> Any:
    """Mount the transcript view and return its result (see the module docstring).

    blocks: ``[{"id", "speaker", "text" (whole turn, label included), "base",
    "label_end"}]``, ``base`` being the UTF-16 offset of the block start in the
    document and ``label_end`` the UTF-16 length of its speaker label/timestamp.
    highlights: ``[{"id", "start", "end" (absolute UTF-16), "colour" "#rrggbb",
    "label", "title", "code"}]``. doc/sha: the document shown (every selection
    carries them back). focus: a highlight id to outline. shortcuts: code ids for
    keys 1..9; codes: code id -> colour (for the optimistic highlight). marks:
    ``[{"start", "end"}]`` outlined (search hits). undo_target/redo_target: event
    ids that ``u``/``r`` name. ack: bump after every server action so the view
    reconciles optimistic highlights. scroll_to ``{"at", "nonce"}`` and select
    ``{"start", "end", "nonce"}`` act once per nonce. selection: the selection to
    restore on a fresh mount (True: the one in session state). consumed: ids of
    selections the page has used; a clear_selection then clears only one of those,
    never a selection the user made since. height: pixels.
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
        "height": int(height) if height else None,
        "doc": doc,
        "sha": sha,
    }
    # The JS rebuilds the DOM only when `rev` changes, so a rerun caused by a
    # selection (same blocks and highlights) leaves the user's selection alone.
    payload["rev"] = hashlib.sha1(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    payload.update({
        "shortcuts": [str(s) for s in (shortcuts or [])][:9],
        "codes": {str(k): str(v) for k, v in (codes or {}).items()},
        "undo_target": undo_target,
        "redo_target": redo_target,
        "ack": int(ack),
        "scroll_to": scroll_to,
        "select": select,
        "selection": _current_selection(key) if selection is True else (selection or None),
        "consumed": consumed,
        "reset": st.session_state.get(_reset_key(key), 0),
    })
    return _transcript_component(
        key=key,
        data=payload,
        default={"selection": None},
        on_selection_change=on_selection or _noop,
        on_clicked_change=on_clicked or _noop,
        on_shortcut_change=on_shortcut or _noop,
    )
