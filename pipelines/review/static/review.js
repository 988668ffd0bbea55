// doorstep review page: list worst-first, show one page, save corrections. No network assets.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { items: [], index: -1, detail: null, item: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.error || response.status}: ${body.message || ""}`);
  return body;
}

function setStatus(text) { $("status").textContent = text; }

function fillSelect(select, values) {
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "all" }));
  for (const v of values) select.append(el("option", { value: v, text: v }));
  select.value = values.includes(chosen) ? chosen : "";
}

function scoreText(q) {
  return q.score === null ? "unmeasured" : q.score.toFixed(2);
}

function badge(text, kind) {
  return el("span", { class: `badge badge-${kind}`, text });
}

async function loadItems(keep) {
  const params = new URLSearchParams(new FormData($("filters")));
  const data = await api(`/api/items?${params}`);
  fillSelect($("f-grade"), data.facets.grades);
  fillSelect($("f-reason"), data.facets.reasons);
  fillSelect($("f-source"), data.facets.sources);
  state.items = data.items;
  $("count").textContent = `${data.items.length} of ${data.total} pages and chunks, worst first`;
  const list = $("items");
  list.replaceChildren();
  data.items.forEach((item, i) => {
    const label = item.kind === "page" ? `page ${item.page}` : `chunk on page ${item.page}`;
    const button = el("button", { type: "button", "data-index": String(i), "aria-current": "false" },
      el("span", { class: "meta" },
        el("span", { class: `grade grade-${item.grade}`, text: `${scoreText(item)} ${item.grade}` }),
        ` · ${item.source} · ${label}`),
      el("span", { class: "preview", text: item.preview || "(no text)" }));
    if (item.review) button.querySelector(".meta").append(badge(item.review, item.review));
    if (item.corrections === "stale") button.querySelector(".meta").append(badge("stale correction", "stale"));
    button.addEventListener("click", () => select(i));
    list.append(el("li", {}, button));
  });
  if (keep) {
    const found = state.items.findIndex((it) => it.kind === keep.kind && it.doc_id === keep.doc_id
      && it.page === keep.page && (it.kind === "page" || it.chunk_id === keep.chunk_id));
    const same = found >= 0 ? found : state.items.findIndex((it) => it.doc_id === keep.doc_id && it.page === keep.page);
    if (same >= 0) markCurrent(same);
  }
}

function markCurrent(i) {
  state.index = i;
  state.item = state.items[i] || null;
  for (const b of $("items").querySelectorAll("button")) {
    b.setAttribute("aria-current", String(Number(b.dataset.index) === i));
  }
}

async function select(i, focusList = true) {
  if (i < 0 || i >= state.items.length) return;
  markCurrent(i);
  $("page-text").disabled = true; // until the new page's text is in
  const button = $("items").querySelector(`button[data-index="${i}"]`);
  if (button && focusList) { button.focus(); button.scrollIntoView({ block: "nearest" }); }
  await showPage(state.items[i]);
}

function boxClass(b) {
  if (b.layer !== "body") return "box-furniture"; // furniture and notes: not in chunks
  if (b.confidence === null) return "box-none";
  if (b.confidence < 0.5) return "box-low";
  return b.confidence < 0.8 ? "box-mid" : "box-high";
}

function drawBoxes(d) {
  const svg = $("boxes");
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${d.width || 1} ${d.height || 1}`);
  svg.setAttribute("preserveAspectRatio", "none");
  for (const b of d.boxes) {
    const [x0, y0, x1, y1] = b.box;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", x0); rect.setAttribute("y", y0);
    rect.setAttribute("width", Math.max(0, x1 - x0)); rect.setAttribute("height", Math.max(0, y1 - y0));
    rect.setAttribute("class", boxClass(b));
    const title = document.createElementNS(SVG, "title");
    const conf = b.confidence === null ? "" : ` (${Math.round(b.confidence * 100)} %)`;
    title.textContent = `${b.text}${conf}`;
    rect.append(title);
    svg.append(rect);
  }
}

function renderQuality(d) {
  const q = d.quality;
  const box = $("quality");
  box.replaceChildren(
    el("span", { text: "Quality " }),
    el("span", { class: `grade grade-${q.grade}`, id: "quality-score", text: `${scoreText(q)} ${q.grade}` }),
    el("span", { text: ` · reasons: ${q.reasons.join(", ") || "none"}` }),
    el("span", { class: "muted", text: ` · ${d.method} (${d.method_reason || "—"})` }));
  if (d.review) box.append(badge(d.review, d.review));
  if (d.review && d.measured_quality.score !== null) {
    box.append(el("span", { class: "muted", text: ` · measured before review: ${scoreText(d.measured_quality)}` }));
  }
}

function renderChunks(d) {
  const list = $("chunks");
  list.replaceChildren();
  for (const c of d.chunks) {
    const current = state.item && state.item.kind === "chunk" && state.item.chunk_id === c.id;
    const approve = el("button", { type: "button", text: "Approve" });
    const reject = el("button", { type: "button", text: "Reject" });
    const clear = el("button", { type: "button", text: "Clear" });
    approve.addEventListener("click", () => saveChunk(d.doc_id, c.id, "approved"));
    reject.addEventListener("click", () => saveChunk(d.doc_id, c.id, "rejected"));
    clear.addEventListener("click", () => saveChunk(d.doc_id, c.id, null));
    for (const [b, what] of [[approve, "Approve"], [reject, "Reject"], [clear, "Clear the review of"]]) {
      b.setAttribute("aria-label", `${what} chunk ${c.index}`);
    }
    const head = el("span", {}, el("span", { class: `grade grade-${c.grade}`, text: `#${c.index} ${scoreText(c)} ${c.grade}` }),
      ` ${c.reasons.join(", ")} `);
    if (c.review) head.append(badge(c.review, c.review));
    list.append(el("li", { "aria-current": String(Boolean(current)), "data-chunk": c.id }, head, " ", approve, " ", reject, " ", clear,
      el("span", { class: "chunk-text", text: c.text })));
  }
}

async function showPage(item) {
  const d = await api(`/api/doc/${item.doc_id}/page/${item.page}`);
  if (state.item !== item) return; // the user moved on while this page loaded
  state.detail = d;
  $("page-title").textContent = `${d.source} — page ${d.page} of ${d.pages.length}`;
  const stale = $("stale");
  stale.hidden = d.corrections !== "stale";
  stale.textContent = d.corrections === "stale"
    ? "Stale correction: the source file changed after it was corrected, so the saved correction is kept but not applied."
      + (d.stale_text ? ` Saved text began: “${d.stale_text.slice(0, 120)}”` : "")
    : "";
  const img = $("page-image");
  $("image-wrap").hidden = !d.has_image;
  $("no-image").hidden = d.has_image;
  if (d.has_image) {
    img.alt = `Image of page ${d.page} of ${d.source}`;
    img.src = `/api/doc/${d.doc_id}/page/${d.page}/image.png?sha=${d.sha256.slice(0, 12)}`;
  }
  drawBoxes(d);
  renderQuality(d);
  const text = $("page-text");
  text.value = d.text;
  text.disabled = false;
  for (const id of ["save", "approve", "reject", "clear"]) $(id).disabled = false;
  const furniture = $("furniture");
  furniture.replaceChildren(...(d.furniture.length
    ? d.furniture.map((f) => el("li", { text: `${f.type}: ${f.text}` }))
    : [el("li", { class: "muted", text: "none" })]));
  renderChunks(d);
}

async function post(path, payload, done) {
  setStatus("saving…");
  try {
    const result = await api(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    setStatus(`${done} — ${result.message}`);
    const keep = state.item;
    await loadItems(keep);
    if (state.item) await showPage(state.item);
  } catch (error) {
    setStatus(`not saved: ${error.message}`);
  }
}

function pagePath(item) { return `/api/corrections/${item.doc_id}/page/${item.page}`; }

function shown() {
  // The page on screen, only once it is the selected item's page (never a stale one).
  const d = state.detail, item = state.item;
  return d && item && d.doc_id === item.doc_id && d.page === item.page ? d : null;
}

function saveText() {
  if (!shown()) { setStatus("the page is still loading; nothing saved"); return; }
  post(pagePath(state.item), { status: "corrected", text: $("page-text").value }, "Saved correction");
}

function saveChunk(docId, id, status) {
  post(`/api/corrections/${docId}/chunk/${id}`, { status }, status ? `Chunk ${status}` : "Chunk review cleared");
}

function verdict(status) {
  const item = state.item;
  if (!item) return;
  if (item.kind === "chunk" && status !== null) saveChunk(item.doc_id, item.chunk_id, status);
  else post(pagePath(item), { status }, status ? `Page ${status}` : "Review cleared");
}

function typing(target) {
  return target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement || target instanceof HTMLSelectElement;
}

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
    event.preventDefault();
    saveText();
    return;
  }
  if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
  if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  const step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[event.key];
  if (step) {
    event.preventDefault();
    select(state.index < 0 ? 0 : Math.min(state.items.length - 1, Math.max(0, state.index + step)));
  } else if (event.key === "a") { event.preventDefault(); verdict("approved"); }
  else if (event.key === "r") { event.preventDefault(); verdict("rejected"); }
});

document.addEventListener("DOMContentLoaded", () => {
  $("filters").addEventListener("change", () => loadItems(state.item).catch((e) => setStatus(e.message)));
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("save").addEventListener("click", saveText);
  $("approve").addEventListener("click", () => verdict("approved"));
  $("reject").addEventListener("click", () => verdict("rejected"));
  $("clear").addEventListener("click", () => verdict(null));
  loadItems(null).then(() => { document.body.dataset.ready = "true"; })
    .catch((e) => setStatus(`cannot load: ${e.message}`));
});
