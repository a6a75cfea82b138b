/* The queue of open cases as an AG Grid, fed only by the live socket (assets/web/live.js):
 * rows are added, updated and removed with the grid's transaction API, never through a Dash
 * prop. The grid virtualises rows, so thousands stay smooth. Cell text is given to the grid
 * as values (rendered as text), never as HTML: summaries are untrusted.
 *
 * The column definitions (dashboard/presenters/queue.py) call the functions below by name. */
(function () {
  "use strict";
  var MARK_MS = 60000; // how long a new case or a newly linked report stays marked
  var live = null; // window.pinganLive, once live.js has run
  var queue = { api: null, pending: { add: [], update: [], remove: [] }, flushing: false,
                overdueOnly: false, mineOnly: false, clicks: 0, rows: new Map() };

  function cfg() { live = live || window.pinganLive; return live && live.cfg; }
  function words() { var c = cfg(); return c ? c.words : { ui: {} }; }
  function fill(template, key, value) { return String(template).replace("{" + key + "}", value); }

  function duration(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h > 0 ? h + ":" : "") + pad(m) + ":" + pad(sec);
  }

  var DEADLINE = null; // the field's name, looked up once
  function deadlineOf(data) {
    DEADLINE = DEADLINE || cfg().protocol.fields["case"].deadline_at;
    var at = data && data[DEADLINE];
    if (!at) { return null; }
    // Parsed once per deadline: the countdown looks at every row every second.
    if (data.pinganDueAt !== at) { data.pinganDueAt = at; data.pinganDue = Date.parse(at); }
    return data.pinganDue;
  }

  function isOverdue(data, now) {
    var due = deadlineOf(data);
    return due !== null && due < now;
  }

  /* When a row last had news: its opening, or the report last linked while it was shown. */
  function latest(data, opened) {
    var at = Date.parse(opened) || 0;
    return data && data.pinganBumped > at ? data.pinganBumped : at;
  }

  /* The row's sort key: its opening time as sent, or when a report was last linked (ISO
   * strings in UTC sort as times). */
  function latestAt(row) {
    var opened = row[cfg().protocol.fields.case.opened_at];
    var at = latest(row, opened);
    return at > (Date.parse(opened) || 0) ? new Date(at).toISOString() : opened;
  }

  function markOf(data, now) {
    var mark = data && data.pinganMark;
    return mark && mark.until > (now || Date.now()) ? mark.kind : null;
  }

  var fns = {
    pinganRowId: function (params) { return String(params.data[cfg().protocol.fields.case.id]); },
    pinganWord: function (params, group) {
      var data = params.data, field = params.colDef && params.colDef.field;
      var value = params.value !== undefined ? params.value : (data && data[field]);
      if (value === null || value === undefined) { return ""; }
      var table = words()[group] || {};
      return table[String(value)] || String(value);
    },
    pinganCountdown: function (params) {
      var due = deadlineOf(params.data);
      if (due === null) { return ""; }
      var left = due - Date.now(), ui = words().ui;
      return left >= 0 ? fill(ui.due_in, "t", duration(left)) : fill(ui.overdue_by, "t", duration(left));
    },
    pinganDeadlineClass: function (params) {
      return isOverdue(params.data, Date.now()) ? "deadline overdue" : "deadline";
    },
    pinganSeverityClass: function (params) {
      var F = cfg().protocol.fields;
      return "sev-cell sev-" + (params.data ? params.data[F.case.severity] : "");
    },
    pinganRowClass: function (params) {
      var classes = [];
      if (isOverdue(params.data, Date.now())) { classes.push("row-overdue"); }
      var mark = markOf(params.data);
      if (mark) { classes.push("row-" + mark); }
      return classes.join(" ");
    },
    // The summary cell's mark ("新", "+1 报告") is its ::before, in words set on the page
    // (assets/web/style.css): the summary itself stays a plain text value.
    pinganSummaryClass: function (params) {
      var mark = markOf(params.data);
      return mark ? "summary-cell marked mark-" + mark : "summary-cell";
    },
    pinganReports: function (params) { return params.value === undefined ? "" : String(params.value); },
    pinganTime: function (params) {
      var F = cfg().protocol.fields, opened = params.data && params.data[F.case.opened_at];
      return opened ? window.pinganLive.localTime(opened) : "";
    },
    pinganExternalPresent: function () { return queue.overdueOnly || queue.mineOnly; },
    pinganExternalPasses: function (node) {
      var data = node.data, F = cfg().protocol.fields;
      if (queue.overdueOnly && !isOverdue(data, Date.now())) { return false; }
      if (queue.mineOnly && (!cfg().user || data[F.case.owner] !== cfg().user)) { return false; }
      return true;
    },
  };
  window.dashAgGridFunctions = Object.assign(window.dashAgGridFunctions || {}, fns);

  // What a row was last drawn with (overdue, mark), by case id.
  var lastState = new Map();
  function stateKey(row, now) { return (isOverdue(row, now) ? "o" : "") + (markOf(row, now) || ""); }

  function flush() {
    queue.flushing = false;
    if (!queue.api) { return; }
    var tx = queue.pending;
    queue.pending = { add: [], update: [], remove: [] };
    if (!tx.add.length && !tx.update.length && !tx.remove.length) { return; }
    queue.api.applyTransaction(tx);
    // An updated row that gained (or lost) a mark or fell overdue is redrawn now: its row
    // and summary classes are computed when drawn, and the grid keeps them on an update.
    var now = Date.now(), redraw = [], F = cfg().protocol.fields;
    tx.add.forEach(function (row) { lastState.set(row[F.case.id], stateKey(row, now)); });
    tx.update.forEach(function (row) {
      var id = row[F.case.id], key = stateKey(row, now);
      if (lastState.get(id) === key) { return; }
      lastState.set(id, key);
      var node = queue.api.getRowNode(String(id));
      if (node) { redraw.push(node); }
    });
    if (redraw.length) { queue.api.redrawRows({ rowNodes: redraw }); }
  }

  function schedule() {
    if (queue.flushing) { return; }
    queue.flushing = true;
    // One transaction per frame: a burst of deltas costs one re-sort, not one each.
    window.requestAnimationFrame(flush);
  }

  /* A case to show (or to update) in the queue; `kind` marks it ("new" or "linked"). */
  function upsert(data, kind) {
    var F = cfg().protocol.fields, id = data[F.case.id];
    var previous = queue.rows.get(id);
    var row = Object.assign({}, data);
    row.pinganMark = kind ? { kind: kind, until: Date.now() + MARK_MS }
                          : (previous ? previous.pinganMark : null);
    row.pinganBumped = kind === "linked" ? Date.now() : (previous ? previous.pinganBumped : 0);
    row.pinganLatest = latestAt(row);
    queue.rows.set(id, row);
    (previous ? queue.pending.update : queue.pending.add).push(row);
    schedule();
  }

  function remove(id) {
    var row = queue.rows.get(id);
    if (!row) { return; }
    queue.rows.delete(id);
    lastState.delete(id);
    queue.pending.remove.push(row);
    schedule();
  }

  /* Replace every row at once (a snapshot). */
  function reset(list) {
    var F = cfg().protocol.fields;
    var now = Date.now();
    queue.rows.clear();
    lastState.clear();
    queue.pending = { add: [], update: [], remove: [] };
    list.forEach(function (data) {
      var row = Object.assign({}, data);
      row.pinganLatest = data[F.case.opened_at];
      queue.rows.set(data[F.case.id], row);
      lastState.set(data[F.case.id], stateKey(row, now));
    });
    if (queue.api) { queue.api.setGridOption("rowData", Array.from(queue.rows.values())); }
  }

  function select(id) {
    var IDS = cfg().ids;
    queue.clicks += 1;
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(IDS.SELECTED_CASE, { data: { case_id: id, n: queue.clicks } });
    }
    if (window.pinganLive.highlight) { window.pinganLive.highlight(id); }
  }

  // Every second: the countdowns tick; rows that just fell overdue or lost their mark are
  // redrawn (only those: the rest keep their row classes).
  function tick() {
    if (!queue.api) { return; }
    var now = Date.now(), changed = [];
    queue.rows.forEach(function (row, id) {
      var key = stateKey(row, now);
      if (lastState.get(id) !== key) {
        lastState.set(id, key);
        var node = queue.api.getRowNode(String(id));
        if (node) { changed.push(node); }
      }
    });
    if (changed.length) { queue.api.redrawRows({ rowNodes: changed }); }
    var F = cfg().protocol.fields;
    queue.api.refreshCells({ columns: [F.case.deadline_at], force: true });
  }

  /* The marks' words as CSS strings, for the summary cells' ::before. */
  function markWords() {
    var ui = words().ui, root = document.documentElement.style;
    root.setProperty("--pingan-mark-new", JSON.stringify(String(ui.mark_new || "")));
    root.setProperty("--pingan-mark-linked", JSON.stringify(String(ui.mark_linked || "")));
  }

  function toggles() {
    var IDS = cfg().ids;
    [["QUEUE_OVERDUE_ONLY", "overdueOnly"], ["QUEUE_MINE_ONLY", "mineOnly"]].forEach(function (pair) {
      var node = document.getElementById(IDS[pair[0]]);
      if (!node || node.pinganBound) { return; }
      node.pinganBound = true;
      node.addEventListener("click", function () {
        queue[pair[1]] = !queue[pair[1]];
        node.classList.toggle("on", queue[pair[1]]);
        if (queue.api) { queue.api.onFilterChanged(); }
      });
    });
  }

  function attach() {
    var c = cfg();
    if (!c || !window.dash_ag_grid) { window.setTimeout(attach, 50); return; }
    markWords();
    window.dash_ag_grid.getApiAsync(c.ids.QUEUE).then(function (api) {
      queue.api = api;
      // Every row known so far goes in whole; what was waiting for the grid is in it already
      // (the socket opens before the grid exists: a delta may have come in between).
      queue.pending = { add: [], update: [], remove: [] };
      api.setGridOption("rowData", Array.from(queue.rows.values()));
      api.addEventListener("rowClicked", function (event) {
        if (event.data) { select(event.data[c.protocol.fields.case.id]); }
      });
      toggles();
      window.setInterval(tick, 1000);
    });
  }

  window.pinganQueue = { upsert: upsert, remove: remove, reset: reset, select: select,
                         state: queue, count: function () { return queue.rows.size; } };
  window.setTimeout(attach, 0);
})();
