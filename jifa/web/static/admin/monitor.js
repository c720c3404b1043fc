// Live monitor: refresh the counts and the candidate table from the JSON endpoint
// every 10 seconds without reloading the page. Data is written with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("monitor");
  if (!root) return;
  var url = root.getAttribute("data-url");
  var STATUS = { absent: "未开始", in_progress: "作答中", expired: "已超时", submitted: "已交卷" };

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    tr.appendChild(td);
  }
  function clock(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return d.toLocaleTimeString("zh-CN", { hour12: false });
  }
  function left(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + " 分 " + (s < 10 ? "0" : "") + s + " 秒";
  }
  function emptyRow(tbody, span, text) {
    var tr = document.createElement("tr"), td = document.createElement("td");
    td.colSpan = span; td.className = "muted"; td.textContent = text;
    tr.appendChild(td); tbody.appendChild(tr);
  }
  function render(data) {
    Object.keys(data.totals).forEach(function (k) {
      var el = root.querySelector('[data-total="' + k + '"]');
      if (el) el.textContent = data.totals[k];
    });
    var units = document.getElementById("unit-rows");
    units.replaceChildren();
    data.units.forEach(function (u) {
      var tr = document.createElement("tr");
      [u.unit, u.enrolled, u.started, u.in_progress, u.submitted, u.absent].forEach(function (v) { cell(tr, v); });
      units.appendChild(tr);
    });
    if (!data.units.length) emptyRow(units, 6, "尚无考生。");
    var rows = document.getElementById("candidate-rows");
    rows.replaceChildren();
    data.candidates.forEach(function (c) {
      var tr = document.createElement("tr");
      cell(tr, c.person_no); cell(tr, c.name); cell(tr, c.unit);
      cell(tr, STATUS[c.status] || c.status);
      cell(tr, c.answered + "/" + c.total);
      cell(tr, left(c.seconds_left));
      cell(tr, clock(c.last_saved_at));
      cell(tr, c.integrity_events ? c.integrity_events + "（" + c.integrity_text + "）" : 0);
      cell(tr, c.extra_minutes || "");
      if (c.integrity_events > 0) tr.className = "warn";
      rows.appendChild(tr);
    });
    if (!data.candidates.length) emptyRow(rows, 9, "尚无考生。请在考试页面增加考生。");
    document.getElementById("updated").textContent = clock(data.now);
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var err = document.getElementById("refresh-error");
        if (!data.ok) { err.textContent = data.error && data.error.message || "刷新失败"; return; }
        err.textContent = "";
        render(data);
      })
      .catch(function () { document.getElementById("refresh-error").textContent = "网络异常，稍后自动重试"; });
  }
  refresh();
  setInterval(refresh, 10000);
})();
