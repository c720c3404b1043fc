/* The exam paper page. Vanilla JS, no framework, no CDN, no inline script in the page
 * (the page passes its data in data-* attributes of #exam-app).
 *
 * - The paper and saved answers come from the server (start-or-resume), so a reload or
 *   another device resumes with every saved answer and the true time left.
 * - Every change is queued with a per-attempt sequence number, kept in localStorage
 *   until the server confirms it, and sent (debounced) one at a time; network errors
 *   retry with exponential backoff plus jitter, and the queue survives reconnects and
 *   reloads. The server ignores a save older than the one it holds.
 * - The countdown follows the server's clock: the offset is measured at load and on
 *   every save. Warnings at 5 and 1 minutes appear inside the sticky bar, in a live
 *   region (role=alert) so screen readers announce them.
 * - The answer card (答题卡) is a modal bottom sheet, so it opens where the candidate is;
 *   jumps from it and from the 交卷 dialog land below the sticky bar.
 * - All question text is inserted with textContent (never innerHTML).
 *
 * Sections: storage helpers, network, answer queue (the save code) come first; the
 * UI (save status, rendering, answer card, countdown, submit dialog) follows.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var root = document.getElementById("exam-app");
  if (!root) return;
  var examId = root.dataset.examId;
  var attemptId = root.dataset.attemptId;
  var resultUrl = root.dataset.resultUrl;
  var singleMode = root.dataset.navigation === "single";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  var LS_TOKEN = "jifa-client-token";
  var LS_PENDING = "jifa-pending-" + attemptId;
  var LS_SEQ = "jifa-seq-" + attemptId;
  var LS_LARGE = "jifa-large-text";

  var state = {
    questions: [],
    byId: {},
    answers: {},
    flagged: {},
    pending: {},
    inflight: null,
    seq: 0,
    deadline: 0,
    offset: 0,
    retryDelay: 0,
    retryTimer: null,
    retryAt: 0,
    flushTimer: null,
    current: 0,
    closed: false,
    submitting: false,
    warned5: false,
    warned1: false,
    lastEvent: {},
    localOk: true
  };

  var $ = function (id) { return document.getElementById(id); };

  // ------------------------------------------------------------ storage helpers
  function lsGet(key, fallback) {
    try {
      var v = window.localStorage.getItem(key);
      return v === null ? fallback : JSON.parse(v);
    } catch (e) { return fallback; }
  }
  function lsSet(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; /* private mode */ }
  }
  function clientToken() {
    // this browser's identity for the attempt: a new one on reload would be reported
    // as a second device, so where localStorage is refused the tab's sessionStorage
    // keeps it (it survives a reload and a restored tab)
    var t = lsGet(LS_TOKEN, null);
    if (!t) { try { t = window.sessionStorage.getItem(LS_TOKEN); } catch (e) { t = null; } }
    if (!t) {
      var bytes = new Uint8Array(16);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      t = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      if (!lsSet(LS_TOKEN, t)) {
        try { window.sessionStorage.setItem(LS_TOKEN, t); } catch (e) { /* kept for this page only */ }
      }
    }
    return t;
  }
  function persistQueue() {
    // the offline message promises the answers are on this device: only if they are
    state.localOk = lsSet(LS_PENDING, state.pending) && lsSet(LS_SEQ, state.seq);
  }

  // ------------------------------------------------------------ network
  function measure(serverIso, t0, t1) {
    var server = Date.parse(serverIso);
    if (!isNaN(server)) state.offset = server - (t0 + t1) / 2;
  }
  function request(method, url, body, extraHeaders) {
    var t0 = Date.now();
    var headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" };
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (resp) {
      var t1 = Date.now();
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (data && data.server_time) measure(data.server_time, t0, t1);
        return { status: resp.status, data: data };
      });
    });
  }

  // ------------------------------------------------------------ answer queue
  function isAnswered(q) {
    var a = state.answers[q.id];
    if (a === null || a === undefined) return false;
    if (Array.isArray(a)) {
      if (q.type === "fill_blank") return a.some(function (s) { return String(s).trim() !== ""; });
      return a.length > 0;
    }
    return true;
  }
  function hasPending() {
    return state.inflight !== null || Object.keys(state.pending).length > 0;
  }
  function queue(id, delay) {
    state.seq += 1;
    var a = state.answers[id];
    state.pending[id] = { answer: a === undefined ? null : a, flagged: !!state.flagged[id], seq: state.seq };
    persistQueue();
    showQueued();
    updateNav();
    scheduleFlush(delay);
  }
  function scheduleFlush(delay) {
    if (state.flushTimer) window.clearTimeout(state.flushTimer);
    state.flushTimer = window.setTimeout(function () { state.flushTimer = null; flush(); }, delay || 0);
  }
  function nextPending() {
    var best = null;
    Object.keys(state.pending).forEach(function (id) {
      if (!best || state.pending[id].seq < state.pending[best].seq) best = id;
    });
    return best;
  }
  function flush() {
    if (state.inflight || state.closed || state.retryTimer) return;
    var id = nextPending();
    if (id === null) { setStatus("saved"); return; }
    var item = state.pending[id];
    state.inflight = { id: id, seq: item.seq };
    setStatus("saving");
    // the lean autosave route with its token when the server offers it, else the API route
    var lean = state.autosave, hdr = {};
    if (lean) hdr[lean.header] = lean.token;
    var url = lean ? lean.url + id : API + "/attempts/" + attemptId + "/answers/" + id;
    request("PUT", url, item, hdr).then(function (res) {
      state.inflight = null;
      if (res.status === 200) {
        if (state.pending[id] && state.pending[id].seq === item.seq) delete state.pending[id];
        persistQueue();
        state.retryDelay = 0;
        if (hasPending()) flush(); else setStatus("saved");
      } else if (res.status === 409) {
        closeAttempt(errorMessage(res, "作答已结束。"));
      } else if (res.status === 422 || res.status === 404) {
        // a bad answer cannot succeed by retrying: drop it and tell the candidate
        if (state.pending[id] && state.pending[id].seq === item.seq) delete state.pending[id];
        persistQueue();
        setStatus("unsaved", "未保存：" + errorMessage(res, "答案格式有误"));
      } else if (res.status === 401 || res.status === 400) {
        retryLater(RETRY_LOGGED_OUT);
      } else {
        retryLater(RETRY_SERVER);
      }
    }, function () {
      state.inflight = null;
      retryLater(RETRY_NETWORK);
    });
  }
  function retryLater(reason) {
    if (state.closed) return;
    state.retryDelay = Math.min(30000, state.retryDelay ? state.retryDelay * 2 : 1000);
    var wait = state.retryDelay * (0.5 + Math.random()); // jitter spreads reconnect bursts
    state.retryAt = Date.now() + wait;
    showRetrying(reason);
    state.retryTimer = window.setTimeout(function () { state.retryTimer = null; flush(); }, wait);
  }
  function retryNow() {
    if (state.retryTimer) { window.clearTimeout(state.retryTimer); state.retryTimer = null; }
    state.retryDelay = 0;
    flush();
  }
  function errorMessage(res, fallback) {
    return (res.data && res.data.error && res.data.error.message) || fallback;
  }
  function drain(timeoutMs) {
    // resolve true once everything queued is saved, false after timeoutMs
    return new Promise(function (resolve) {
      var until = Date.now() + timeoutMs;
      retryNow();
      (function wait() {
        if (!hasPending()) return resolve(true);
        if (state.closed || Date.now() > until) return resolve(false);
        if (!state.inflight && !state.retryTimer) flush();
        window.setTimeout(wait, 150);
      })();
    });
  }

  // ------------------------------------------------------------ save status (display only)
  // data-state: saving (neutral), saved (with the time), offline (amber, live countdown to
  // the next try), unsaved (red: a failure that persists, or one retrying cannot fix).
  var RETRY_NETWORK = "network", RETRY_SERVER = "server", RETRY_LOGGED_OUT = "logged_out";
  var PERSISTENT_MS = 60000; // offline for this long turns the badge red
  var badge = { failingSince: 0, reason: null, ticker: null };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }
  function netAnnounce(text) { $("net-announcer").textContent = text; }
  function stopTicker() {
    if (badge.ticker) { window.clearInterval(badge.ticker); badge.ticker = null; }
  }
  function paintStatus(kind, text, retry) {
    var box = $("save-status");
    box.dataset.state = kind;
    box.textContent = text;
    if (retry) box.appendChild(el("span", { "class": "retry" }, retry));
    syncBarHeight();
  }
  function setStatus(kind, text) {
    stopTicker();
    if (kind === "saved") {
      if (badge.failingSince) netAnnounce("网络已恢复，答案已全部上传。");
      badge.failingSince = 0;
      badge.reason = null;
      paintStatus("saved", text || "已保存 " + clock(new Date()));
    } else if (kind === "saving" && badge.failingSince) {
      paintStatus(failureKind(), problemText(), "正在重试…");
    } else if (kind === "saving") {
      paintStatus("saving", text || "保存中…");
    } else {
      paintStatus("unsaved", text || "未保存");
    }
  }
  function showQueued() {
    // a tap while retrying keeps the retry message (the answer joins the local queue)
    if (badge.failingSince) { if (!state.retryTimer) setStatus("saving"); return; }
    setStatus("saving");
  }
  function failureKind() {
    var persistent = badge.reason === RETRY_LOGGED_OUT || Date.now() - badge.failingSince >= PERSISTENT_MS;
    return persistent ? "unsaved" : "offline";
  }
  function problemText() {
    var kept = state.localOk ? "答案已保存在本机" : "答案暂存在本页面，请勿关闭或刷新";
    // a new login issues a new CSRF token: only a reloaded page can send again
    if (badge.reason === RETRY_LOGGED_OUT) {
      return state.localOk ? "登录已失效，答案已保存在本机；请刷新页面并重新登录，答案会自动上传。"
        : "登录已失效，答案暂存在本页面，请勿关闭；请在新窗口重新登录后回到本页交卷。";
    }
    if (badge.reason === RETRY_SERVER) return "服务器繁忙，" + kept + "，稍后自动上传。";
    return "网络已断开，" + kept + "，恢复后自动上传。";
  }
  function showRetrying(reason) {
    if (!badge.failingSince) {
      badge.failingSince = Date.now();
      netAnnounce(problemText());
    }
    badge.reason = reason || RETRY_NETWORK;
    stopTicker();
    var paint = function () {
      var left = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      var retry = badge.reason === RETRY_LOGGED_OUT ? "" : left > 0 ? left + " 秒后重试" : "正在重试…";
      paintStatus(failureKind(), problemText(), retry);
    };
    paint();
    badge.ticker = window.setInterval(paint, 1000);
  }

  // ------------------------------------------------------------ rendering
  // labels from the question kinds (question_bank.kinds), a <meta> of every page
  var KINDS = JSON.parse(document.querySelector('meta[name="question-kinds"]').content);
  var TYPE_LABELS = KINDS.labels;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var NUMERALS = "一二三四五六七八九十";
  function typeLabel(q) { return q.type_label || TYPE_LABELS[q.type] || "其他题"; }

  function markChosen(fs) {
    // the chosen rows get a class (border, tint and a "✓ 已选" mark in CSS); no :has() needed
    fs.querySelectorAll("label.choice").forEach(function (label) {
      var input = label.querySelector("input");
      label.classList.toggle("chosen", !!(input && input.checked));
    });
  }

  function renderQuestion(q) {
    var box = el("section", { "class": "question", id: "q-" + q.id, "data-qid": q.id, tabindex: "-1",
      "aria-labelledby": "qh-" + q.id });
    var h = el("h3", { id: "qh-" + q.id }, "第 " + q.number + " 题（" + typeLabel(q) + "，" + q.points + " 分）");
    box.appendChild(h);
    box.appendChild(el("p", { "class": "stem" }, q.stem));
    var fs = el("fieldset");
    fs.appendChild(el("legend", { "class": "visually-hidden" }, "第 " + q.number + " 题作答"));
    var current = state.answers[q.id];
    if (q.type === "single" || q.type === "multiple") {
      q.options.forEach(function (o) {
        var label = el("label", { "class": "choice" });
        var input = el("input", { type: q.type === "single" ? "radio" : "checkbox", name: "q-" + q.id, value: o.key });
        if (q.type === "single" ? current === o.key : Array.isArray(current) && current.indexOf(o.key) >= 0) input.checked = true;
        input.addEventListener("change", function () {
          if (q.type === "single") {
            state.answers[q.id] = o.key;
          } else {
            var picked = [];
            fs.querySelectorAll("input:checked").forEach(function (i) { picked.push(i.value); });
            state.answers[q.id] = picked.sort();
          }
          markChosen(fs);
          queue(q.id, 150);
        });
        label.appendChild(input);
        label.appendChild(el("span", { "class": "choice-text" }, o.key + ". " + o.text));
        fs.appendChild(label);
      });
    } else if (q.type === "true_false") {
      KINDS.true_false.forEach(function (pair) {
        var label = el("label", { "class": "choice" });
        var input = el("input", { type: "radio", name: "q-" + q.id, value: String(pair[0]) });
        if (current === pair[0]) input.checked = true;
        input.addEventListener("change", function () {
          state.answers[q.id] = pair[0];
          markChosen(fs);
          queue(q.id, 150);
        });
        label.appendChild(input);
        label.appendChild(el("span", { "class": "choice-text" }, pair[1]));
        fs.appendChild(label);
      });
    } else if (q.type === "fill_blank") {
      for (var i = 0; i < (q.blanks || 1); i++) {
        var label = el("label", { "class": "blank" }, "第 " + (i + 1) + " 空");
        var input = el("input", { type: "text", name: "q-" + q.id + "-" + i, maxlength: "200", autocomplete: "off",
          "data-blank": String(i) });
        input.value = Array.isArray(current) && current[i] ? current[i] : "";
        input.addEventListener("input", function () {
          var values = [];
          fs.querySelectorAll("input[data-blank]").forEach(function (b) { values.push(b.value); });
          state.answers[q.id] = values;
          queue(q.id, 700);
        });
        label.appendChild(input);
        fs.appendChild(label);
      }
    }
    markChosen(fs);
    box.appendChild(fs);
    var flag = el("button", { type: "button", "class": "flag", "aria-pressed": state.flagged[q.id] ? "true" : "false" },
      state.flagged[q.id] ? "⚑ 已标记（点此取消）" : "标记待检查");
    flag.addEventListener("click", function () {
      state.flagged[q.id] = !state.flagged[q.id];
      flag.setAttribute("aria-pressed", state.flagged[q.id] ? "true" : "false");
      flag.textContent = state.flagged[q.id] ? "⚑ 已标记（点此取消）" : "标记待检查";
      queue(q.id, 0);
    });
    box.appendChild(flag);
    return box;
  }

  function groupsByType() {
    // the answer card's groups: one per question type, in the order the paper shows them
    var groups = [], byType = {};
    state.questions.forEach(function (q, idx) {
      var g = byType[q.type];
      if (!g) { g = byType[q.type] = { label: typeLabel(q), items: [] }; groups.push(g); }
      g.items.push(idx);
    });
    return groups;
  }

  function renderPaper() {
    var container = $("questions");
    var groups = groupsByType();
    // section headings only when every type is one run of consecutive questions
    var runs = 0;
    state.questions.forEach(function (q, i) { if (i === 0 || state.questions[i - 1].type !== q.type) runs += 1; });
    var headings = !singleMode && runs === groups.length && groups.length > 0;
    if (!headings) {
      state.questions.forEach(function (q) { container.appendChild(renderQuestion(q)); });
      return;
    }
    groups.forEach(function (g, gi) {
      var qs = g.items.map(function (i) { return state.questions[i]; });
      var points = qs.map(function (q) { return q.points; });
      var same = points.every(function (p) { return p === points[0]; });
      var total = points.reduce(function (a, b) { return a + b; }, 0);
      container.appendChild(el("h2", { "class": "section-title" },
        (NUMERALS.charAt(gi) || String(gi + 1)) + "、" + g.label + "（共 " + qs.length + " 题，" +
        (same ? "每题 " + points[0] + " 分" : "共 " + total + " 分") + "）"));
      qs.forEach(function (q) { container.appendChild(renderQuestion(q)); });
    });
  }

  // ------------------------------------------------------------ answer card (答题卡)
  function renderCard() {
    var wrap = $("card-groups");
    wrap.textContent = "";
    groupsByType().forEach(function (g, gi) {
      var sec = el("section", { "class": "card-group", "aria-labelledby": "cg-" + gi });
      var h = el("h3", { id: "cg-" + gi }, g.label + " ");
      h.appendChild(el("span", { "class": "muted group-count", "data-group": String(gi) }));
      sec.appendChild(h);
      var list = el("ol", { "class": "card-grid" });
      g.items.forEach(function (idx) {
        var q = state.questions[idx];
        var li = el("li");
        var b = el("button", { type: "button", "class": "qcell", "data-qid": q.id, "data-idx": String(idx) }, String(q.number));
        b.addEventListener("click", function () { closeDialog($("card-dialog")); jumpTo(idx); });
        li.appendChild(b);
        list.appendChild(li);
      });
      sec.appendChild(list);
      sec.dataset.items = g.items.join(",");
      wrap.appendChild(sec);
    });
    updateNav();
  }
  function counts() {
    var c = { answered: 0, flagged: 0, total: state.questions.length };
    state.questions.forEach(function (q) {
      if (isAnswered(q)) c.answered += 1;
      if (state.flagged[q.id]) c.flagged += 1;
    });
    return c;
  }
  function updateNav() {
    // called by queue() after every change: refresh the card's cells and counts
    var card = $("card-groups");
    state.questions.forEach(function (q, idx) {
      var b = card.querySelector('button[data-qid="' + q.id + '"]');
      if (!b) return;
      var answered = isAnswered(q), flagged = !!state.flagged[q.id];
      b.classList.toggle("answered", answered);
      b.classList.toggle("flagged", flagged);
      if (singleMode && idx === state.current) b.setAttribute("aria-current", "true");
      else if (singleMode) b.removeAttribute("aria-current");
      b.setAttribute("aria-label", "第 " + q.number + " 题，" + (answered ? "已答" : "未答") + (flagged ? "，已标记" : ""));
    });
    card.querySelectorAll(".card-group").forEach(function (sec) {
      var items = sec.dataset.items.split(",").map(Number);
      var done = items.filter(function (i) { return isAnswered(state.questions[i]); }).length;
      sec.querySelector(".group-count").textContent = "共 " + items.length + " 题，已答 " + done;
    });
    var c = counts();
    $("card-summary").textContent = "已答 " + c.answered + " 题 · 未答 " + (c.total - c.answered) + " 题 · 标记 " + c.flagged + " 题";
    $("card-progress").textContent = c.answered + "/" + c.total;
    $("open-card").setAttribute("aria-label", "答题卡，已答 " + c.answered + " 题，共 " + c.total + " 题");
  }
  function visibleIndex() {
    // whole-paper mode: the first question not hidden under the sticky bar
    var top = barHeight();
    for (var i = 0; i < state.questions.length; i++) {
      var box = $("q-" + state.questions[i].id);
      if (box && box.getBoundingClientRect().bottom > top + 1) return i;
    }
    return Math.max(0, state.questions.length - 1);
  }
  function openCard() {
    if (!state.questions.length) return;
    if (!singleMode) {
      state.current = visibleIndex();
      $("card-groups").querySelectorAll(".qcell").forEach(function (b) {
        if (Number(b.dataset.idx) === state.current) b.setAttribute("aria-current", "true");
        else b.removeAttribute("aria-current");
      });
    }
    updateNav();
    var dlg = $("card-dialog");
    openDialog(dlg);
    // long papers: bring the current cell into the sheet's view
    var cell = dlg.querySelector('.qcell[aria-current="true"]');
    if (cell) {
      var c = cell.getBoundingClientRect(), d = dlg.getBoundingClientRect();
      if (c.bottom > d.bottom - 8 || c.top < d.top + 60) dlg.scrollTop += c.top - d.top - d.height / 2;
    }
  }
  function openDialog(dlg) {
    if (dlg.showModal) { if (!dlg.open) dlg.showModal(); } else dlg.setAttribute("open", "");
  }
  function closeDialog(dlg) {
    if (dlg.close) { if (dlg.open) dlg.close(); } else dlg.removeAttribute("open");
  }

  // ------------------------------------------------------------ moving around the paper
  function barHeight() {
    var bar = $("exam-bar");
    return bar ? Math.max(0, bar.getBoundingClientRect().bottom) : 0;
  }
  function syncBarHeight() {
    // scroll-margin-top (exam.css) keeps focused controls from hiding under the bar
    var bar = $("exam-bar");
    if (bar) document.documentElement.style.setProperty("--bar-h", bar.offsetHeight + "px");
  }
  function jumpTo(idx) {
    if (idx < 0 || idx >= state.questions.length) return;
    if (singleMode) { goTo(idx, true); return; }
    state.current = idx;
    var target = $("q-" + state.questions[idx].id);
    scrollBelowBar(target);
    target.focus({ preventScroll: true });
  }
  function scrollBelowBar(target) {
    // the bar is sticky at top:0, so once scrolled its height is what covers the page
    var bar = $("exam-bar");
    var cover = bar.offsetHeight + 8;
    var y = target.getBoundingClientRect().top + window.pageYOffset - cover;
    window.scrollTo(0, Math.max(0, y));
  }
  function goTo(idx, focus) {
    // one-question-per-page mode
    if (idx < 0 || idx >= state.questions.length) return;
    state.current = idx;
    var target = $("q-" + state.questions[idx].id);
    document.querySelectorAll("#questions .question").forEach(function (s) { s.hidden = s !== target; });
    $("pager-pos").textContent = "第 " + (idx + 1) + " 题 / 共 " + state.questions.length + " 题";
    $("prev-q").disabled = idx === 0;
    $("next-q").disabled = idx === state.questions.length - 1;
    updateNav();
    if (target.getBoundingClientRect().top < barHeight()) scrollBelowBar(target);
    if (focus) target.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------ countdown and warnings
  function announce(text) {
    // #warning sits in the sticky bar and is role=alert: seen when scrolled, and read aloud
    $("warning").textContent = text;
    syncBarHeight();
  }
  function tick() {
    var left = Math.max(0, state.deadline - (Date.now() + state.offset));
    var s = Math.floor(left / 1000);
    var text = (s >= 3600 ? Math.floor(s / 3600) + ":" : "") + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
    var cd = $("countdown");
    cd.textContent = text;
    cd.classList.toggle("low", left <= 300000);
    if (left <= 60000 && !state.warned1) {
      state.warned1 = state.warned5 = true;
      announce("注意：剩余时间不足 1 分钟，时间到后将按已保存的答案自动交卷。");
    } else if (left <= 300000 && !state.warned5) {
      state.warned5 = true;
      announce("注意：剩余时间不足 5 分钟。");
    }
    if (left <= 0 && !state.closed && !state.submitting) autoSubmit();
  }

  // ------------------------------------------------------------ submit
  function doSubmit(reason) {
    // reason "timeout": the countdown reached zero (the server checks it against the
    // deadline and stores the attempt as submitted by time-out)
    state.submitting = true;
    var body = reason ? { reason: reason } : undefined;
    return request("POST", API + "/attempts/" + attemptId + "/submit", body).then(function (res) {
      if (res.status === 200) {
        state.closed = true;
        lsSet(LS_PENDING, {});
        window.location.href = resultUrl;
        return true;
      }
      state.submitting = false;
      return false;
    }, function () { state.submitting = false; return false; });
  }
  function autoSubmit() {
    state.submitting = true;
    announce("作答时间到，正在按已保存的答案交卷……");
    drain(20000).then(function () {
      doSubmit("timeout").then(function (ok) {
        if (!ok) window.setTimeout(autoSubmit, 3000 * (0.5 + Math.random()));
      });
    });
  }
  function closeAttempt(message) {
    state.closed = true;
    stopTicker();
    setStatus("unsaved", message);
    announce(message);
    window.setTimeout(function () { window.location.href = resultUrl; }, 2500);
  }
  function questionLinks(list, questions) {
    list.textContent = "";
    questions.forEach(function (q) {
      var li = el("li");
      var a = el("a", { href: "#q-" + q.id, "class": "qlink", "aria-label": "第 " + q.number + " 题" }, String(q.number));
      a.addEventListener("click", function (e) {
        e.preventDefault();
        closeDialog($("confirm-dialog"));
        jumpTo(state.questions.indexOf(q));
      });
      li.appendChild(a);
      list.appendChild(li);
    });
    list.parentNode.hidden = questions.length === 0;
  }
  function openConfirm() {
    var missing = state.questions.filter(function (q) { return !isAnswered(q); });
    var flagged = state.questions.filter(function (q) { return state.flagged[q.id]; });
    var total = state.questions.length;
    $("confirm-summary").textContent = missing.length
      ? "共 " + total + " 题，已答 " + (total - missing.length) + " 题，还有 " + missing.length + " 道题未作答" +
        (flagged.length ? "，" + flagged.length + " 道题已标记待检查。" : "。")
      : "所有题目均已作答（共 " + total + " 题）。" + (flagged.length ? "有 " + flagged.length + " 道题已标记待检查。" : "");
    questionLinks($("confirm-unanswered"), missing);
    questionLinks($("confirm-flagged-list"), flagged);
    $("confirm-error").hidden = true;
    $("confirm-submit").disabled = false;
    openDialog($("confirm-dialog"));
  }
  function confirmSubmit() {
    var btn = $("confirm-submit");
    btn.disabled = true;
    drain(8000).then(function (saved) {
      if (!saved) {
        btn.disabled = false;
        $("confirm-error").textContent = "仍有答案未上传（网络异常），请检查网络后再交卷；答案已暂存在本机。";
        $("confirm-error").hidden = false;
        return;
      }
      doSubmit().then(function (ok) {
        if (!ok) {
          btn.disabled = false;
          $("confirm-error").textContent = "交卷未成功，请稍后重试。";
          $("confirm-error").hidden = false;
        }
      });
    });
  }

  // ------------------------------------------------------------ integrity events
  // Only what could be a breach is reported: the page left (hidden or unfocused) for
  // more than AWAY_MS, measured from leaving to coming back, and paste into a fill-in.
  // Reloading, moving within the exam and a restored tab are not events. The moment
  // of leaving is kept in sessionStorage (per tab, kept over a reload and a restored
  // tab); after an unload the absence ends when the new load began (timeOrigin), so
  // the time a reload itself takes never counts.
  var AWAY_MS = 5000;
  var SS_AWAY = "jifa-away-" + attemptId;
  var away = { since: 0, how: null };
  function ssSet(value) {
    try {
      if (value) window.sessionStorage.setItem(SS_AWAY, JSON.stringify(value));
      else window.sessionStorage.removeItem(SS_AWAY);
    } catch (e) { /* private mode: the absence is measured within this page only */ }
  }
  function leave(how) {
    if (state.closed || away.since) return;
    away = { since: Date.now(), how: how };
    ssSet(away);
  }
  function cameBack(endedAt) {
    if (!away.since || document.visibilityState === "hidden") return;
    var ms = endedAt - away.since;
    var how = away.how;
    away = { since: 0, how: null };
    ssSet(null);
    if (ms > AWAY_MS) signal("left_page", { seconds: Math.round(ms / 100) / 10, how: how });
  }
  function pageOrigin() {
    var p = window.performance;
    if (p && p.timeOrigin) return p.timeOrigin;
    if (p && p.timing && p.timing.navigationStart) return p.timing.navigationStart;
    return Date.now();
  }
  function awayBeforeLoad() {
    // left before this page loaded (another site, another app, then back or restored)
    var saved = null;
    try { saved = JSON.parse(window.sessionStorage.getItem(SS_AWAY) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.since) return;
    away = { since: saved.since, how: saved.how === "hidden" ? "navigation" : saved.how };
    cameBack(Math.max(saved.since, pageOrigin()));
  }
  function signal(kind, detail) {
    if (state.closed) return;
    try {
      fetch(API + "/attempts/" + attemptId + "/events", {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind: kind, detail: detail || {} })
      }).catch(function () { /* evidence only; never blocks the candidate */ });
    } catch (e) { /* ignore */ }
  }
  function pasted(e) {
    var input = e.target && e.target.closest ? e.target.closest("input[data-blank]") : null;
    var box = input ? input.closest(".question") : null;
    if (!box) return; // paste elsewhere is not an event
    var now = Date.now();
    if (state.lastEvent.paste && now - state.lastEvent.paste < 3000) return;
    state.lastEvent.paste = now;
    signal("paste", { question_id: Number(box.dataset.qid) });
  }

  // ------------------------------------------------------------ start
  function applyLargeText(on) {
    // on <html>, so every rem size (headings, buttons, the bar) grows with the text
    document.documentElement.classList.toggle("large-text", on);
    $("toggle-large").setAttribute("aria-pressed", on ? "true" : "false");
    lsSet(LS_LARGE, on);
    syncBarHeight();
  }

  function load() {
    request("POST", API + "/exams/" + examId + "/attempts", { client_token: clientToken() }).then(function (res) {
      if (res.status !== 200) {
        if (res.status === 409) { window.location.href = resultUrl; return; }
        $("loading").textContent = "试卷载入失败：" + errorMessage(res, "请刷新重试。");
        return;
      }
      var p = res.data;
      if (String(p.attempt_id) !== String(attemptId)) {
        window.location.href = "/exam/attempt/" + p.attempt_id;
        return;
      }
      if (p.status !== "in_progress") { window.location.href = resultUrl; return; }
      state.autosave = p.autosave || null;
      state.questions = p.questions;
      p.questions.forEach(function (q) { state.byId[q.id] = q; });
      state.answers = p.answers || {};
      (p.flagged || []).forEach(function (id) { state.flagged[id] = true; });
      state.deadline = Date.parse(p.deadline);
      // merge what this browser had not yet delivered (newer than the server's copy)
      var seqs = p.answer_seqs || {};
      var local = lsGet(LS_PENDING, {});
      state.seq = Math.max(p.last_seq || 0, lsGet(LS_SEQ, 0));
      Object.keys(local).forEach(function (id) {
        if (!state.byId[id]) return;
        if ((seqs[id] || 0) < local[id].seq) {
          state.pending[id] = local[id];
          state.answers[id] = local[id].answer;
          state.flagged[id] = !!local[id].flagged;
        }
      });
      persistQueue();
      $("loading").hidden = true;
      renderPaper();
      renderCard();
      if (singleMode) { $("pager").hidden = false; goTo(0, false); } else { $("paper-end").hidden = false; }
      tick();
      window.setInterval(tick, 1000);
      if (hasPending()) flush(); else setStatus("saved");
      awayBeforeLoad();
    }, function () {
      $("loading").textContent = "网络异常，试卷载入失败，正在重试……";
      window.setTimeout(load, 2000 + Math.random() * 2000);
    });
  }

  $("open-card").addEventListener("click", openCard);
  $("open-card-end").addEventListener("click", openCard);
  $("card-close").addEventListener("click", function () { closeDialog($("card-dialog")); });
  $("card-dialog").addEventListener("click", function (e) {
    if (e.target === this) closeDialog(this); // a tap on the backdrop
  });
  $("toggle-large").addEventListener("click", function () {
    applyLargeText(!document.documentElement.classList.contains("large-text"));
  });
  $("submit-exam").addEventListener("click", openConfirm);
  $("submit-exam-end").addEventListener("click", openConfirm);
  $("confirm-submit").addEventListener("click", confirmSubmit);
  $("prev-q").addEventListener("click", function () { goTo(state.current - 1, true); });
  $("next-q").addEventListener("click", function () { goTo(state.current + 1, true); });
  window.addEventListener("online", retryNow);
  window.addEventListener("resize", syncBarHeight);
  if (window.ResizeObserver) new window.ResizeObserver(syncBarHeight).observe($("exam-bar"));
  window.addEventListener("beforeunload", function (e) {
    if (hasPending() && !state.closed) {
      e.preventDefault();
      e.returnValue = "";
      return "";
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave("hidden");
    else cameBack(Date.now());
  });
  window.addEventListener("blur", function () { leave("blur"); });
  window.addEventListener("focus", function () { cameBack(Date.now()); });
  document.addEventListener("paste", pasted);

  applyLargeText(!!lsGet(LS_LARGE, false));
  syncBarHeight();
  load();
})();
