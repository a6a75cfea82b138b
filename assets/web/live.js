/* Live deltas for the duty console: one websocket, markers added straight to the Leaflet
 * layer (never through a Dash prop), queue rows built with textContent only: every summary,
 * name and address is untrusted text and must never be parsed as HTML. */
(function () {
  "use strict";
  var MAX_ROWS = 200;
  var state = { map: null, layer: null, unitLayer: null, ws: null, lastId: null,
                cases: new Map(), units: new Map(), degraded: new Map(), retry: 500, cfg: null };
  window.pinganLive = state; // for tests and the browser console

  if (window.L && window.L.Map) {
    // dash-leaflet exposes no handle on its map: capture it when Leaflet creates it.
    window.L.Map.addInitHook(function () {
      var container = this.getContainer();
      if (container && container.id === "live-map") { onMap(this); }
    });
  }

  function onMap(map) {
    state.map = map;
    state.layer = window.L.layerGroup().addTo(map);
    state.unitLayer = window.L.layerGroup().addTo(map);
    state.cases.forEach(function (entry) { entry.marker = null; placeMarker(entry.data); });
    whenConfigured(connect);
  }

  function whenConfigured(then) {
    var node = document.getElementById("live-config");
    if (node) { state.cfg = JSON.parse(node.getAttribute("data-config")); then(); return; }
    window.requestAnimationFrame(function () { whenConfigured(then); });
  }

  function words() { return state.cfg.words; }

  function setLink(key, cls) {
    var node = document.getElementById("link-status");
    if (node) { node.textContent = words().ui[key]; node.className = "link " + cls; }
  }

  function connect() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var url = scheme + "://" + window.location.hostname + ":" + state.cfg.ws_port + "/live";
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "subscribe", scope: state.cfg.scope, since: state.lastId }));
    };
    ws.onmessage = function (msg) { handle(JSON.parse(msg.data)); };
    ws.onclose = function () {
      setLink("link_lost", "lost");
      window.setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function handle(message) {
    if (message.type === "snapshot") {
      clearAll();
      message.cases.slice().reverse().forEach(upsertCase);
      (message.units || []).forEach(moveUnit);
      state.degraded.clear();
      (message.degraded || []).forEach(function (d) { state.degraded.set(d.component, d.since); });
      showDegraded();
      state.lastId = message.last_id;
      state.retry = 500;
      setLink("link_live", "live");
    } else if (message.type === "replay") {
      message.deltas.forEach(function (d) { applyEvent(d.event); state.lastId = d.id; });
      state.lastId = message.last_id;
      state.retry = 500;
      setLink("link_live", "live");
    } else if (message.type === "delta") {
      applyEvent(message.event);
      state.lastId = message.id;
    } else if (message.type === "deltas") {
      message.deltas.forEach(function (d) { applyEvent(d.event); state.lastId = d.id; });
    } else if (message.type === "positions") {
      var fields = message.fields;
      message.units.forEach(function (row) {
        var unit = {};
        fields.forEach(function (name, i) { unit[name] = row[i]; });
        moveUnit(unit);
      });
    } else if (message.type === "status") {
      (message.degraded || []).forEach(function (d) { state.degraded.set(d.component, d.since); });
      showDegraded();
    }
  }

  function applyEvent(event) {
    if (event.type === "system.degraded") {
      state.degraded.set(event.component, event.since);
      showDegraded();
    } else if (event.type === "system.recovered") {
      state.degraded.delete(event.component);
      showDegraded();
    } else if (event.case) {
      upsertCase(event.case);
    }
  }

  function showDegraded() {
    var node = document.getElementById("degraded-banner");
    if (!node) { return; }
    var w = words().ui;
    var parts = [];
    state.degraded.forEach(function (since, component) {
      var name = (w["component_" + component] || component);
      parts.push(w.degraded.replace("{component}", name).replace("{since}", localTime(since)));
    });
    node.textContent = parts.join("；");
    node.hidden = parts.length === 0;
  }

  function moveUnit(unit) {
    if (!state.unitLayer || typeof unit.lat !== "number" || typeof unit.lon !== "number") { return; }
    var marker = state.units.get(unit.unit_id);
    if (marker) { marker.setLatLng([unit.lat, unit.lon]); return; }
    marker = window.L.circleMarker([unit.lat, unit.lon], {
      radius: 5, className: "unit-marker", weight: 1,
    });
    marker.bindTooltip(el("div", "unit-tip", unit.unit_id));
    marker.addTo(state.unitLayer);
    var path = marker.getElement();
    if (path) { path.setAttribute("data-unit-id", String(unit.unit_id)); }
    state.units.set(unit.unit_id, marker);
  }

  function clearAll() {
    state.cases.forEach(function (entry) { removeCase(entry); });
    state.cases.clear();
    if (state.unitLayer) { state.unitLayer.clearLayers(); }
    state.units.clear();
  }

  function removeCase(entry) {
    if (entry.marker && state.layer) { state.layer.removeLayer(entry.marker); }
    if (entry.row && entry.row.parentNode) { entry.row.parentNode.removeChild(entry.row); }
  }

  function upsertCase(data) {
    var entry = state.cases.get(data.id);
    if (entry) { removeCase(entry); }
    entry = { data: data, row: null, marker: null };
    state.cases.set(data.id, entry);
    if (data.status !== "open") { state.cases.delete(data.id); updateCount(); return; }
    entry.row = queueRow(data);
    var queue = document.getElementById("case-queue");
    if (queue) { queue.insertBefore(entry.row, queue.firstChild); trimQueue(queue); }
    placeMarker(data);
    updateCount();
  }

  function trimQueue(queue) {
    while (queue.children.length > MAX_ROWS) {
      var last = queue.lastChild;
      var id = Number(last.getAttribute("data-case-id"));
      var entry = state.cases.get(id);
      if (entry) { removeCase(entry); state.cases.delete(id); } else { queue.removeChild(last); }
    }
  }

  function updateCount() {
    var node = document.getElementById("queue-count");
    if (node) { node.textContent = String(state.cases.size); }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function localTime(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    // Shown in China Standard Time whatever the browser's zone.
    var cst = new Date(d.getTime() + (d.getTimezoneOffset() + 480) * 60000);
    return pad(cst.getHours()) + ":" + pad(cst.getMinutes()) + ":" + pad(cst.getSeconds());
  }

  function queueRow(c) {
    var w = words();
    var row = el("li", "case-row sev-" + c.severity);
    row.setAttribute("data-case-id", String(c.id));
    row.setAttribute("data-case-no", c.case_no);
    var head = el("div", "case-head");
    head.appendChild(el("span", "sev", w.severity[String(c.severity)] || c.severity));
    head.appendChild(el("span", "cat", w.category[c.category] || c.category));
    head.appendChild(el("span", "chan", w.channel[c.channel] || c.channel));
    head.appendChild(el("span", "time", localTime(c.opened_at)));
    row.appendChild(head);
    row.appendChild(el("div", "summary", c.summary));
    var where = el("div", "where");
    where.appendChild(el("span", "case-no", c.case_no));
    where.appendChild(el("span", "township", c.township_name || ""));
    if (c.village_name) { where.appendChild(el("span", "village", c.village_name)); }
    if (!c.inside_county) { where.appendChild(el("span", "outside", w.ui.outside)); }
    if (c.report_count > 1) {
      where.appendChild(el("span", "reports", w.ui.reports.replace("{n}", c.report_count)));
    }
    row.appendChild(where);
    row.addEventListener("click", function () {
      if (state.map) { state.map.setView([c.lat, c.lon], Math.max(state.map.getZoom(), 14)); }
    });
    return row;
  }

  function placeMarker(c) {
    if (!state.layer) { return; }
    var entry = state.cases.get(c.id);
    if (!entry || entry.marker) { return; }
    var marker = window.L.circleMarker([c.lat, c.lon], {
      radius: c.severity <= 2 ? 9 : 7,
      className: "case-marker sev-" + c.severity,
      weight: 2,
    });
    var tip = el("div", "case-tip");
    tip.appendChild(el("strong", null, c.case_no));
    tip.appendChild(el("div", null, c.summary));
    marker.bindTooltip(tip); // a DOM node: Leaflet inserts it as is, never as HTML text
    marker.addTo(state.layer);
    var path = marker.getElement();
    if (path) { path.setAttribute("data-case-no", c.case_no); }
    entry.marker = marker;
  }

  function tick() {
    var node = document.getElementById("clock");
    if (node) { node.textContent = localTime(new Date().toISOString()); }
  }
  window.setInterval(tick, 1000);
})();
