// Seed's auditor page: no framework, no CDN. The token stays in this tab (sessionStorage); every API call sends it
// as a Bearer token. The graph is SVG rendered by the server; clicking a node shows what the ledger recorded for it.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('seed-audit-token') || '';
  let graph = null;
  let target = null;

  async function api(path) {
    const res = await fetch(path, { headers: { 'Authorization': 'Bearer ' + token } });
    const body = await res.json().catch(() => ({ error: 'HTTP ' + res.status }));
    if (!res.ok) {
      throw new Error(res.status + ': ' + (body.error || 'request failed'));
    }
    return body;
  }

  function text(el, s) { el.textContent = s == null ? '' : String(s); return el; }
  // a value cell: nested settings (objects) as nested tables, lists of plain values joined, never raw JSON
  function value(cell, v) {
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
      text(cell, v.join(', '));
    } else if (typeof v === 'object' && v !== null) {
      const t = document.createElement('table');
      t.className = 'nested';
      for (const k of Object.keys(v).sort((a, b) => (Array.isArray(v) ? a - b : a.localeCompare(b)))) row(t, k, v[k]);
      cell.appendChild(t);
    } else {
      text(cell, v);
    }
  }
  function row(table, k, v) {
    const tr = table.insertRow();
    const key = tr.insertCell();
    key.className = 'key';
    text(key.appendChild(document.createElement('span')), k);
    value(tr.insertCell(), v);
  }

  async function login() {
    token = $('token').value.trim();
    try {
      const runs = await api('/api/lineage/runs');
      sessionStorage.setItem('seed-audit-token', token);
      $('login-view').hidden = true;
      $('audit-view').hidden = false;
      showRuns(runs.runs);
    } catch (e) {
      text($('login-error'), e.message);
    }
  }

  function showRuns(runs) {
    const ul = $('runs');
    ul.innerHTML = '';
    for (const r of runs) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.dataset.run = r.run;
      text(b, r.run);
      const small = document.createElement('small');
      text(small, r.status + ' · ' + r.task_runs + ' task runs · by ' + r.launched_by + ' · ' + r.started_at);
      b.appendChild(small);
      b.addEventListener('click', () => load(r.run));
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  async function load(t) {
    target = t;
    text($('graph-error'), '');
    text($('verify-result'), '');
    $('problems').innerHTML = '';
    $('details').hidden = true;
    try {
      const res = await api('/api/lineage/graph?target=' + encodeURIComponent(t));
      graph = res.graph;
      text($('graph-title'), 'Lineage of ' + t);
      $('graph').innerHTML = res.svg; // server-rendered, every text escaped
      for (const g of $('graph').querySelectorAll('g.node')) {
        g.addEventListener('click', () => select(g.dataset.node));
        g.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(g.dataset.node); });
      }
      $('verify').disabled = false;
    } catch (e) {
      $('graph').innerHTML = '';
      text($('graph-error'), e.message);
    }
  }

  function annotationsOf(node) {
    if (node.annotations) return node.annotations;
    // a reward model: the annotations of the snapshot it was trained on
    for (const e of graph.edges) {
      if (e.to === node.id) {
        const from = graph.nodes.find((n) => n.id === e.from);
        if (from && from.annotations) return from.annotations;
      }
    }
    return null;
  }

  function select(id) {
    const node = graph.nodes.find((n) => n.id === id);
    if (!node) return;
    for (const g of $('graph').querySelectorAll('g.node')) g.classList.toggle('selected', g.dataset.node === id);
    $('details').hidden = false;
    text($('node-title'), node.stage + ' · ' + node.task_id);
    const dl = $('node-facts');
    dl.innerHTML = '';
    const facts = [['status', node.event], ['task run', node.id], ['execution', node.execution_id],
      ['parent execution', node.parent_execution_id], ['flow', node.flow_namespace + '/' + node.flow_id + ' rev ' + node.flow_revision],
      ['launched by', node.launched_by], ['started', node.started_at], ['ended', node.ended_at], ['attempt', node.attempt],
      ['device', node.device], ['code', 'seed ' + node.runtime.seed_version + ' @ ' + node.runtime.git_commit + (node.runtime.git_dirty ? ' (dirty)' : '')],
      ['runtime', node.runtime.jvm + ' · DJL ' + node.runtime.djl + ' · libtorch ' + node.runtime.libtorch],
      ['ledger records', node.first_record + '..' + node.last_record]];
    for (const [k, v] of facts) {
      text(dl.appendChild(document.createElement('dt')), k);
      text(dl.appendChild(document.createElement('dd')), v);
    }
    const ann = annotationsOf(node);
    const box = $('node-annotations');
    box.innerHTML = '';
    if (ann) {
      const n = Object.keys(ann.annotators).length;
      const w = ann.mean_kendall_w == null ? '-' : Number(ann.mean_kendall_w).toFixed(3);
      const p = document.createElement('p');
      p.id = 'annotation-summary';
      text(p, 'Snapshot ' + ann.snapshot_id + ': ' + ann.rankings + ' rankings by ' + n + ' annotators, agreement (mean Kendall\'s W) '
        + w + ' over ' + ann.items_with_agreement + ' items');
      box.appendChild(p);
      const t = document.createElement('table');
      for (const [a, c] of Object.entries(ann.annotators)) row(t, 'annotator ' + a, c + ' rankings');
      box.appendChild(t);
    }
    for (const [tableId, list] of [['node-outputs', node.outputs], ['node-inputs', node.inputs]]) {
      const t = $(tableId);
      t.innerHTML = '';
      for (const a of list) row(t, a.name + ' (' + a.kind + ')', a.path + '  sha256 ' + a.sha256 + '  ' + a.size_bytes + ' bytes');
    }
    for (const [tableId, map] of [['node-settings', node.settings], ['node-metrics', node.metrics]]) {
      const t = $(tableId);
      t.innerHTML = '';
      for (const k of Object.keys(map).sort()) row(t, k, map[k]);
    }
  }

  async function verify() {
    text($('verify-result'), 'verifying…');
    $('problems').innerHTML = '';
    try {
      const r = await api('/api/lineage/verify?target=' + encodeURIComponent(target));
      const el = $('verify-result');
      el.className = r.verified ? 'ok' : 'error';
      text(el, r.verified ? 'verified: ' + r.records_checked + ' records, ' + r.artifacts_checked + ' artifacts re-hashed, witness head ' + r.witness_head
        : 'FAILED: ' + r.problems[0].message);
      for (const p of r.problems) text($('problems').appendChild(document.createElement('li')), p.message);
    } catch (e) {
      text($('verify-result'), e.message);
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('click', login);
    $('token').addEventListener('keydown', (e) => { if (e.key === 'Enter') login(); });
    $('show').addEventListener('click', () => load($('target').value.trim()));
    $('verify').addEventListener('click', verify);
    if (token) { $('token').value = token; login(); }
  });
})();
