/* Live deltas for the duty console: one websocket; each delta is applied to the map one
 * feature at a time in the browser (never through a Dash prop) and handed to the queue grid
 * (assets/web/live_queue.js) as a row transaction. Every summary, name and address is
 * untrusted text: it goes into the page as textContent or as a grid value, never as HTML.
 *
 * Every element id, message type and field name is looked up (in IDS, M and C, F and SYS)
 * in the description the page embeds, generated from the Python definitions
 * (dashboard/ids.py, realtime/live_protocol.py); tests/unit/test_browser_protocol.py checks
 * that each one looked up here exists.
 *
 * Cases on the map: one canvas renderer (10,000 SVG paths would each be a DOM node), grouped
 * into grid cells of CELL_PX screen pixels below CLUSTER_BELOW_ZOOM; a cell holding several
 * cases shows one counted cluster, coloured by its most severe case. A delta touches only
 * its own cell; the cells are rebuilt only when the zoom changes. */
(function () {
  "use strict";
  var CELL_PX = 44;
  var CLUSTER_BELOW_ZOOM = 14;
  var STALE_MS = 5 * 60000;
  // Markers twice as large where the type is (a 4K wall, style.css's media query).
  var SCALE = window.matchMedia && window.matchMedia("(min-width: 2880px)").matches ? 2 : 1;
  // Level Ⅰ–Ⅳ: four distinct colours (the same in the legend and the queue, style.css).
  var SEVERITY_COLOURS = { 1: "#ff3b3b", 2: "#ff8c1a", 3: "#ffd21a", 4: "#3fa7ff" };
  var STEP_OUTLINES = { intake: "#ffffff", report: "#c9b3ff", dispatch: "#4fc3f7",
                        feedback: "#7cfc9a", verify: "#ff9de2", archive: "#9e9e9e" };
  var state = { map: null, canvas: null, layer: null, clusterLayer: null, unitLayer: null,
                ws: null, lastId: null, cases: new Map(), cells: new Map(), zoom: null,
                units: new Map(), unitStatus: new Map(), unitInfo: new Map(),
                degraded: new Map(), retry: 500,
                cfg: null, selected: null, ring: null };
  var IDS = null, M = null, C = null, F = null, SYS = null, EV = null;
  window.pinganLive = state; // for tests and the browser console

  function configure() {
    if (state.cfg) { return true; }
    // The index page's data block (dashboard.app BOOT_ID) is there before React starts, so
    // the socket opens at once; without it, the layout's hidden element once it is drawn.
    var boot = document.getElementById("pingan-boot");
    var node = boot ? null : document.querySelector("[data-config]");
    if (!boot && !node) { return false; }
    state.cfg = JSON.parse(boot ? boot.textContent : node.getAttribute("data-config"));
    IDS = state.cfg.ids;
    M = state.cfg.protocol.messages;
    C = state.cfg.protocol.client_messages;
    F = state.cfg.protocol.fields;
    SYS = state.cfg.protocol.system_events;
    EV = state.cfg.protocol.event_types;
    return true;
  }

  // The socket opens as soon as the page's configuration is there, not after the map: the
  // gateway builds the snapshot while Leaflet and the grid start; cases wait in `state.cases`
  // and are drawn when the map comes (`onMap` → `regroup`).
  whenConfigured(connect);

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
    // Own panes above the boundary layers: dash-leaflet adds those after this hook runs, and
    // their translucent fill would otherwise sit on top of the cases.
    ["cases", "clusters", "units"].forEach(function (name, i) {
      map.createPane("pingan-" + name).style.zIndex = String(450 + i * 10);
    });
    state.canvas = window.L.canvas({ padding: 0.3, pane: "pingan-cases" });
    state.layer = window.L.layerGroup().addTo(map);
    state.clusterLayer = window.L.layerGroup().addTo(map);
    state.unitLayer = window.L.layerGroup().addTo(map);
    map.on("zoomend", regroup);
    regroup();
    bindLayerToggles();
    // The snapshot may have come before the layout was drawn: show what is known now.
    if (state.link) { setLink(state.link[0], state.link[1]); }
    updateCount();
    showDegraded();
    if (window.pinganCameras) { window.pinganCameras.attach(map, state.cfg, state.canvas); }
    if (window.pinganLayers) { window.pinganLayers.attach(map, state.cfg, state.canvas); }
    loadRoster();
  }

  function whenConfigured(then) {
    if (configure()) { then(); return; }
    window.requestAnimationFrame(function () { whenConfigured(then); });
  }

  function words() { return state.cfg.words; }

  function byId(name) { return document.getElementById(IDS[name]); }

  function setLink(key, cls) {
    state.link = [key, cls];
    var node = byId("LINK_STATUS");
    if (node) { node.textContent = words().ui[key]; node.className = "link " + cls; }
  }

  function connect() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var url = scheme + "://" + window.location.hostname + ":" + state.cfg.ws_port + "/live";
    var ws = new WebSocket(url);
    state.ws = ws;
    if (state.connectAt === undefined) { state.connectAt = window.performance.now(); }
    ws.onopen = function () {
      if (state.openAt === undefined) { state.openAt = window.performance.now(); }
      var subscribe = {};
      subscribe[F.subscribe.type] = C.subscribe;
      subscribe[F.subscribe.scope] = state.cfg.scope;
      subscribe[F.subscribe.since] = state.lastId;
      subscribe[F.subscribe.compact] = true;
      subscribe[F.subscribe.kpis] = false; // the figures are the wall's, not the console's
      ws.send(JSON.stringify(subscribe));
    };
    ws.onmessage = function (msg) {
      if (state.snapshotAt === undefined) { state.snapshotAt = window.performance.now(); }
      handle(JSON.parse(msg.data));
    };
    ws.onclose = function () {
      setLink("link_lost", "lost");
      window.setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function handle(message) {
    var type = message[F.snapshot.type];
    if (type === M.snapshot) {
      var started = window.performance.now();
      loadSnapshot(snapshotCases(message));
      (message[F.snapshot.units] || []).forEach(moveUnit);
      state.degraded.clear();
      (message[F.snapshot.degraded] || []).forEach(markDegraded);
      showDegraded();
      state.lastId = message[F.snapshot.last_id];
      state.retry = 500;
      state.snapshotMs = window.performance.now() - started;
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
    } else if (type === EV.unit_status) {
      setUnitStatus(event[F.unit_status.unit_id], event[F.unit_status.after],
                    event[F.unit_status.case_id]);
    } else if (type === EV.camera_status && window.pinganCameras) {
      window.pinganCameras.set(event[F.camera_status.camera_id], event[F.camera_status.status],
                               event[F.camera_status.at]);
    } else if (event[F.event.case] || event[F.event.changes]) {
      var kind = type === EV.case_opened ? "new" : (type === EV.report_linked ? "linked" : null);
      var data = event[F.event.case] || merged(event[F.event.case_id], event[F.event.changes]);
      if (data) { upsertCase(data, kind); }
      if (data && data[F.case.id] === state.selected) { caseChanged(event); }
    }
  }

  /* The case as this screen holds it, with a short delta's changed fields applied. Every open
   * case in scope is held, so a case not held is one this screen need not show. */
  function merged(id, changes) {
    var entry = state.cases.get(id);
    if (!entry) { return null; }
    return Object.assign({}, entry.data, changes);
  }

  /* Someone changed the open case: say who and when above the panel (the panel's own
   * buttons then act on a version the core will refuse as changed, so reload is offered). */
  function caseChanged(event) {
    var panel = byId("CASE_PANEL"), node = byId("PANEL_LIVE_NOTICE");
    if (!panel || panel.hidden || !node || event[F.event.actor] === state.cfg.user) { return; }
    node.textContent = words().ui.case_changed
      .replace("{actor}", String(event[F.event.actor] || ""))
      .replace("{at}", localTime(event[F.event.at]));
    node.hidden = false;
    // Reload the panel (timeline, allowed actions) unless the user is confirming an action:
    // then their confirmation meets the core's "changed by …, reload" refusal instead.
    // A burst of events (a unit's acknowledgement, arrival, feedback) reloads once.
    if (state.reloadTimer) { return; }
    state.reloadTimer = window.setTimeout(function () {
      state.reloadTimer = null;
      var dialog = byId("PANEL_DIALOG"), reload = byId("PANEL_REFRESH");
      if (reload && (!dialog || dialog.hidden)) { reload.click(); }
    }, 300);
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

  // --- cases: the queue and the map ------------------------------------------------------

  /* The snapshot's cases as objects, from rows named by `case_fields` (compact) or as sent. */
  function snapshotCases(message) {
    var names = message[F.snapshot.case_fields], rows = message[F.snapshot.case_rows];
    if (!names || !rows) { return message[F.snapshot.cases]; }
    return rows.map(function (row) {
      var c = {};
      for (var i = 0; i < names.length; i++) { c[names[i]] = row[i]; }
      return c;
    });
  }

  function loadSnapshot(list) {
    state.cases.clear();
    var open = list.filter(function (c) { return c[F.case.status] === "open"; });
    open.forEach(function (c) { state.cases.set(c[F.case.id], { data: c, marker: null, cell: null }); });
    var t0 = window.performance.now();
    window.pinganQueue.reset(open);
    var t1 = window.performance.now();
    regroup();
    state.timings = { queue: t1 - t0, map: window.performance.now() - t1 };
    updateCount();
  }

  function upsertCase(data, kind) {
    var id = data[F.case.id];
    var entry = state.cases.get(id);
    if (entry) { unplace(id, entry); }
    if (data[F.case.status] !== "open") {
      state.cases.delete(id);
      window.pinganQueue.remove(id);
      updateCount();
      return;
    }
    entry = { data: data, marker: null, cell: null };
    state.cases.set(id, entry);
    window.pinganQueue.upsert(data, kind);
    place(id, entry);
    updateCount();
  }

  function updateCount() {
    var node = byId("QUEUE_COUNT");
    if (node) { node.textContent = String(state.cases.size); }
  }

  function clustering() { return state.map && state.map.getZoom() < CLUSTER_BELOW_ZOOM; }

  function cellKey(data) {
    var p = state.map.project([data[F.case.lat], data[F.case.lon]], state.map.getZoom());
    return Math.floor(p.x / CELL_PX) + ":" + Math.floor(p.y / CELL_PX);
  }

  /* Rebuild every marker and cluster for the current zoom (O(cases), only on zoom change). */
  function regroup() {
    if (!state.map) { return; }
    state.layer.clearLayers();
    state.clusterLayer.clearLayers();
    state.cells.clear();
    state.cases.forEach(function (entry) { entry.marker = null; entry.cell = null; });
    // Every case into its cell first, then each cell drawn once (not once per case).
    state.cases.forEach(function (entry, id) { place(id, entry, true); });
    state.cells.forEach(redrawCell);
    drawRing();
  }

  function place(id, entry, deferred) {
    if (!state.map) { return; }
    if (!clustering()) { showCase(entry); return; }
    var key = cellKey(entry.data);
    var cell = state.cells.get(key);
    if (!cell) { cell = { ids: new Set(), cluster: null }; state.cells.set(key, cell); }
    cell.ids.add(id);
    entry.cell = key;
    if (!deferred) { redrawCell(cell); }
  }

  function unplace(id, entry) {
    if (entry.marker) { state.layer.removeLayer(entry.marker); entry.marker = null; }
    var cell = entry.cell !== null ? state.cells.get(entry.cell) : null;
    entry.cell = null;
    if (!cell) { return; }
    cell.ids.delete(id);
    redrawCell(cell);
  }

  function redrawCell(cell) {
    if (cell.cluster) { state.clusterLayer.removeLayer(cell.cluster); cell.cluster = null; }
    if (cell.ids.size === 1) {
      cell.ids.forEach(function (id) { showCase(state.cases.get(id)); });
      return;
    }
    var worst = 4, lat = 0, lon = 0;
    cell.ids.forEach(function (id) {
      var entry = state.cases.get(id), c = entry.data;
      if (entry.marker) { state.layer.removeLayer(entry.marker); entry.marker = null; }
      worst = Math.min(worst, c[F.case.severity]);
      lat += c[F.case.lat]; lon += c[F.case.lon];
    });
    if (cell.ids.size === 0) { return; }
    var n = cell.ids.size;
    var label = document.createElement("span");
    label.textContent = String(n);
    var size = (n < 10 ? 28 : (n < 100 ? 36 : 44)) * SCALE;
    var cluster = window.L.marker([lat / n, lon / n], {
      icon: window.L.divIcon({ html: label, className: "case-cluster sev-" + worst,
                               iconSize: [size, size] }),
      keyboard: false,
      pane: "pingan-clusters",
    });
    cluster.bindTooltip(el("div", null, words().ui.cluster.replace("{n}", n)));
    cluster.on("click", function () {
      state.map.setView(cluster.getLatLng(), Math.min(state.map.getZoom() + 2, CLUSTER_BELOW_ZOOM));
    });
    cluster.addTo(state.clusterLayer);
    cell.cluster = cluster;
  }

  function showCase(entry) {
    if (!entry || entry.marker) { return; }
    var c = entry.data, severity = c[F.case.severity];
    var marker = window.L.circleMarker([c[F.case.lat], c[F.case.lon]], {
      renderer: state.canvas,
      radius: (severity <= 2 ? 9 : 7) * SCALE,
      color: STEP_OUTLINES[c[F.case.step]] || "#ffffff",
      weight: 2 * SCALE,
      fillColor: SEVERITY_COLOURS[severity] || SEVERITY_COLOURS[4],
      fillOpacity: 0.9,
      bubblingMouseEvents: false, // a click opens the case, not the map's drill-down
    });
    var tip = el("div", "case-tip");
    tip.appendChild(el("strong", null, c[F.case.case_no]));
    tip.appendChild(el("div", null, c[F.case.summary]));
    marker.bindTooltip(tip); // a DOM node: Leaflet inserts it as is, never as HTML text
    // Opens the case; the map stays where the user put it.
    marker.on("click", function () { window.pinganQueue.select(c[F.case.id]); });
    marker.addTo(state.layer);
    entry.marker = marker;
  }

  /* Where a case is drawn now: "marker", "cluster" or null (for tests and the console). */
  state.drawnAs = function (caseNo) {
    var found = null;
    state.cases.forEach(function (entry) {
      if (entry.data[F.case.case_no] !== caseNo) { return; }
      if (entry.marker && state.layer.hasLayer(entry.marker)) { found = "marker"; }
      var cell = entry.cell !== null ? state.cells.get(entry.cell) : null;
      if (!found && cell && cell.cluster) { found = "cluster"; }
    });
    return found;
  };

  /* A ring around the opened case, wherever the map is looking. */
  state.highlight = function (id) { state.selected = id; drawRing(); };

  function drawRing() {
    if (state.ring) { state.ring.remove(); state.ring = null; }
    var entry = state.selected !== null ? state.cases.get(state.selected) : null;
    if (!entry || !state.map) { return; }
    state.ring = window.L.circleMarker([entry.data[F.case.lat], entry.data[F.case.lon]], {
      radius: 16, color: "#ffffff", weight: 3, fill: false, interactive: false,
      className: "selected-ring", pane: "pingan-units",
    }).addTo(state.map);
  }

  // --- units ------------------------------------------------------------------------------

  // Who each unit is (name, type, its task), read once from the scoped roster route; its
  // status from there too, until a status change on the socket says otherwise.
  var FOOT_TYPES = { foot_patrol: true, mediator: true, grid_worker: true, social_worker: true };

  function loadRoster() {
    if (!state.cfg.units_url) { return; }
    window.fetch(state.cfg.units_url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error("units " + r.status); } return r.json(); })
      .then(function (body) {
        var at = {};
        body.fields.forEach(function (name, i) { at[name] = i; });
        body.rows.forEach(function (row) {
          var id = row[at.unit_id];
          state.unitInfo.set(id, { name: row[at.name], type: row[at.type], task: row[at.case_id] });
          if (!state.unitStatus.has(id)) { state.unitStatus.set(id, row[at.status]); }
        });
        state.units.forEach(function (known, id) { paintUnit(id, known); });
        state.rosterLoaded = true;
      })
      .catch(function () { state.rosterLoaded = false; }); // ids and live statuses still show
  }

  function unitClass(id, atMs) {
    var status = state.unitStatus.get(id) || "unknown";
    var info = state.unitInfo.get(id);
    var stale = typeof atMs === "number" && Date.now() - atMs > STALE_MS;
    return "unit-marker status-" + status + (info ? " type-" + info.type : "") +
      (stale ? " stale" : "");
  }

  function moveUnit(unit) {
    var id = unit[F.unit.unit_id], lat = unit[F.unit.lat], lon = unit[F.unit.lon];
    if (!state.unitLayer || typeof lat !== "number" || typeof lon !== "number") { return; }
    var atMs = unit[F.unit.at_ms];
    var known = state.units.get(id);
    if (known) {
      known.marker.setLatLng([lat, lon]);
      known.atMs = atMs;
      paintUnit(id, known);
      return;
    }
    var marker = window.L.circleMarker([lat, lon], {
      radius: 6 * SCALE, className: unitClass(id, atMs), weight: 2, pane: "pingan-units",
      bubblingMouseEvents: false,
    });
    // A unit on a task opens that case; the map stays where it is.
    marker.on("click", function () {
      var info = state.unitInfo.get(id);
      if (info && info.task) { window.pinganQueue.select(info.task); }
    });
    var tip = el("div", "unit-tip");
    marker.bindTooltip(tip);
    marker.addTo(state.unitLayer);
    var path = marker.getElement();
    if (path) { path.setAttribute("data-unit-id", String(id)); }
    known = { marker: marker, atMs: atMs, tip: tip };
    state.units.set(id, known);
    paintUnit(id, known);
  }

  function paintUnit(id, known) {
    var path = known.marker.getElement();
    if (path) { path.setAttribute("class", unitClass(id, known.atMs) + " leaflet-interactive"); }
    var info = state.unitInfo.get(id);
    // People on foot are drawn smaller than vehicles.
    known.marker.setRadius((info && FOOT_TYPES[info.type] ? 4.5 : 6.5) * SCALE);
    var w = words().ui, parts = [info ? info.name : String(id)];
    if (info) { parts.push(w["utype_" + info.type] || info.type); }
    var status = state.unitStatus.get(id);
    if (status) { parts.push(w["ustatus_" + status] || status); }
    if (typeof known.atMs === "number" && Date.now() - known.atMs > STALE_MS) {
      parts.push(w.unit_age.replace("{m}", Math.floor((Date.now() - known.atMs) / 60000)));
    }
    if (info && info.task) { parts.push(w.unit_open_task); }
    known.tip.textContent = parts.join(" · ");
  }

  function setUnitStatus(id, status, caseId) {
    state.unitStatus.set(id, status);
    var info = state.unitInfo.get(id);
    // Its task: the case a dispatch names; none once it is available or off duty again.
    if (info && caseId) { info.task = caseId; }
    if (info && (status === "available" || status === "off_duty")) { info.task = null; }
    var known = state.units.get(id);
    if (known) { paintUnit(id, known); }
  }

  // Positions grow old without any message: look again twice a minute.
  window.setInterval(function () { state.units.forEach(function (known, id) { paintUnit(id, known); }); }, 30000);

  // --- layer switches ---------------------------------------------------------------------

  function bindLayerToggles() {
    var holder = byId("LAYER_TOGGLES");
    if (!holder) { return; }
    var layers = { cases: [state.layer, state.clusterLayer], units: [state.unitLayer] };
    holder.querySelectorAll("button").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = !button.classList.contains("on");
        button.classList.toggle("on", on);
        (layers[button.getAttribute("data-layer")] || []).forEach(function (layer) {
          if (on) { layer.addTo(state.map); } else { layer.remove(); }
        });
      });
    });
  }

  // --- helpers ----------------------------------------------------------------------------

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
  state.localTime = localTime;

  function tick() {
    var node = IDS ? byId("CLOCK") : null;
    if (node) { node.textContent = localTime(new Date().toISOString()); }
    // The socket may have gone live before the page's header was drawn: catch up here.
    var link = IDS && state.link ? byId("LINK_STATUS") : null;
    if (link && link.className !== "link " + state.link[1]) { setLink(state.link[0], state.link[1]); }
  }
  window.setInterval(tick, 1000);
})();
