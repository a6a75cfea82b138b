/* Live deltas for the duty console: one websocket, markers added straight to the Leaflet
 * layer (never through a Dash prop), queue rows built with textContent only: every summary,
 * name and address is untrusted text and must never be parsed as HTML.
 *
 * Every element id, message type and field name is looked up (in IDS, M and C, F and SYS)
 * in the description the page embeds, generated from the Python definitions
 * (dashboard/ids.py, realtime/live_protocol.py); tests/unit/test_browser_protocol.py checks
 * that each one looked up here exists. */
(function () {
  "use strict";
  var MAX_ROWS = 200;
  var state = { map: null, layer: null, unitLayer: null, ws: null, lastId: null,
                cases: new Map(), units: new Map(), degraded: new Map(), retry: 500, cfg: null };
  var IDS = null, M = null, C = null, F = null, SYS = null;
  window.pinganLive = state; // for tests and the browser console

  function configure() {
    if (state.cfg) { return true; }
    var node = document.querySelector("[data-config]");
    if (!node) { return false; }
    state.cfg = JSON.parse(node.getAttribute("data-config"));
    IDS = state.cfg.ids;
    M = state.cfg.protocol.messages;
    C = state.cfg.protocol.client_messages;
    F = state.cfg.protocol.fields;
    SYS = state.cfg.protocol.system_events;
    return true;
  }

  if (window.L && window.L.Map) {
    // dash-leaflet exposes no handle on its map: capture it when Leaflet creates it.
    window.L.Map.addInitHook(function () {
      var map = this;
      whenConfigured(function () {
        var container = map.getContainer();
        if (container && container.id === IDS.LIVE_MAP) { onMap(map); }
      });
    });
  }

  function onMap(map) {
    state.map = map;
    state.layer = window.L.layerGroup().addTo(map);
    state.unitLayer = window.L.layerGroup().addTo(map);
    state.cases.forEach(function (entry) { entry.marker = null; placeMarker(entry.data); });
    connect();
  }

  function whenConfigured(then) {
    if (configure()) { then(); return; }
    window.requestAnimationFrame(function () { whenConfigured(then); });
  }

  function words() { return state.cfg.words; }

  function byId(name) { return document.getElementById(IDS[name]); }

  function setLink(key, cls) {
    var node = byId("LINK_STATUS");
    if (node) { node.textContent = words().ui[key]; node.className = "link " + cls; }
  }

  function connect() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var url = scheme + "://" + window.location.hostname + ":" + state.cfg.ws_port + "/live";
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () {
      var subscribe = {};
      subscribe[F.subscribe.type] = C.subscribe;
      subscribe[F.subscribe.scope] = state.cfg.scope;
      subscribe[F.subscribe.since] = state.lastId;
      ws.send(JSON.stringify(subscribe));
    };
    ws.onmessage = function (msg) { handle(JSON.parse(msg.data)); };
    ws.onclose = function () {
      setLink("link_lost", "lost");
      window.setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function handle(message) {
    var type = message[F.snapshot.type];
    if (type === M.snapshot) {
      clearAll();
      message[F.snapshot.cases].slice().reverse().forEach(upsertCase);
      (message[F.snapshot.units] || []).forEach(moveUnit);
      state.degraded.clear();
      (message[F.snapshot.degraded] || []).forEach(markDegraded);
      showDegraded();
      state.lastId = message[F.snapshot.last_id];
      state.retry = 500;
      setLink("link_live", "live");
    } else if (type === M.replay) {
      message[F.replay.deltas].forEach(applyDelta);
      state.lastId = message[F.replay.last_id];
      state.retry = 500;
      setLink("link_live", "live");
    } else if (type === M.delta) {
      applyEvent(message[F.delta.event]);
      state.lastId = message[F.delta.id];
    } else if (type === M.deltas) {
      message[F.deltas.deltas].forEach(applyDelta);
    } else if (type === M.positions) {
      var fields = message[F.positions.fields];
      message[F.positions.units].forEach(function (row) {
        var unit = {};
        fields.forEach(function (name, i) { unit[name] = row[i]; });
        moveUnit(unit);
      });
    } else if (type === M.status) {
      (message[F.status.degraded] || []).forEach(markDegraded);
      showDegraded();
    }
  }

  function applyDelta(item) {
    applyEvent(item[F.delta_item.event]);
    state.lastId = item[F.delta_item.id];
  }

  function markDegraded(notice) {
    state.degraded.set(notice[F.degraded.component], notice[F.degraded.since]);
  }

  function applyEvent(event) {
    var type = event[F.event.type];
    if (type === SYS.degraded) {
      state.degraded.set(event[F.system.component], event[F.system.since]);
      showDegraded();
    } else if (type === SYS.recovered) {
      state.degraded.delete(event[F.system.component]);
      showDegraded();
    } else if (event[F.event.case]) {
      upsertCase(event[F.event.case]);
    }
  }

  function showDegraded() {
    var node = byId("DEGRADED_BANNER");
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
    var id = unit[F.unit.unit_id], lat = unit[F.unit.lat], lon = unit[F.unit.lon];
    if (!state.unitLayer || typeof lat !== "number" || typeof lon !== "number") { return; }
    var marker = state.units.get(id);
    if (marker) { marker.setLatLng([lat, lon]); return; }
    marker = window.L.circleMarker([lat, lon], { radius: 5, className: "unit-marker", weight: 1 });
    marker.bindTooltip(el("div", "unit-tip", id));
    marker.addTo(state.unitLayer);
    var path = marker.getElement();
    if (path) { path.setAttribute("data-unit-id", String(id)); }
    state.units.set(id, marker);
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
    var id = data[F.case.id];
    var entry = state.cases.get(id);
    if (entry) { removeCase(entry); }
    entry = { data: data, row: null, marker: null };
    state.cases.set(id, entry);
    if (data[F.case.status] !== "open") { state.cases.delete(id); updateCount(); return; }
    entry.row = queueRow(data);
    var queue = byId("QUEUE");
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
    var node = byId("QUEUE_COUNT");
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
    var severity = c[F.case.severity], caseNo = c[F.case.case_no];
    var row = el("li", "case-row sev-" + severity);
    row.setAttribute("data-case-id", String(c[F.case.id]));
    row.setAttribute("data-case-no", caseNo);
    var head = el("div", "case-head");
    head.appendChild(el("span", "sev", w.severity[String(severity)] || severity));
    head.appendChild(el("span", "cat", w.category[c[F.case.category]] || c[F.case.category]));
    head.appendChild(el("span", "chan", w.channel[c[F.case.channel]] || c[F.case.channel]));
    head.appendChild(el("span", "time", localTime(c[F.case.opened_at])));
    row.appendChild(head);
    row.appendChild(el("div", "summary", c[F.case.summary]));
    var where = el("div", "where");
    where.appendChild(el("span", "case-no", caseNo));
    where.appendChild(el("span", "township", c[F.case.township_name] || ""));
    if (c[F.case.village_name]) { where.appendChild(el("span", "village", c[F.case.village_name])); }
    if (!c[F.case.inside_county]) { where.appendChild(el("span", "outside", w.ui.outside)); }
    var reports = c[F.case.report_count];
    if (reports > 1) {
      where.appendChild(el("span", "reports", w.ui.reports.replace("{n}", reports)));
    }
    row.appendChild(where);
    row.addEventListener("click", function () {
      if (state.map) {
        state.map.setView([c[F.case.lat], c[F.case.lon]], Math.max(state.map.getZoom(), 14));
      }
    });
    return row;
  }

  function placeMarker(c) {
    if (!state.layer) { return; }
    var entry = state.cases.get(c[F.case.id]);
    if (!entry || entry.marker) { return; }
    var severity = c[F.case.severity];
    var marker = window.L.circleMarker([c[F.case.lat], c[F.case.lon]], {
      radius: severity <= 2 ? 9 : 7,
      className: "case-marker sev-" + severity,
      weight: 2,
    });
    var tip = el("div", "case-tip");
    tip.appendChild(el("strong", null, c[F.case.case_no]));
    tip.appendChild(el("div", null, c[F.case.summary]));
    marker.bindTooltip(tip); // a DOM node: Leaflet inserts it as is, never as HTML text
    marker.addTo(state.layer);
    var path = marker.getElement();
    if (path) { path.setAttribute("data-case-no", c[F.case.case_no]); }
    entry.marker = marker;
  }

  function tick() {
    var node = IDS ? byId("CLOCK") : null;
    if (node) { node.textContent = localTime(new Date().toISOString()); }
  }
  window.setInterval(tick, 1000);
})();
