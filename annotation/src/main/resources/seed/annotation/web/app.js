// Seed annotator page: plain JS, no build. Talks to the JSON API with the personal token as a Bearer header.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("seed.token");
  let item = null;

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
      throw new Error((data && data.error) || ("HTTP " + res.status));
    }
    return { status: res.status, data };
  }

  function show(view) {
    for (const v of ["login-view", "item-view", "done-view"]) $(v).hidden = v !== view;
  }

  async function login(ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    try {
      const r = await api("POST", "/api/login", { token });
      sessionStorage.setItem("seed.token", token);
      $("who").hidden = false;
      $("who").textContent = r.data.name + " (" + r.data.role + ")";
      status("");
      await loadNext();
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
      return;
    }
    item = r.data;
    $("item-id").textContent = "item " + item.item_id;
    $("prompt").textContent = item.prompt;
    const ol = $("responses");
    ol.innerHTML = "";
    item.responses.forEach((text, i) => ol.appendChild(row(text, i)));
    show("item-view");
  }

  function row(text, index) {
    const li = document.createElement("li");
    li.className = "response";
    li.tabIndex = 0;
    li.draggable = true;
    li.dataset.index = String(index);
    li.setAttribute("aria-label", "Response " + (index + 1));
    const t = document.createElement("div");
    t.className = "text";
    t.textContent = text;
    const controls = document.createElement("div");
    controls.className = "controls";
    const moves = document.createElement("div");
    moves.className = "moves";
    const up = button("↑", "up", "Move up", () => move(li, -1));
    const down = button("↓", "down", "Move down", () => move(li, 1));
    moves.append(up, down);
    const tie = checkbox("tie", "tie with the one above", (on) => li.classList.toggle("tied", on));
    const unsafe = checkbox("unsafe", "flag unsafe", (on) => li.classList.toggle("unsafe", on));
    controls.append(moves, tie, unsafe);
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
    if (delta < 0 && li.previousElementSibling) li.previousElementSibling.before(li);
    if (delta > 0 && li.nextElementSibling) li.nextElementSibling.after(li);
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
    return { ranking, ties, unsafe };
  }

  async function submit(skip) {
    if (!item) return;
    const c = collect();
    const body = skip
      ? { item_id: item.item_id, skip: true, ranking: [], ties: [], unsafe: c.unsafe }
      : { item_id: item.item_id, ranking: c.ranking, ties: c.ties, unsafe: c.unsafe };
    $("submit").disabled = $("skip").disabled = true;
    try {
      const r = await api("POST", "/api/submissions", body);
      status((skip ? "Skipped" : "Submitted") + " item " + item.item_id + " (event " + r.data.event_id + ")", "ok");
      await loadNext();
    } catch (e) {
      status("Not submitted: " + e.message, "error");
    } finally {
      $("submit").disabled = $("skip").disabled = false;
    }
  }

  $("login-form").addEventListener("submit", login);
  $("submit").addEventListener("click", () => submit(false));
  $("skip").addEventListener("click", () => submit(true));
  $("refresh").addEventListener("click", () => loadNext().catch((e) => status(e.message, "error")));
  if (token) {
    api("POST", "/api/login", { token })
      .then((r) => { $("who").hidden = false; $("who").textContent = r.data.name + " (" + r.data.role + ")"; return loadNext(); })
      .catch(() => { token = null; sessionStorage.removeItem("seed.token"); show("login-view"); });
  }
})();
