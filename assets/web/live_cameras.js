/* The console map's camera layer (视频监控): every camera of the viewer's jurisdiction as a
 * small canvas marker coloured by its status, recoloured one marker at a time as
 * `camera.status_changed` events arrive on the live socket (assets/web/live.js hands them to
 * `set`; never through a Dash prop). Positions are read once from the page's same-origin
 * route (dashboard/panels/cameras.py), which the session scopes on the server.
 *
 * The markers share the cases' canvas renderer: a second canvas in a pane of its own would
 * catch every click meant for the one below it. Cameras are sent to the back of it so a case
 * drawn on the same spot (an alarm opens one at the camera's site) stays on top and takes the
 * click. Names are untrusted text: the popup is built with textContent only. */
(function () {
  "use strict";
  // Below this zoom individual online (and never-heard-from) cameras are hidden: at the
  // county's zoom thousands of dots would bury the cases and be redrawn on every pan, and a
  // working camera asks nothing of the duty officer. Offline, faulty and alarming cameras
  // are what someone must act on, so they show at every zoom.
  var ONLINE_FROM_ZOOM = 13;
  var SCALE = window.matchMedia && window.matchMedia("(min-width: 2880px)").matches ? 2 : 1;
  // Alarm most prominent: largest, red with a yellow ring; the others small and quieter.
  var STYLES = {
    online: { fillColor: "#2ec4b6", color: "#0b1a2a", radius: 3, weight: 1 },
    offline: { fillColor: "#9aa5b1", color: "#0b1a2a", radius: 4.5, weight: 1.5 },
    fault: { fillColor: "#b06cff", color: "#0b1a2a", radius: 4.5, weight: 1.5 },
    alarm: { fillColor: "#ff2d55", color: "#ffe600", radius: 8, weight: 3 },
    unknown: { fillColor: "#4a5868", color: "#0b1a2a", radius: 3, weight: 1 },
  };
  var ALWAYS_SHOWN = { offline: true, fault: true, alarm: true };
  var IDS = null;
  var state = { map: null, cfg: null, renderer: null, quiet: null, loud: null, on: true,
                cameras: new Map(), pending: new Map(), popup: null, popupCode: null,
                loaded: false, timings: {} };

  function attach(map, cfg, renderer) {
    state.map = map;
    state.cfg = cfg;
    state.renderer = renderer;
    IDS = cfg.ids;
    state.quiet = window.L.layerGroup();
    state.loud = window.L.layerGroup();
    map.on("zoomend", showQuietByZoom);
    bindToggle();
    if (!cfg.cameras_url) { return; }
    window.fetch(cfg.cameras_url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { load(body); } });
  }

  /* Replace the layer with the route's body: {fields: [...], rows: [[...], ...]}. */
  function load(body) {
    var started = window.performance.now();
    state.quiet.clearLayers();
    state.loud.clearLayers();
    state.cameras.clear();
    var at = {};
    body.fields.forEach(function (name, i) { at[name] = i; });
    body.rows.forEach(function (row) {
      var camera = { code: row[at.code], name: row[at.name], lat: row[at.lat], lon: row[at.lon],
                     status: row[at.status] || null, since: row[at.since] || null, marker: null };
      state.cameras.set(camera.code, camera);
      place(camera);
    });
    state.loaded = true;
    // Changes that came on the socket while the route was being read, when they are newer.
    state.pending.forEach(function (change, code) { set(code, change.status, change.at); });
    state.pending.clear();
    show();
    state.timings.load = window.performance.now() - started;
  }

  function kind(status) { return STYLES[status] ? status : "unknown"; }

  function style(status) {
    var s = STYLES[kind(status)];
    return { renderer: state.renderer, radius: s.radius * SCALE, weight: s.weight * SCALE,
             color: s.color, fillColor: s.fillColor, fillOpacity: 0.95, opacity: 1 };
  }

  function groupOf(status) { return ALWAYS_SHOWN[status] ? state.loud : state.quiet; }

  function place(camera) {
    var marker = window.L.circleMarker([camera.lat, camera.lon], style(camera.status));
    marker.options.bubblingMouseEvents = false; // a click opens the camera, not a drill-down
    marker.on("click", function () { openPopup(camera); });
    camera.marker = marker;
    groupOf(camera.status).addLayer(marker);
    toBack(marker);
  }

  function toBack(marker) {
    if (state.map && state.map.hasLayer(marker)) { marker.bringToBack(); }
  }

  /* A camera's new status (from a camera.status_changed event); older news is ignored. */
  function set(code, status, at) {
    if (!state.loaded) {
      var waiting = state.pending.get(code);
      if (!waiting || newer(at, waiting.at)) { state.pending.set(code, { status: status, at: at }); }
      return;
    }
    var camera = state.cameras.get(code);
    if (!camera || (camera.since && !newer(at, camera.since))) { return; }
    var before = groupOf(camera.status);
    camera.status = status;
    camera.since = at;
    camera.marker.setStyle(style(status));
    var after = groupOf(status);
    if (after !== before) {
      before.removeLayer(camera.marker);
      after.addLayer(camera.marker);
      toBack(camera.marker);
    }
    if (state.popupCode === code) { openPopup(camera); }
  }

  function newer(at, than) { return !than || Date.parse(at) >= Date.parse(than); }

  // --- showing and hiding --------------------------------------------------------------

  function show() {
    if (!state.map) { return; }
    if (state.on) { addGroup(state.loud); } else { state.loud.remove(); }
    showQuietByZoom();
  }

  function showQuietByZoom() {
    var wanted = state.on && state.map.getZoom() >= ONLINE_FROM_ZOOM;
    if (wanted && !state.map.hasLayer(state.quiet)) { addGroup(state.quiet); }
    if (!wanted && state.map.hasLayer(state.quiet)) { state.quiet.remove(); }
  }

  function addGroup(group) {
    if (state.map.hasLayer(group)) { return; }
    group.addTo(state.map);
    group.eachLayer(function (marker) { marker.bringToBack(); });
  }

  function toggle(on) {
    state.on = !!on;
    if (!state.on && state.popup) { state.map.closePopup(state.popup); }
    show();
  }

  function bindToggle() {
    var holder = document.getElementById(IDS.LAYER_TOGGLES);
    if (!holder) { return; }
    // On the holder, not the button: live.js's own listener on the button flips its `on`
    // class first, and a bubbling event reaches the holder only after every button listener.
    holder.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-layer='cameras']");
      if (button) { toggle(button.classList.contains("on")); }
    });
  }

  // --- the popup -------------------------------------------------------------------------

  function openPopup(camera) {
    var ui = state.cfg.words.ui;
    var box = el("div", "camera-tip");
    box.appendChild(el("strong", null, camera.code));
    if (camera.name) { box.appendChild(el("div", "camera-name", camera.name)); }
    var line = el("div", "camera-status status-" + kind(camera.status),
                  ui["camera_" + kind(camera.status)]);
    box.appendChild(line);
    if (camera.since) {
      box.appendChild(el("div", "camera-since", ui.camera_since.replace("{time}", when(camera.since))));
    }
    if (!state.popup) {
      state.popup = window.L.popup({ closeButton: true, autoPan: false, className: "camera-popup" });
      state.popup.on("remove", function () { state.popupCode = null; });
    }
    // A DOM node: Leaflet appends it as is, never parses it as HTML.
    state.popup.setLatLng([camera.lat, camera.lon]).setContent(box).openOn(state.map);
    state.popupCode = camera.code; // after: reopening closes (and clears) it first
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function when(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    // China Standard Time whatever the browser's zone (as live.js's clock).
    var cst = new Date(d.getTime() + (d.getTimezoneOffset() + 480) * 60000);
    return cst.getFullYear() + "-" + pad(cst.getMonth() + 1) + "-" + pad(cst.getDate()) + " " +
      pad(cst.getHours()) + ":" + pad(cst.getMinutes());
  }

  /* What a camera looks like now (for tests and the browser console). */
  function shown(code) {
    var camera = state.cameras.get(code);
    if (!camera) { return null; }
    var m = camera.marker;
    return { status: camera.status, since: camera.since, fillColor: m.options.fillColor,
             onMap: !!state.map && state.map.hasLayer(m) };
  }

  window.pinganCameras = {
    attach: attach, load: load, set: set, toggle: toggle, shown: shown,
    count: function () { return state.cameras.size; },
    codes: function () { return Array.from(state.cameras.keys()); },
    loaded: function () { return state.loaded; },
    ONLINE_FROM_ZOOM: ONLINE_FROM_ZOOM, STYLES: STYLES, state: state,
  };
})();
