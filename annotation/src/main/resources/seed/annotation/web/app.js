// Seed annotator page: plain JS, no build. Talks to the JSON API with the personal token as a Bearer header.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("seed.token");
  let item = null;
  let me = null;
  let editing = null; // the event id of the submitted ranking being edited, or null
  let touched = false; // a submit needs a deliberate action: a move, or "the shown order is my ranking"

  // --- safe markdown: text only ever reaches the page through textContent; only these elements are created ---
  function markdown(el, src) {
    el.replaceChildren();
    const parts = String(src).split(/^```[^\n]*\n?/m);
    parts.forEach((part, i) => {
      if (i % 2 === 1) { // inside a fence
        const pre = document.createElement("pre");
        const code = document.createElement("code");
        code.textContent = part.replace(/\n$/, "");
        pre.append(code);
        el.append(pre);
        return;
      }
      let list = null;
      for (const block of part.split(/\n{2,}/)) {
        if (!block.trim()) continue;
        const lines = block.split("\n");
        if (lines.every((l) => /^\s*([-*]|\d+\.)\s+/.test(l))) {
          list = document.createElement(/^\s*\d+\./.test(lines[0]) ? "ol" : "ul");
          lines.forEach((l) => { const li = document.createElement("li"); inline(li, l.replace(/^\s*([-*]|\d+\.)\s+/, "")); list.append(li); });
          el.append(list);
          continue;
        }
        const h = /^(#{1,3})\s+(.*)$/.exec(lines[0]);
        const node = document.createElement(h ? "h" + (h[1].length + 2) : "p");
        inline(node, h ? h[2] : block);
        el.append(node);
      }
    });
  }

  // `code`, **bold** and *emphasis*; line breaks kept
  function inline(el, text) {
    const re = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*)/g;
    let last = 0;
    let m;
    const add = (t) => t.split("\n").forEach((seg, i) => { if (i > 0) el.append(document.createElement("br")); if (seg) el.append(document.createTextNode(seg)); });
    while ((m = re.exec(text)) !== null) {
      add(text.slice(last, m.index));
      const tok = m[0];
      const node = document.createElement(tok.startsWith("`") ? "code" : tok.startsWith("**") ? "strong" : "em");
      node.textContent = tok.startsWith("**") ? tok.slice(2, -2) : tok.slice(1, -1);
      el.append(node);
      last = m.index + tok.length;
    }
    add(text.slice(last));
  }

  // per-annotator, per-item order (position bias): a seeded shuffle, mapped back by data-index on submit
  function shuffled(n, seed) {
    let x = seed >>> 0 || 1;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
    return idx;
  }

  function setTouched(on) {
    touched = on;
    $("submit").disabled = !on;
    changed();
  }

  function status(text, kind) {
    const s = $("status");
    s.textContent = text || "";
    s.className = kind || "";
  }

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: Object.assign({ "Content-Type": "application/json" }, token ? { Authorization: "Bearer " + token } : {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error) || ("HTTP " + res.status));
      err.status = res.status;
      err.retryAfter = Number(res.headers.get("Retry-After") || 0);
      // "try again" answers: the database or Kafka did not confirm (503), or this very submission is still on its
      // way (409 "in progress"); resubmitting the same ranking is safe, the server accepts it once
      err.retryable = res.status === 503 || (res.status === 409 && /in progress/.test(err.message));
      throw err;
    }
    return { status: res.status, data };
  }

  function show(view) {
    for (const v of ["login-view", "item-view", "done-view", "operator-view", "history-view"]) $(v).hidden = v !== view;
    $("signout").hidden = view === "login-view";
  }

  // --- drafts: a half-made order survives a reload (per person and item, in this browser only) ---
  function draftKey() { return me && item && !editing ? "seed.draft." + me.annotator_id + "." + item.item_id : null; }

  function saveDraft() {
    const k = draftKey();
    if (!k) return;
    const lis = Array.from($("responses").children);
    localStorage.setItem(k, JSON.stringify({
      order: lis.map((li) => Number(li.dataset.index)),
      tied: lis.filter((li) => li.querySelector("input.tie").checked).map((li) => Number(li.dataset.index)),
      unsafe: lis.filter((li) => li.querySelector("input.unsafe").checked).map((li) => Number(li.dataset.index)),
      strength: Object.fromEntries(lis.map((li) => [li.dataset.index, li.querySelector("select.strength").value])),
      comment: $("comment").value,
      touched,
    }));
  }

  function clearDraft() { const k = draftKey(); if (k) localStorage.removeItem(k); }

  function restoreDraft() {
    const k = draftKey();
    let d = null;
    try { d = k ? JSON.parse(localStorage.getItem(k) || "null") : null; } catch (e) { d = null; }
    if (!d || !Array.isArray(d.order)) return false;
    const ol = $("responses");
    const byIndex = new Map(Array.from(ol.children).map((li) => [Number(li.dataset.index), li]));
    if (d.order.length !== byIndex.size || !d.order.every((i) => byIndex.has(i))) return false;
    for (const i of d.order) ol.appendChild(byIndex.get(i));
    for (const [i, li] of byIndex) {
      const tie = li.querySelector("input.tie");
      const bad = li.querySelector("input.unsafe");
      tie.checked = (d.tied || []).includes(i); li.classList.toggle("tied", tie.checked);
      bad.checked = (d.unsafe || []).includes(i); li.classList.toggle("unsafe", bad.checked);
      const sel = li.querySelector("select.strength");
      sel.value = (d.strength || {})[String(i)] || "";
      sel.disabled = tie.checked;
    }
    $("comment").value = d.comment || "";
    setTouched(!!d.touched);
    return true;
  }

  // ranks shown in front of each response; a tie shares the rank of the one above ("2", "2")
  function renumber() {
    let rank = 0;
    Array.from($("responses").children).forEach((li, pos) => {
      const tied = pos > 0 && li.querySelector("input.tie").checked;
      if (!tied) rank = pos + 1;
      li.dataset.rank = String(rank);
      li.classList.toggle("shares-rank", tied);
    });
  }

  function changed() { renumber(); saveDraft(); }

  async function signedIn(who) {
    me = who;
    $("who").hidden = false;
    $("who").textContent = who.name + " (" + who.role + ")";
    try {
      const g = await api("GET", "/api/guidelines");
      if (g.data && g.data.markdown) { markdown($("guidelines"), g.data.markdown); $("guidelines-box").hidden = false; }
    } catch (e) { /* no guidelines configured */ }
    if (who.role === "operator" || who.role === "auditor") { await loadProgress(); return; }
    await loadNext();
  }

  async function loadProgress() {
    const r = await api("GET", "/api/progress");
    const body = $("progress-table").querySelector("tbody");
    body.replaceChildren();
    const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2));
    for (const p of r.data) {
      const tr = document.createElement("tr");
      for (const v of [p.name, p.done, p.skipped, p.in_progress, p.left, fmt(p.spearman_with_others), fmt(p.spearman_with_gold)]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      body.append(tr);
    }
    show("operator-view");
  }

  async function loadProgressLine() {
    try {
      const p = (await api("GET", "/api/me/progress")).data;
      // the same numbers as the operators' table (one definition: done, in progress, left to rank)
      $("progress").textContent = p.done + " done · " + p.in_progress + " in progress · " + p.left + " left";
      $("done-summary").textContent = "You submitted " + p.done + " item" + (p.done === 1 ? "" : "s")
        + (p.skipped ? " (" + p.skipped + " skipped)" : "") + ".";
    } catch (e) { $("progress").textContent = ""; }
  }

  async function login(ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    try {
      const r = await api("POST", "/api/login", { token });
      sessionStorage.setItem("seed.token", token);
      status("");
      await signedIn(r.data);
    } catch (e) {
      token = null;
      status("Sign-in failed: " + e.message, "error");
    }
  }

  async function loadNext() {
    const r = await api("GET", "/api/items/next");
    if (r.status === 204 || !r.data) {
      item = null;
      show("done-view");
      loadProgressLine();
      return;
    }
    item = r.data;
    editing = null;
    $("editing").hidden = true;
    $("item-id").textContent = "item " + item.item_id;
    markdown($("prompt"), item.prompt);
    const ol = $("responses");
    ol.replaceChildren();
    for (const i of shuffled(item.responses.length, (me ? me.annotator_id : 0) * 1000003 + item.item_id)) {
      ol.appendChild(row(item.responses[i], i));
    }
    $("comment").value = "";
    skipBox(false);
    const long = item.responses.some((t) => t.length > LONG_RESPONSE);
    setColumns(localStorage.getItem("seed.columns") !== null ? localStorage.getItem("seed.columns") === "1" : long);
    touched = false; // not setTouched: that would save this untouched order over a draft before it is restored
    $("submit").disabled = true;
    if (restoreDraft()) status("Draft restored: your unfinished order for item " + item.item_id + ".", "ok");
    renumber();
    show("item-view");
    loadProgressLine();
  }

  function row(text, index) {
    const li = document.createElement("li");
    li.className = "response";
    li.tabIndex = 0;
    li.draggable = true;
    li.dataset.index = String(index);
    li.setAttribute("aria-label", "Response " + (index + 1));
    const t = document.createElement("div");
    t.className = "text md";
    markdown(t, text);
    const controls = document.createElement("div");
    controls.className = "controls";
    const moves = document.createElement("div");
    moves.className = "moves";
    const up = button("↑", "up", "Move up", () => move(li, -1));
    const down = button("↓", "down", "Move down", () => move(li, 1));
    moves.append(up, down);
    const tie = checkbox("tie", "tie with the one above", (on) => {
      li.classList.toggle("tied", on);
      li.querySelector("select.strength").disabled = on;
      setTouched(true);
    });
    const unsafe = checkbox("unsafe", "flag unsafe", (on) => { li.classList.toggle("unsafe", on); changed(); });
    // Llama 2's preference strength: how much better the response above is than this one (optional, all or none)
    const strength = document.createElement("select");
    strength.className = "strength";
    strength.setAttribute("aria-label", "How much better the response above is");
    for (const [v, label] of [["", "above is … (optional)"], ["4", "above: significantly better"], ["3", "above: better"],
      ["2", "above: slightly better"], ["1", "above: negligibly better"]]) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = label;
      strength.append(o);
    }
    strength.addEventListener("change", () => changed());
    controls.append(moves, tie, unsafe, strength);
    li.append(t, controls); // the rank number in front comes from a CSS counter
    li.addEventListener("keydown", (ev) => {
      if (ev.target !== li) return;
      if (ev.key === "ArrowUp") { ev.preventDefault(); move(li, -1); }
      if (ev.key === "ArrowDown") { ev.preventDefault(); move(li, 1); }
    });
    li.addEventListener("dragstart", (ev) => { li.classList.add("dragging"); ev.dataTransfer.setData("text/plain", li.dataset.index); ev.dataTransfer.effectAllowed = "move"; });
    li.addEventListener("dragend", () => { li.classList.remove("dragging"); clearOver(); });
    li.addEventListener("dragover", (ev) => { ev.preventDefault(); clearOver(); li.classList.add("over"); });
    li.addEventListener("dragleave", () => li.classList.remove("over"));
    li.addEventListener("drop", (ev) => {
      ev.preventDefault();
      clearOver();
      const from = document.querySelector('#responses li[data-index="' + ev.dataTransfer.getData("text/plain") + '"]');
      if (!from || from === li) return;
      const items = Array.from($("responses").children);
      if (items.indexOf(from) < items.indexOf(li)) li.after(from); else li.before(from);
      setTouched(true);
      from.focus();
    });
    return li;
  }

  function button(label, cls, title, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", onClick);
    return b;
  }

  function checkbox(cls, text, onChange) {
    const l = document.createElement("label");
    l.className = cls + "-label";
    const c = document.createElement("input");
    c.type = "checkbox";
    c.className = cls;
    c.addEventListener("change", () => onChange(c.checked));
    l.append(c, " " + text);
    return l;
  }

  function clearOver() {
    document.querySelectorAll("#responses li.over").forEach((e) => e.classList.remove("over"));
  }

  function move(li, delta) {
    if (delta < 0 && li.previousElementSibling) { li.previousElementSibling.before(li); setTouched(true); }
    if (delta > 0 && li.nextElementSibling) { li.nextElementSibling.after(li); setTouched(true); }
    li.focus();
  }

  function collect() {
    const lis = Array.from($("responses").children);
    const ranking = lis.map((li) => Number(li.dataset.index));
    const ties = [];
    const unsafe = [];
    lis.forEach((li, pos) => {
      if (pos > 0 && li.querySelector("input.tie").checked) ties.push([Number(lis[pos - 1].dataset.index), Number(li.dataset.index)]);
      if (li.querySelector("input.unsafe").checked) unsafe.push(Number(li.dataset.index));
    });
    // strengths: one per neighbouring pair (0 for a tie) when every untied pair is graded, none when none is
    const graded = lis.slice(1).map((li) => (li.querySelector("input.tie").checked ? 0
      : li.querySelector("select.strength").value === "" ? null : Number(li.querySelector("select.strength").value)));
    const given = lis.slice(1).filter((li) => !li.querySelector("input.tie").checked && li.querySelector("select.strength").value !== "").length;
    const untied = lis.slice(1).filter((li) => !li.querySelector("input.tie").checked).length;
    const strengths = given === 0 ? [] : graded;
    const strengthsPartial = given > 0 && given < untied;
    return { ranking, ties, unsafe, strengths, strengthsPartial };
  }

  async function submit(skip, skipReason) {
    if (!item) return;
    if (skip && !skipReason) { skipBox(true); return; }
    if (!skip && !touched) {
      status("Rank first: move at least one response, or confirm with “The shown order is my ranking”.", "error");
      return;
    }
    const c = collect();
    if (!skip && c.strengthsPartial) {
      status("Strength: grade every pair (how much better the one above is) or none.", "error");
      return;
    }
    const body = skip
      ? { item_id: item.item_id, skip: true, ranking: [], ties: [], unsafe: c.unsafe }
      : { item_id: item.item_id, ranking: c.ranking, ties: c.ties, unsafe: c.unsafe };
    if (!skip && c.strengths.length) body.strengths = c.strengths;
    if (editing) body.supersedes = editing;
    const note = $("comment").value.trim();
    if (skip) body.comment = ("skipped: " + skipReason + (note ? "\n" + note : "")).slice(0, 2000);
    else if (note) body.comment = note;
    $("submit").disabled = $("skip").disabled = true;
    // undo window: the ranking leaves the browser only after UNDO_MS, so "Undo" (or Ctrl+Z) takes it back
    // before anything is claimed or sent to Kafka
    const undone = await undoWindow(skip);
    if (undone) {
      $("skip").disabled = false;
      $("submit").disabled = !touched;
      status("Undone: item " + item.item_id + " was not submitted; change what you like.", "ok");
      return;
    }
    try {
      const r = await send(body);
      clearDraft();
      status((editing ? "Edited" : skip ? "Skipped" : "Submitted") + " item " + item.item_id + " (event " + r.data.event_id + ")", "ok");
      editing = null;
      await loadNext();
    } catch (e) {
      status("Not submitted: " + e.message, "error");
    } finally {
      $("skip").disabled = false;
      $("submit").disabled = !touched;
    }
  }

  // Sends a submission; a "try again" answer is retried with the same body after the server's Retry-After (the server
  // answers a resubmission of an accepted ranking as success, so a retry never stores it twice)
  async function send(body) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await api("POST", "/api/submissions", body);
      } catch (e) {
        if (!e.retryable || attempt >= RETRIES) throw e;
        const wait = Math.min(30, Math.max(1, e.retryAfter || 1));
        status("Saving item " + body.item_id + ": " + e.message + " (trying again in " + wait + " s)", "");
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    }
  }

  const RETRIES = 8;
  const LONG_RESPONSE = 400; // characters: longer responses are shown side by side by default

  function setColumns(on) {
    $("responses").classList.toggle("columns", on);
    document.body.classList.toggle("wide", on);
    $("columns").setAttribute("aria-pressed", on ? "true" : "false");
    $("columns").textContent = on ? "One column" : "Side by side";
  }

  function skipBox(open) {
    $("skip-box").hidden = !open;
    if (open) { $("skip-reason").value = ""; $("skip-text").value = ""; $("skip-reason").focus(); }
  }

  function confirmSkip() {
    const reason = $("skip-reason").value;
    const text = $("skip-text").value.trim();
    if (!reason) { status("Choose why you skip this item.", "error"); $("skip-reason").focus(); return; }
    if (reason === "other" && !text) { status("Say in a few words why you skip this item.", "error"); $("skip-text").focus(); return; }
    const label = $("skip-reason").selectedOptions[0].textContent;
    skipBox(false);
    submit(true, reason === "other" ? text : label + (text ? ": " + text : ""));
  }

  function signOut() {
    sessionStorage.removeItem("seed.token");
    token = null; me = null; item = null;
    $("who").hidden = true;
    $("token").value = "";
    status("Signed out.", "ok");
    show("login-view");
  }

  // --- history: what I submitted (newest first), each shown read-only with Previous / Next ---
  let history = [];

  async function openHistory() {
    history = (await api("GET", "/api/me/submissions")).data || [];
    const ol = $("history-list");
    ol.replaceChildren();
    history.forEach((h, i) => {
      const li = document.createElement("li");
      li.append(button("item " + h.item_id + " · " + outcome(h) + " · " + new Date(h.submitted_at).toLocaleString(),
        "history-entry", "Show item " + h.item_id, () => showHistory(i).catch((e) => status(e.message, "error"))));
      ol.append(li);
    });
    if (!history.length) { const li = document.createElement("li"); li.textContent = "Nothing submitted yet."; ol.append(li); }
    $("history-item").hidden = true;
    show("history-view");
  }

  // "2 > 1 = 3" in the response numbers the annotator saw on the stored item (1-based), or skipped / on its way
  function outcome(h) {
    if (!h.stored) return "on its way to the database";
    if (h.stored.skip) return "skipped";
    const tied = new Set(h.stored.ties.map((t) => Math.min(t[0], t[1]) + "," + Math.max(t[0], t[1])));
    return h.stored.ranking.map((r, p) => (p === 0 ? "" : tied.has(Math.min(r, h.stored.ranking[p - 1]) + ","
      + Math.max(r, h.stored.ranking[p - 1])) ? " = " : " > ") + "#" + (r + 1)).join("");
  }

  async function showHistory(i) {
    const h = history[i];
    const it = (await api("GET", "/api/items/" + h.item_id)).data;
    $("history-title").textContent = "item " + h.item_id + " (" + (i + 1) + " of " + history.length + ")";
    markdown($("history-prompt"), it.prompt);
    $("history-outcome").textContent = !h.stored ? "Submitted; still on its way to the database."
      : h.stored.skip ? "Skipped." : "Your ranking, best first: " + outcome(h);
    const ol = $("history-responses");
    ol.replaceChildren();
    const ranked = h.stored && !h.stored.skip;
    const order = ranked ? h.stored.ranking : it.responses.map((_, j) => j);
    const tied = new Set(ranked ? h.stored.ties.map((t) => Math.min(t[0], t[1]) + "," + Math.max(t[0], t[1])) : []);
    let rank = 0;
    order.forEach((r, p) => {
      const li = document.createElement("li");
      if (!(p > 0 && tied.has(Math.min(r, order[p - 1]) + "," + Math.max(r, order[p - 1])))) rank = p + 1;
      li.dataset.rank = ranked ? String(rank) : "#" + (r + 1);
      li.dataset.index = String(r);
      if (h.stored && h.stored.unsafe.includes(r)) li.classList.add("unsafe");
      const t = document.createElement("div");
      t.className = "text md";
      markdown(t, it.responses[r]);
      li.append(t);
      ol.append(li);
    });
    $("history-comment").textContent = h.stored && h.stored.comment ? "Comment: " + h.stored.comment : "";
    $("history-prev").disabled = i >= history.length - 1;
    $("history-next").disabled = i <= 0;
    $("history-prev").onclick = () => showHistory(i + 1).catch((e) => status(e.message, "error"));
    $("history-next").onclick = () => showHistory(i - 1).catch((e) => status(e.message, "error"));
    $("history-edit").hidden = !h.stored;
    $("history-edit").onclick = () => startEdit(h, it);
    $("history-item").hidden = false;
  }

  // An edit is a new submission that names the stored event it supersedes; the old one stays in the record
  function startEdit(h, it) {
    item = it;
    editing = h.stored.event_id || h.event_id;
    $("item-id").textContent = "item " + item.item_id;
    markdown($("prompt"), item.prompt);
    const ol = $("responses");
    ol.replaceChildren();
    const order = h.stored.skip ? shuffled(item.responses.length, me.annotator_id * 1000003 + item.item_id) : h.stored.ranking;
    const tied = new Set(h.stored.ties.map((t) => Math.min(t[0], t[1]) + "," + Math.max(t[0], t[1])));
    order.forEach((r, p) => {
      const li = row(item.responses[r], r);
      ol.appendChild(li);
      if (p > 0 && tied.has(Math.min(r, order[p - 1]) + "," + Math.max(r, order[p - 1]))) {
        li.querySelector("input.tie").checked = true; li.classList.add("tied");
        li.querySelector("select.strength").disabled = true;
      } else if (p > 0 && (h.stored.strengths || []).length === order.length - 1) {
        li.querySelector("select.strength").value = String(h.stored.strengths[p - 1]);
      }
      if (h.stored.unsafe.includes(r)) { li.querySelector("input.unsafe").checked = true; li.classList.add("unsafe"); }
    });
    $("comment").value = h.stored.comment || "";
    skipBox(false);
    setColumns(localStorage.getItem("seed.columns") !== null ? localStorage.getItem("seed.columns") === "1"
      : item.responses.some((t) => t.length > LONG_RESPONSE));
    touched = false;
    $("submit").disabled = true;
    renumber();
    $("editing").textContent = "Editing your submitted ranking of item " + item.item_id
      + ": the new one replaces it in future snapshots; the old one stays on record.";
    $("editing").hidden = false;
    show("item-view");
  }

  const UNDO_MS = Number(new URLSearchParams(location.search).get("undo_ms") || 4000);
  let cancelPending = null;

  function undoWindow(skip) {
    return new Promise((resolve) => {
      const bar = $("undo-bar");
      const end = Date.now() + UNDO_MS;
      const tick = () => { $("undo-text").textContent = (skip ? "Skipping" : "Submitting") + " in " + Math.max(0, Math.ceil((end - Date.now()) / 1000)) + " s"; };
      tick();
      bar.hidden = false;
      $("item-view").classList.add("pending");
      const timer = setInterval(tick, 250);
      const finish = (undone) => {
        clearInterval(timer);
        clearTimeout(to);
        bar.hidden = true;
        $("item-view").classList.remove("pending");
        cancelPending = null;
        resolve(undone);
      };
      const to = setTimeout(() => finish(false), UNDO_MS);
      cancelPending = () => finish(true);
      $("undo").focus();
    });
  }

  function help(open) { $("help").hidden = !open; if (open) $("help-close").focus(); }

  function focused() {
    const a = document.activeElement;
    return a && a.closest ? a.closest("#responses li") : null;
  }

  // every action has a key; none fires while typing in a field
  document.addEventListener("keydown", (ev) => {
    if (ev.target && ev.target.id === "comment" && ev.key === "Escape") { ev.target.blur(); return; }
    if (ev.target && ev.target.id === "comment" && ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(false); return; }
    if (ev.target && (ev.target.tagName === "INPUT" && ev.target.type !== "checkbox" || ev.target.tagName === "TEXTAREA"
        || ev.target.tagName === "SELECT")) {
      if (ev.key === "Escape" && !$("skip-box").hidden) skipBox(false);
      return;
    }
    if (ev.key === "Escape") { help(false); return; }
    if (cancelPending && (ev.key === "z" && (ev.ctrlKey || ev.metaKey))) { ev.preventDefault(); cancelPending(); return; }
    if (cancelPending) return; // nothing else while a submission waits to leave
    if (ev.key === "?") { ev.preventDefault(); help($("help").hidden); return; }
    if (ev.key === "h" && (!$("item-view").hidden || !$("done-view").hidden) && $("help").hidden) {
      ev.preventDefault(); openHistory().catch((e) => status(e.message, "error")); return;
    }
    if ($("item-view").hidden || !$("help").hidden) return;
    const lis = Array.from($("responses").children);
    const cur = focused();
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(false); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^[1-9]$/.test(ev.key) && lis[Number(ev.key) - 1]) { ev.preventDefault(); lis[Number(ev.key) - 1].focus(); return; }
    if (ev.key === "j" || ev.key === "k") {
      ev.preventDefault();
      const i = cur ? lis.indexOf(cur) : -1;
      const n = ev.key === "j" ? Math.min(lis.length - 1, i + 1) : Math.max(0, i - 1);
      if (lis[n]) lis[n].focus();
      return;
    }
    if ((ev.key === "t" || ev.key === "u") && cur) {
      ev.preventDefault();
      const box = cur.querySelector(ev.key === "t" ? "input.tie" : "input.unsafe");
      if (ev.key === "t" && !cur.previousElementSibling) return;
      box.click();
      cur.focus();
      return;
    }
    if (ev.key === "o") { ev.preventDefault(); setTouched(true); status("Shown order confirmed; submit with Ctrl+Enter.", "ok"); return; }
    if (ev.key === "s") { ev.preventDefault(); submit(true); return; }
    if (ev.key === "c") { ev.preventDefault(); $("comment").focus(); return; }
    if (ev.key === "v") { ev.preventDefault(); toggleColumns(); return; }
    if (ev.key === "g" && !$("guidelines-box").hidden) { ev.preventDefault(); $("guidelines-box").open = !$("guidelines-box").open; }
  });

  $("login-form").addEventListener("submit", login);
  $("submit").addEventListener("click", () => submit(false));
  $("skip").addEventListener("click", () => submit(true));
  $("skip-confirm").addEventListener("click", confirmSkip);
  $("skip-cancel").addEventListener("click", () => skipBox(false));
  $("signout").addEventListener("click", signOut);
  $("history-open").addEventListener("click", () => openHistory().catch((e) => status(e.message, "error")));
  $("history-open-done").addEventListener("click", () => openHistory().catch((e) => status(e.message, "error")));
  $("history-back").addEventListener("click", () => { if (item) show("item-view"); else loadNext().catch((e) => status(e.message, "error")); });
  $("columns").addEventListener("click", toggleColumns);
  $("comment").addEventListener("input", saveDraft);
  function toggleColumns() {
    const on = !$("responses").classList.contains("columns");
    localStorage.setItem("seed.columns", on ? "1" : "0");
    setColumns(on);
  }
  $("undo").addEventListener("click", () => { if (cancelPending) cancelPending(); });
  $("keep").addEventListener("click", () => { setTouched(true); status("Shown order confirmed.", "ok"); });
  $("help-open").addEventListener("click", () => help(true));
  $("help-close").addEventListener("click", () => help(false));
  $("progress-refresh").addEventListener("click", () => loadProgress().catch((e) => status(e.message, "error")));
  $("refresh").addEventListener("click", () => loadNext().catch((e) => status(e.message, "error")));
  if (token) {
    api("POST", "/api/login", { token })
      .then((r) => signedIn(r.data))
      .catch(() => { token = null; sessionStorage.removeItem("seed.token"); show("login-view"); });
  }
})();
