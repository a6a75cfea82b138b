/* The wall screen: one websocket to the gateway (snapshot, ordered deltas, resume, reconnect
 * by itself), cases and units drawn into the page's SVG map, lists rebuilt in place, figures
 * from the server's `kpi.snapshot` events. It runs for days without a reload, so everything
 * it holds is bounded: cases only while open (and at most MAX_CASES), one marker per unit and
 * per camera, lists rebuilt from those maps (old nodes dropped), no log of frames kept.
 *
 * Every text goes in with textContent: summaries, names and addresses are untrusted. Message
 * types and field names come from the page's configuration (realtime/live_protocol.py).
 *
 * Dash loads every script under assets/ on its own pages too: without the wall's
 * configuration element this script does nothing. */
(function () {
  "use strict";
  var holder = document.querySelector("[data-config]#wall-config");
  if (!holder) { return; }
  var cfg = JSON.parse(holder.getAttribute("data-config"));
  var IDS = cfg.ids, M = cfg.protocol.messages, C = cfg.protocol.client_messages;
  var F = cfg.protocol.fields, EV = cfg.events, W = cfg.words, P = cfg.projection;
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_CASES = 5000, LIST_ROWS = 8, OVERDUE_ROWS = 8;
  var STEPS = ["intake", "report", "dispatch", "feedback", "verify", "archive"];
  var state = {
    ws: null, lastId: null, live: false, retry: 500, lastHeard: Date.now(),
    cases: new Map(), units: new Map(), cameras: new Map(),
    acked: new Set(cfg.acknowledged || []), townshipKpis: new Map(), dirty: true,
    redraw: null, drawnAt: 0,
  };
  window.pinganWall = state; // for tests and the browser console

  function byId(name) { return document.getElementById(IDS[name]); }
  function ui(key) { return W.ui[key] || key; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function project(lon, lat) {
    return [(lon - P.west) * P.cos * P.k, (P.north - lat) * P.k];
  }

  function prefixOf(code) { // 320118000000 and 320118 are the same county (incidents.access)
    var trimmed = String(code);
    while (trimmed.length > 6 && trimmed.slice(-3) === "000") { trimmed = trimmed.slice(0, -3); }
    return trimmed;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function cst(date) { // China Standard Time whatever the browser's zone
    return new Date(date.getTime() + (date.getTimezoneOffset() + 480) * 60000);
  }

  function hhmm(iso) {
    var d = cst(new Date(iso));
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function percent(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }

  // --- the socket ---------------------------------------------------------------------------

  function connect() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var ws = new WebSocket(scheme + "://" + window.location.hostname + ":" + cfg.ws_port + "/live");
    state.ws = ws;
    ws.onopen = function () {
      var subscribe = {};
      subscribe[F.subscribe.type] = C.subscribe;
      subscribe[F.subscribe.scope] = cfg.scope;
      subscribe[F.subscribe.since] = state.lastId;
      subscribe[F.subscribe.batch] = true;
      ws.send(JSON.stringify(subscribe));
    };
    ws.onmessage = function (msg) {
      state.lastHeard = Date.now();
      handle(JSON.parse(msg.data));
    };
    ws.onclose = function () {
      state.live = false;
      showLink();
      window.setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function handle(message) {
    var type = message[F.snapshot.type];
    if (type === M.snapshot) {
      clearCases();
      message[F.snapshot.cases].forEach(upsertCase);
      (message[F.snapshot.units] || []).forEach(moveUnit);
      // Acknowledgements of cases no longer open are forgotten (the set stays bounded).
      state.acked.forEach(function (id) { if (!state.cases.has(id)) { state.acked.delete(id); } });
      state.lastId = message[F.snapshot.last_id];
      nowLive();
    } else if (type === M.replay) {
      message[F.replay.deltas].forEach(applyItem);
      state.lastId = message[F.replay.last_id];
      nowLive();
    } else if (type === M.delta) {
      applyEvent(message[F.delta.event]);
      state.lastId = message[F.delta.id];
    } else if (type === M.deltas) {
      message[F.deltas.deltas].forEach(applyItem);
    } else if (type === M.positions) {
      var fields = message[F.positions.fields];
      message[F.positions.units].forEach(function (row) {
        var unit = {};
        fields.forEach(function (name, i) { unit[name] = row[i]; });
        moveUnit(unit);
      });
    }
  }

  function nowLive() { state.live = true; state.retry = 500; showLink(); markDirty(); }

  function applyItem(item) {
    applyEvent(item[F.delta_item.event]);
    state.lastId = item[F.delta_item.id];
  }

  function applyEvent(event) {
    var type = event[F.event.type];
    if (type === EV.kpi) {
      var figures = event.kpis;
      if (!figures) { return; }
      if (prefixOf(figures.scope) === prefixOf(cfg.scope)) {
        state.ownKpis = figures;
        if (!state.focus) { showKpis(figures); }
      } else {
        state.townshipKpis.set(figures.scope, figures);
        showCameraTownships();
        if (state.focus === figures.scope) { showKpis(figures); }
      }
    } else if (type === EV.ack) {
      state.acked.add(event[F.event.case_id]);
      markDirty();
    } else if (type === "camera.status_changed") {
      setCamera(event.camera_id, event.status);
    } else if (event[F.event.case]) {
      upsertCase(event[F.event.case]);
    } else if (event[F.event.changes]) {
      // A short delta: the changed fields of a case the wall holds (one it dropped as the
      // least urgent stays dropped until the next snapshot).
      var entry = state.cases.get(event[F.event.case_id]);
      if (entry) { upsertCase(Object.assign({}, entry.data, event[F.event.changes])); }
    }
  }

  // --- cases on the map and in the lists ----------------------------------------------------

  function clearCases() {
    state.cases.forEach(function (entry) { entry.dot.remove(); });
    state.cases.clear();
    markDirty();
  }

  function upsertCase(c) {
    var id = c[F.case.id];
    var entry = state.cases.get(id);
    if (c[F.case.status] !== "open") {
      if (entry) { entry.dot.remove(); state.cases.delete(id); state.acked.delete(id); }
      markDirty();
      return;
    }
    if (!entry) {
      if (state.cases.size >= MAX_CASES) { dropLeastUrgent(); }
      entry = { data: c, dot: svg("circle", { r: 5 }) };
      byId("CASES").appendChild(entry.dot);
      state.cases.set(id, entry);
    }
    entry.data = c;
    var xy = project(c[F.case.lon], c[F.case.lat]);
    var sev = c[F.case.severity];
    entry.dot.setAttribute("cx", xy[0].toFixed(1));
    entry.dot.setAttribute("cy", xy[1].toFixed(1));
    entry.dot.setAttribute("r", sev <= 2 ? 7 : 5);
    entry.dot.setAttribute("data-case-no", c[F.case.case_no]);
    markDot(entry);
    markDirty();
  }

  function dropLeastUrgent() {
    var worst = null;
    state.cases.forEach(function (entry, id) {
      if (worst === null || rank(entry.data, state.cases.get(worst).data) > 0) { worst = id; }
    });
    if (worst !== null) { state.cases.get(worst).dot.remove(); state.cases.delete(worst); }
  }

  function rank(a, b) { // < 0: a is more urgent (more severe, then newer)
    var bySeverity = a[F.case.severity] - b[F.case.severity];
    if (bySeverity !== 0) { return bySeverity; }
    return a[F.case.opened_at] < b[F.case.opened_at] ? 1 : -1;
  }

  function isOverdue(c, now) {
    var due = c[F.case.deadline_at];
    return !!due && Date.parse(due) < now;
  }

  function markDot(entry) {
    var c = entry.data, id = c[F.case.id];
    var overdue = isOverdue(c, Date.now());
    var cls = "case sev-" + c[F.case.severity];
    if (overdue) { cls += state.acked.has(id) ? " overdue acked" : " overdue"; }
    if (entry.dot.getAttribute("class") !== cls) { entry.dot.setAttribute("class", cls); }
  }

  function caseRow(c, cls) {
    var row = el("li", "case-row sev-" + c[F.case.severity] + (cls ? " " + cls : ""));
    row.setAttribute("data-case-id", String(c[F.case.id]));
    row.setAttribute("data-case-no", c[F.case.case_no]);
    var sev = String(c[F.case.severity]);
    row.appendChild(el("span", "sev", W.severity[sev] || sev));
    row.appendChild(el("span", "cat", W.category[c[F.case.category]] || c[F.case.category]));
    var place = c[F.case.township_name] || "";
    if (c[F.case.village_name]) { place += " " + c[F.case.village_name]; }
    row.appendChild(el("span", "place", place));
    row.appendChild(el("span", "step", W.step[c[F.case.step]] || c[F.case.step]));
    row.appendChild(el("span", "time", hhmm(c[F.case.opened_at])));
    return row;
  }

  function showLists() {
    var now = Date.now();
    var open = [], overdue = [];
    state.cases.forEach(function (entry) {
      markDot(entry);
      if (!inFocus(entry.data)) { return; }
      open.push(entry.data);
      if (isOverdue(entry.data, now)) { overdue.push(entry.data); }
    });
    open.sort(rank);
    var newest = byId("NEWEST");
    clear(newest);
    open.slice(0, LIST_ROWS).forEach(function (c) { newest.appendChild(caseRow(c)); });
    if (!open.length) { newest.appendChild(el("li", "none", ui("wall_none"))); }
    overdue.sort(function (a, b) { return Date.parse(a[F.case.deadline_at]) - Date.parse(b[F.case.deadline_at]); });
    var list = byId("OVERDUE_LIST");
    clear(list);
    var flashing = false;
    overdue.slice(0, OVERDUE_ROWS).forEach(function (c) {
      var acked = state.acked.has(c[F.case.id]);
      flashing = flashing || !acked;
      var row = caseRow(c, acked ? "overdue acked" : "overdue");
      var minutes = Math.floor((now - Date.parse(c[F.case.deadline_at])) / 60000);
      row.appendChild(el("span", "late", acked ? ui("wall_acknowledged")
        : ui("wall_overdue_by").replace("{minutes}", minutes)));
      list.appendChild(row);
    });
    if (!overdue.length) { list.appendChild(el("li", "none", ui("wall_none"))); }
    list.parentNode.classList.toggle("flashing", flashing);
    setText("OPEN", open.length);
    setText("OVERDUE", overdue.length);
  }

  // --- units and cameras --------------------------------------------------------------------

  function moveUnit(unit) {
    var id = unit[F.unit.unit_id], lat = unit[F.unit.lat], lon = unit[F.unit.lon];
    if (typeof lat !== "number" || typeof lon !== "number") { return; }
    var dot = state.units.get(id);
    if (!dot) {
      dot = svg("rect", { width: 7, height: 7, "class": "unit" });
      dot.setAttribute("data-unit-id", String(id));
      byId("UNITS").appendChild(dot);
      state.units.set(id, dot);
    }
    var xy = project(lon, lat);
    dot.setAttribute("x", (xy[0] - 3.5).toFixed(1));
    dot.setAttribute("y", (xy[1] - 3.5).toFixed(1));
  }

  function setCamera(code, status) {
    var spot = state.cameras.get(code);
    if (!spot) { return; } // outside this wall's jurisdiction
    spot.status = status;
    var down = status === "offline" || status === "fault";
    if (down && !spot.mark) {
      spot.mark = svg("path", {
        d: "M" + (spot.x - 4) + "," + (spot.y - 4) + "l8,8m0,-8l-8,8", "class": "camera-down",
      });
      byId("CAMERAS").appendChild(spot.mark);
    } else if (!down && spot.mark) {
      spot.mark.remove();
      spot.mark = null;
    }
  }

  (cfg.cameras || []).forEach(function (row) {
    state.cameras.set(row[0], { x: row[1], y: row[2], status: "", mark: null });
    setCamera(row[0], row[3]);
  });

  // --- figures ------------------------------------------------------------------------------

  function setText(name, value) {
    var node = byId(name);
    if (node && node.textContent !== String(value)) { node.textContent = String(value); }
  }

  function bars(name, counts, label, order) {
    var list = byId(name);
    clear(list);
    var keys = order || Object.keys(counts);
    var most = 1;
    keys.forEach(function (k) { most = Math.max(most, counts[k] || 0); });
    keys.forEach(function (k) {
      var row = el("li", "bar");
      row.appendChild(el("span", "name", label(k)));
      var track = el("span", "track");
      var fill = el("span", "fill");
      fill.style.width = (100 * (counts[k] || 0) / most).toFixed(1) + "%";
      track.appendChild(fill);
      row.appendChild(track);
      row.appendChild(el("span", "n", counts[k] || 0));
      list.appendChild(row);
    });
    if (!keys.length) { list.appendChild(el("li", "none", ui("wall_none"))); }
  }

  function trend(name, counts) {
    var node = byId(name);
    clear(node);
    var most = Math.max.apply(null, [1].concat(counts));
    var chart = svg("svg", { viewBox: "0 0 " + counts.length * 10 + " 100", preserveAspectRatio: "none" });
    counts.forEach(function (n, i) {
      var h = 96 * n / most;
      chart.appendChild(svg("rect", { x: i * 10 + 1, y: 100 - h, width: 8, height: h }));
    });
    node.appendChild(chart);
    node.setAttribute("data-total", String(counts.reduce(function (a, b) { return a + b; }, 0)));
  }

  function showKpis(k) {
    setText("TODAY", k.today_total);
    setText("ON_TIME", percent(k.on_time_rate));
    setText("LOW_SHARE", percent(k.resolved_low_share));
    setText("REOPEN", percent(k.reopen_rate));
    setText("CAMERA_ONLINE", percent(k.camera_online_rate));
    setText("CAMERAS_OFFLINE", k.cameras_offline);
    bars("BY_STEP", k.open_by_step, function (s) { return W.step[s] || s; }, STEPS);
    bars("BY_CHANNEL", k.today_by_channel, function (c) { return W.channel[c] || c; });
    bars("FORCES", k.units_by_status, function (s) { return ui("wall_unit_" + s); });
    trend("TREND_24H", k.last_24h);
    trend("TREND_30D", k.last_30d);
    var plans = byId("PLANS");
    clear(plans);
    k.active_plans.forEach(function (p) {
      var row = el("li", "plan sev-" + p.level);
      row.appendChild(el("span", "sev", W.severity[String(p.level)] || p.level));
      row.appendChild(el("span", "name", p.plan_name));
      row.appendChild(el("span", "case-no", p.case_no));
      var track = el("span", "track");
      var fill = el("span", "fill");
      fill.style.width = (p.total ? 100 * p.done / p.total : 0).toFixed(1) + "%";
      track.appendChild(fill);
      row.appendChild(track);
      row.appendChild(el("span", "n", ui("wall_plan_steps").replace("{done}", p.done).replace("{total}", p.total)));
      plans.appendChild(row);
    });
    if (!k.active_plans.length) { plans.appendChild(el("li", "none", ui("wall_none"))); }
    setText("KPI_AT", k.at ? ui("wall_kpi_at").replace("{time}", hhmm(k.at)) : "");
    showCameraTownships();
  }

  function showCameraTownships() {
    var rates = {}, names = {};
    state.townshipKpis.forEach(function (k, code) {
      if (k.camera_online_rate !== null) {
        rates[code] = Math.round(k.camera_online_rate * 100);
        names[code] = cfg.townships[code] || code;
      }
    });
    var order = Object.keys(rates).sort(function (a, b) { return rates[a] - rates[b]; });
    bars("CAMERA_TOWNSHIPS", rates, function (code) { return names[code]; }, order);
  }

  // --- link state and the clock -------------------------------------------------------------

  function age(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) { return ui("wall_seconds").replace("{n}", s); }
    return ui("wall_minutes").replace("{m}", Math.floor(s / 60)).replace("{s}", s % 60);
  }

  function showLink() {
    var node = byId("LINK");
    if (state.live) {
      node.textContent = ui("link_live");
      node.className = "link live";
    } else {
      node.textContent = ui("wall_link_down_for").replace("{age}", age(Date.now() - state.lastHeard));
      node.className = "link lost";
    }
  }

  /* Lists are redrawn a moment after a change, at most four times a second however fast
   * deltas come (a burst costs one redraw), instead of waiting for the next clock tick. */
  var LIST_MS = 250;
  function markDirty() {
    state.dirty = true;
    if (state.redraw) { return; }
    var wait = Math.max(0, LIST_MS - (Date.now() - (state.drawnAt || 0)));
    state.redraw = window.setTimeout(function () {
      state.redraw = null;
      if (state.dirty) { state.dirty = false; state.drawnAt = Date.now(); showLists(); }
    }, wait);
  }

  // --- cycling between the county and each township (?cycle=seconds, county walls only) ----

  var CYCLE_S = Math.max(0, parseInt(new URLSearchParams(window.location.search).get("cycle"), 10) || 0);
  var mapNode = byId("MAP");
  var countyBox = mapNode ? mapNode.getAttribute("viewBox") : null;
  state.focus = null;
  state.ownKpis = cfg.kpis;

  var NO_FIGURES = {
    today_total: "—", on_time_rate: null, resolved_low_share: null, reopen_rate: null,
    camera_online_rate: null, cameras_offline: "—", open_by_step: {}, today_by_channel: {},
    units_by_status: {}, last_24h: [], last_30d: [], active_plans: [],
  };

  function inFocus(c) {
    return !state.focus || String(c[F.case.township_code] || "") === state.focus;
  }

  /* Show one township (or the county with null): the map's viewBox frames it (the browser
   * redraws the vector map sharply at any size), the lists and figures are its own. */
  function focusOn(code) {
    state.focus = code || null;
    var label = byId("FOCUS");
    var outline = code ? mapNode.querySelector('path.township[data-code="' + code + '"]') : null;
    mapNode.querySelectorAll("path.township.focused").forEach(function (p) {
      p.classList.remove("focused");
    });
    if (outline) {
      var b = outline.getBBox(), m = Math.max(b.width, b.height) * 0.08;
      mapNode.setAttribute("viewBox", [b.x - m, b.y - m, b.width + 2 * m, b.height + 2 * m].join(" "));
      outline.classList.add("focused");
    } else {
      mapNode.setAttribute("viewBox", countyBox);
    }
    if (label) {
      label.hidden = !code;
      label.textContent = code ? ui("wall_focus").replace("{name}", cfg.townships[code] || code) : "";
    }
    // A township whose figures have not come yet shows dashes, never the county's numbers.
    var figures = code ? (state.townshipKpis.get(code) || NO_FIGURES) : state.ownKpis;
    if (figures) { showKpis(figures); }
    markDirty();
  }
  state.focusOn = focusOn; // for tests

  if (CYCLE_S && mapNode && prefixOf(cfg.scope).length <= 6) {
    var stops = [null].concat(Object.keys(cfg.townships || {}).sort());
    var at = 0;
    window.setInterval(function () { at = (at + 1) % stops.length; focusOn(stops[at]); }, CYCLE_S * 1000);
  }

  function tick() {
    var d = cst(new Date());
    setText("CLOCK", d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()));
    if (!state.live) { showLink(); }
    // Overdue is re-judged every 5 s even when nothing arrives.
    if (d.getSeconds() % 5 === 0) { state.dirty = false; state.drawnAt = Date.now(); showLists(); }
  }

  showKpis(cfg.kpis);
  tick();
  markDirty();
  window.setInterval(tick, 1000);
  connect();
})();
