/* The console map's geography beyond the townships: village and grid outlines by zoom, key
 * places, and hot-spot shading of each grid by the open cases it holds now (counted from the
 * cases live.js holds, every few seconds: nothing extra crosses the socket).
 *
 * The layers are fetched once, after the cases are drawn (dashboard/map_layers.py), and go
 * on the cases' own canvas, behind them: a second canvas above or below would swallow the
 * clicks meant for the other. Each click on the map fits it one tier further down around
 * the click (county → township → village → grid); every name goes into the page as text. */
(function () {
  "use strict";
  var VILLAGE_ZOOM = 11.5, GRID_ZOOM = 13, PLACE_ZOOM = 11.5, SHADE_MS = 3000;
  // Open cases in a grid → fill (the legend shows the same steps, style.css .hot-n).
  var HOT = [[6, "#ff3b3b", 0.5], [3, "#ff8c1a", 0.38], [1, "#ffd21a", 0.26]];
  var PLACE_COLOURS = {
    police_station: "#4fc3f7", health_centre: "#7cfc9a", hospital: "#7cfc9a", school: "#c9b3ff",
    market: "#ffd21a", industrial_park: "#ff9de2", chemical_plant: "#ff5252", polder: "#64b5f6",
    scenic_spot: "#aed581", government: "#ffffff",
  };
  var st = { map: null, cfg: null, canvas: null, villages: [], grids: new Map(), places: [],
             counts: new Map(), on: { divisions: true, hotspots: true, places: true },
             loaded: {}, zoomed: null };
  window.pinganLayers = st; // for tests and the browser console

  function words() { return st.cfg.words; }

  function attach(map, cfg, canvas) {
    st.map = map; st.cfg = cfg; st.canvas = canvas;
    var urls = cfg.map_layers || {};
    map.on("zoomend", byZoom);
    map.on("click", drill);
    bindToggles();
    // After the first paint: the cases and the queue come first.
    window.setTimeout(function () {
      fetchLayer(urls.villages, "villages", addVillages);
      fetchLayer(urls.places, "places", addPlaces);
      fetchLayer(urls.grids, "grids", addGrids);
    }, 300);
    window.setInterval(shade, SHADE_MS);
  }

  function fetchLayer(url, name, then) {
    if (!url) { return; }
    window.fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(name + " " + r.status); } return r.json(); })
      .then(function (collection) { then(collection.features || []); st.loaded[name] = true; })
      .catch(function () { st.loaded[name] = false; }); // geography is optional: the map stays
  }

  /* The one vector shape of a feature (GeoJSON options become the shape's path options). */
  function polygon(feature, options) {
    var layer = window.L.geoJSON(feature, options);
    var shapes = [];
    layer.eachLayer(function (l) { shapes.push(l); });
    return shapes[0];
  }

  function tooltip(shape, text) {
    var node = document.createElement("div");
    node.textContent = text;
    shape.bindTooltip(node, { sticky: true }); // a DOM node: never parsed as HTML
    return node;
  }

  // --- villages and grids -----------------------------------------------------------------

  function addVillages(features) {
    features.forEach(function (f) {
      var shape = polygon(f, { renderer: st.canvas, color: "#8fb3d9", weight: 1, dashArray: "4 4",
                               fill: false, opacity: 0.8, bubblingMouseEvents: false });
      if (!shape) { return; }
      tooltip(shape, f.properties.name || f.properties.code);
      shape.on("click", drill);
      shape.pinganTownship = f.properties.parent_code;
      st.villages.push(shape);
    });
    byZoom();
  }

  // --- drill-down: a click on the map where nothing is drawn -------------------------------

  /* Fit the next tier around the click that does not already fill the view: the township,
   * then the village, then the grid (whatever the screen's size makes their zoom). */
  function drill(event) {
    var at = event.latlng, village = villageAt(at);
    if (!village) { return; }
    var township = window.L.latLngBounds([]);
    st.villages.forEach(function (v) {
      if (v.pinganTownship === village.pinganTownship) { township.extend(v.getBounds()); }
    });
    var grid = gridAt(at);
    var tiers = [township, village.getBounds(), grid ? grid.shape.getBounds() : null];
    var options = { padding: [24, 24] };
    for (var i = 0; i < tiers.length; i++) {
      if (tiers[i] && st.map.getZoom() < st.map.getBoundsZoom(tiers[i], false, [48, 48]) - 0.3) {
        st.map.fitBounds(tiers[i], options);
        return;
      }
    }
  }

  function gridAt(latlng) {
    var found = null;
    st.grids.forEach(function (g) {
      if (!found && g.shape.getBounds().contains(latlng) && inside(g.shape.getLatLngs(), latlng)) {
        found = g;
      }
    });
    return found;
  }

  function villageAt(latlng) {
    for (var i = 0; i < st.villages.length; i++) {
      var v = st.villages[i];
      if (v.getBounds().contains(latlng) && inside(v.getLatLngs(), latlng)) { return v; }
    }
    return null;
  }

  /* Inside a (multi)polygon's outer rings, by ray casting (holes are rare in divisions). */
  function inside(rings, p) {
    if (rings.length && !("lat" in rings[0])) {
      return rings.some(function (r) { return inside(r, p); });
    }
    var hit = false;
    for (var i = 0, j = rings.length - 1; i < rings.length; j = i++) {
      var a = rings[i], b = rings[j];
      if ((a.lat > p.lat) !== (b.lat > p.lat) &&
          p.lng < (b.lng - a.lng) * (p.lat - a.lat) / (b.lat - a.lat) + a.lng) { hit = !hit; }
    }
    return hit;
  }

  function addGrids(features) {
    features.forEach(function (f) {
      var code = f.properties.code;
      var shape = polygon(f, { renderer: st.canvas, color: "#5b7fa6", weight: 0.6, opacity: 0.7,
                               fillOpacity: 0, fillColor: "#ffd21a", bubblingMouseEvents: false });
      if (!shape || !code) { return; }
      var grid = { shape: shape, name: f.properties.name || code, count: 0, shown: false };
      grid.tip = tooltip(shape, grid.name);
      shape.on("click", drill);
      st.grids.set(code, grid);
    });
    shade();
  }

  function zoom() { return st.map ? st.map.getZoom() : 0; }

  function byZoom() {
    var villagesOn = st.on.divisions && zoom() >= VILLAGE_ZOOM;
    st.villages.forEach(function (shape) { show(shape, villagesOn); });
    var placesOn = st.on.places && zoom() >= PLACE_ZOOM;
    st.places.forEach(function (marker) { show(marker, placesOn); });
    st.grids.forEach(syncGrid);
  }

  /* A grid is drawn when its outline is due at this zoom or when it is a hot spot. */
  function syncGrid(grid) {
    var outline = st.on.divisions && zoom() >= GRID_ZOOM;
    var hot = st.on.hotspots && grid.count > 0;
    var want = outline || hot;
    if (want) {
      var fill = hotFill(st.on.hotspots ? grid.count : 0);
      grid.shape.setStyle({ weight: outline ? 0.6 : 0, fillColor: fill[0], fillOpacity: fill[1] });
    }
    if (want !== grid.shown) { show(grid.shape, want); grid.shown = want; }
  }

  function hotFill(count) {
    for (var i = 0; i < HOT.length; i++) {
      if (count >= HOT[i][0]) { return [HOT[i][1], HOT[i][2]]; }
    }
    return ["#ffd21a", 0];
  }

  function show(shape, on) {
    var there = st.map.hasLayer(shape);
    if (on && !there) { shape.addTo(st.map); shape.bringToBack(); }
    else if (!on && there) { shape.remove(); }
  }

  /* Count the open cases per grid from what live.js holds; restyle only grids that changed. */
  function shade() {
    var live = window.pinganLive;
    if (!live || !st.grids.size) { return; }
    var field = st.cfg.protocol.fields["case"].grid_code;
    var counts = new Map();
    live.cases.forEach(function (entry) {
      var code = entry.data[field];
      if (code) { counts.set(code, (counts.get(code) || 0) + 1); }
    });
    var tip = words().ui.grid_tip;
    st.grids.forEach(function (grid, code) {
      var n = counts.get(code) || 0;
      if (n === grid.count) { return; }
      grid.count = n;
      grid.tip.textContent = n ? tip.replace("{name}", grid.name).replace("{n}", n) : grid.name;
      syncGrid(grid);
    });
    st.counts = counts;
  }

  // --- key places -------------------------------------------------------------------------

  function addPlaces(features) {
    var kinds = words().ui;
    features.forEach(function (f) {
      var c = f.geometry && f.geometry.coordinates, p = f.properties;
      if (!c) { return; }
      // A dashed ring, behind the rest (a place often has a camera or a case on it, never
      // hidden), unlike the cases' solid ones; from a township's zoom in, not on the county.
      var marker = window.L.circleMarker([c[1], c[0]], {
        renderer: st.canvas, radius: 7, weight: 2, dashArray: "3 3",
        color: PLACE_COLOURS[p.kind] || "#ffffff", fill: true, fillOpacity: 0,
        bubblingMouseEvents: false,
      });
      var label = (p.name || p.code) + "（" + (kinds["place_" + p.kind] || p.kind) + "）";
      tooltip(marker, label);
      marker.on("click", function () { st.map.setView(marker.getLatLng(), Math.max(zoom(), 15)); });
      st.places.push(marker);
    });
    byZoom();
  }

  // --- switches ---------------------------------------------------------------------------

  function bindToggles() {
    var holder = document.getElementById(st.cfg.ids.LAYER_TOGGLES);
    if (!holder) { return; }
    // On the holder: live.js's listener on the button flips its `on` class first.
    holder.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-layer]");
      var name = button && button.getAttribute("data-layer");
      if (!name || !(name in st.on)) { return; }
      st.on[name] = button.classList.contains("on");
      byZoom();
    });
  }

  window.pinganLayers.attach = attach;
  window.pinganLayers.hotCount = function (code) { var g = st.grids.get(code); return g ? g.count : null; };
  window.pinganLayers.drawn = function (code) { var g = st.grids.get(code); return !!(g && g.shown); };
})();
