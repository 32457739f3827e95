"""The audit page: one HTML file, its script and its style, served as static text.

Kept as Python strings so they ship inside the package whatever the build backend packages. The page
holds no data: the script fetches it as JSON and writes every text with ``textContent`` (never
``innerHTML``), so a translation containing ``<img onerror=...>`` shows as those characters. No inline
script or style, so the Content-Security-Policy can forbid both.
"""

INDEX = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vlmadapt audit</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-state="loading">
<header>
  <h1>Translation audit</h1>
  <span id="who"></span>
  <span id="progress-text"></span>
  <progress id="progress" max="1" value="0"></progress>
</header>
<main id="main" hidden>
  <div id="meta"><strong id="position"></strong> <span id="itemid"></span></div>
  <figure id="figure"><img id="image" alt=""></figure>
  <table id="texts">
    <thead><tr><th>field</th><th id="col-source">source</th><th id="col-text">translation</th></tr></thead>
    <tbody id="fields"></tbody>
  </table>
  <div class="ratings">
    <button type="button" data-rating="high">High <kbd>1</kbd> <kbd>h</kbd></button>
    <button type="button" data-rating="moderate">Moderate <kbd>2</kbd> <kbd>m</kbd></button>
    <button type="button" data-rating="low">Low <kbd>3</kbd> <kbd>l</kbd></button>
  </div>
  <label for="comment">Comment (optional) <kbd>c</kbd>, <kbd>Esc</kbd> to leave</label>
  <textarea id="comment" rows="2" maxlength="4000"></textarea>
  <div class="nav">
    <button type="button" id="prev">&larr; previous <kbd>k</kbd></button>
    <button type="button" id="next">next &rarr; <kbd>j</kbd></button>
    <button type="button" id="resume">first unrated <kbd>u</kbd></button>
  </div>
  <p id="status" role="status"></p>
  <p class="help">High: correct and natural. Moderate: understandable, with errors a reader can
  live with. Low: wrong meaning, untranslated, or broken. A rating moves on to the next item.</p>
</main>
<section id="login" hidden>
  <p>You are not logged in. Open the login link that <code>vlmadapt audit serve</code> printed for you.</p>
</section>
</body>
</html>
"""

SCRIPT = r""""use strict";
// Every text from the server is written with textContent: nothing here parses data as HTML.
const state = { items: [], index: 0, rated: 0 };
const KEYS = { "1": "high", h: "high", "2": "moderate", m: "moderate", "3": "low", l: "low" };
const $ = (id) => document.getElementById(id);
let chain = Promise.resolve();

function enqueue(step) {
  // One action at a time, in key order: a fast typist's "1 1 1" rates three items, not one twice.
  chain = chain.then(() => { document.body.dataset.state = "busy"; return step(); })
    .then(() => { document.body.dataset.state = "ready"; })
    .catch((error) => {
      document.body.dataset.state = "error";
      $("status").textContent = String(error.message || error);
    });
}

async function api(path, options) {
  const headers = { "Content-Type": "application/json" };
  const init = Object.assign({ credentials: "same-origin", headers: headers }, options || {});
  const response = await fetch(path, init);
  if (response.status === 401) {
    $("main").hidden = true;
    $("login").hidden = false;
    throw new Error("not logged in");
  }
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

async function start() {
  const queue = await api("/api/queue");
  state.items = queue.items;
  state.rated = queue.rated;
  $("who").textContent = queue.annotator;
  $("main").hidden = false;
  if (!state.items.length) { $("status").textContent = "No items are assigned to you."; return; }
  await show(queue.first_unrated === null ? 0 : queue.first_unrated);
}

async function show(index) {
  if (!state.items.length) return;
  state.index = Math.max(0, Math.min(state.items.length - 1, index));
  const entry = state.items[state.index];
  const item = await api("/api/item?id=" + encodeURIComponent(entry.id));
  render(item, entry);
}

function cell(row, tag, text, lang) {
  const node = document.createElement(tag);
  node.textContent = text === null || text === undefined ? "" : String(text);
  if (lang) node.lang = lang;
  row.append(node);
}

function render(item, entry) {
  $("position").textContent = "item " + (state.index + 1) + " of " + state.items.length;
  $("itemid").textContent = item.id + " \u00b7 " + item.task;
  const image = $("image");
  if (item.image) {
    image.src = "/images/" + item.image.split("/").map(encodeURIComponent).join("/");
    image.alt = item.image;
    $("figure").hidden = false;
  } else {
    image.removeAttribute("src");
    $("figure").hidden = true;
  }
  const translation = item.kind === "translation";
  $("col-source").hidden = !translation;
  $("col-source").textContent = "source (" + (item.source_lang || "") + ")";
  $("col-text").textContent = (translation ? "translation (" : "text (") + item.lang + ")";
  const rows = [];
  for (const field of item.fields) {
    const row = document.createElement("tr");
    cell(row, "th", field.field);
    if (translation) cell(row, "td", field.source, item.source_lang);
    cell(row, "td", field.text, item.lang);
    rows.push(row);
  }
  $("fields").replaceChildren(...rows);
  $("comment").value = entry.comment || "";
  for (const button of document.querySelectorAll("[data-rating]")) {
    button.setAttribute("aria-pressed", String(button.dataset.rating === entry.rating));
  }
  $("status").textContent = entry.rating ? "rated " + entry.rating : "not rated yet";
  progress();
}

function progress() {
  const total = state.items.length;
  $("progress").max = Math.max(total, 1);
  $("progress").value = state.rated;
  $("progress-text").textContent = state.rated + " of " + total + " rated";
}

async function save(entry, rating) {
  const comment = $("comment").value;
  const body = JSON.stringify({ item_id: entry.id, rating: rating, comment: comment });
  const result = await api("/api/ratings", { method: "POST", body: body });
  entry.rating = rating;
  entry.comment = comment;
  state.rated = result.rated;
}

async function rate(rating) {
  if (!state.items.length) return;
  await save(state.items[state.index], rating);
  if (state.index < state.items.length - 1) {
    await show(state.index + 1);
  } else {
    await show(state.index);
    const done = state.rated === state.items.length;
    $("status").textContent = done ? "All items rated. Thank you!" : "last item; u: first unrated";
  }
}

function firstUnrated() {
  const found = state.items.findIndex((entry) => !entry.rating);
  return found < 0 ? state.index : found;
}

function commentDone() {
  // A comment typed after rating is saved with the same rating when the box is left.
  const entry = state.items[state.index];
  if (entry && entry.rating && $("comment").value !== (entry.comment || "")) {
    enqueue(() => save(entry, entry.rating));
  }
}

document.addEventListener("keydown", (event) => {
  if (event.target === $("comment")) {
    if (event.key === "Escape") $("comment").blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || $("main").hidden) return;
  const key = event.key;
  let step = null;
  if (Object.prototype.hasOwnProperty.call(KEYS, key)) step = () => rate(KEYS[key]);
  else if (key === "ArrowRight" || key === "j") step = () => show(state.index + 1);
  else if (key === "ArrowLeft" || key === "k") step = () => show(state.index - 1);
  else if (key === "u") step = () => show(firstUnrated());
  else if (key === "c") { event.preventDefault(); $("comment").focus(); return; }
  if (step) { event.preventDefault(); enqueue(step); }
});

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-rating]")) {
    button.addEventListener("click", () => enqueue(() => rate(button.dataset.rating)));
  }
  $("prev").addEventListener("click", () => enqueue(() => show(state.index - 1)));
  $("next").addEventListener("click", () => enqueue(() => show(state.index + 1)));
  $("resume").addEventListener("click", () => enqueue(() => show(firstUnrated())));
  $("comment").addEventListener("blur", commentDone);
  enqueue(start);
});
"""

STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 0 1rem 2rem; }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; border-bottom: 1px solid #ddd; }
header h1 { font-size: 1.2rem; margin: 0.8rem 0; }
#who { font-weight: 600; }
#progress { flex: 1; min-width: 8rem; }
#meta { margin: 0.8rem 0; color: #555; }
figure { margin: 0 0 1rem; }
#image { max-width: 100%; max-height: 22rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #eee; padding: 0.4rem; }
td { white-space: pre-wrap; }
tbody th { color: #666; font-weight: 500; width: 8rem; }
.ratings, .nav { display: flex; gap: 0.5rem; margin: 0.6rem 0; flex-wrap: wrap; }
button { font: inherit; padding: 0.4rem 0.9rem; border: 1px solid #bbb; border-radius: 4px; }
button { background: #fafafa; cursor: pointer; }
button[data-rating="high"][aria-pressed="true"] { background: #cdeccd; border-color: #2e7d32; }
button[data-rating="moderate"][aria-pressed="true"] { background: #fff0c2; border-color: #b28704; }
button[data-rating="low"][aria-pressed="true"] { background: #f8d0d0; border-color: #c62828; }
kbd { font-size: 0.75em; border: 1px solid #ccc; border-radius: 3px; padding: 0 0.3em; background: #fff; }
label { display: block; margin-top: 0.6rem; color: #555; }
textarea { width: 100%; font: inherit; box-sizing: border-box; }
#status { color: #555; min-height: 1.4em; }
.help { color: #777; font-size: 0.9rem; }
"""
