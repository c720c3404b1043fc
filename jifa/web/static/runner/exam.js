/* The exam paper page. Vanilla JS, no framework, no CDN.
 *
 * - The paper and saved answers come from the server (start-or-resume), so a reload or
 *   another device resumes with every saved answer and the true time left.
 * - Every change is queued with a per-attempt sequence number, kept in localStorage
 *   until the server confirms it, and sent (debounced) one at a time; network errors
 *   retry with exponential backoff plus jitter, and the queue survives reconnects and
 *   reloads. The server ignores a save older than the one it holds.
 * - The countdown follows the server's clock: the offset is measured at load and on
 *   every save. Warnings at 5 and 1 minutes are announced once via an aria-live region.
 * - All question text is inserted with textContent (never innerHTML).
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
    flushTimer: null,
    current: 0,
    closed: false,
    submitting: false,
    warned5: false,
    warned1: false,
    lastEvent: {}
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
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function clientToken() {
    var t = lsGet(LS_TOKEN, null);
    if (!t) {
      var bytes = new Uint8Array(16);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      t = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      lsSet(LS_TOKEN, t);
    }
    return t;
  }
  function persistQueue() {
    lsSet(LS_PENDING, state.pending);
    lsSet(LS_SEQ, state.seq);
  }

  // ------------------------------------------------------------ network
  function measure(serverIso, t0, t1) {
    var server = Date.parse(serverIso);
    if (!isNaN(server)) state.offset = server - (t0 + t1) / 2;
  }
  function request(method, url, body) {
    var t0 = Date.now();
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (resp) {
      var t1 = Date.now();
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (data && data.server_time) measure(data.server_time, t0, t1);
        return { status: resp.status, data: data };
      });
    });
  }

  // ------------------------------------------------------------ status display
  function setStatus(kind, text) {
    var el = $("save-status");
    el.dataset.state = kind;
    el.textContent = text || { saved: "已保存", saving: "保存中", unsaved: "未保存" }[kind];
  }
  function announce(text) {
    var live = $("announcer");
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
    var warn = $("warning");
    warn.textContent = text;
    warn.hidden = false;
  }
  function hasPending() {
    return state.inflight !== null || Object.keys(state.pending).length > 0;
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
  function queue(id, delay) {
    state.seq += 1;
    var a = state.answers[id];
    state.pending[id] = { answer: a === undefined ? null : a, flagged: !!state.flagged[id], seq: state.seq };
    persistQueue();
    setStatus("unsaved", "未保存");
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
    request("PUT", API + "/attempts/" + attemptId + "/answers/" + id, item).then(function (res) {
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
        setStatus("unsaved", "未保存：登录已失效，请重新登录后继续（答案已暂存在本机）");
        retryLater();
      } else {
        retryLater();
      }
    }, function () {
      state.inflight = null;
      retryLater();
    });
  }
  function retryLater() {
    if (state.closed) return;
    state.retryDelay = Math.min(30000, state.retryDelay ? state.retryDelay * 2 : 1000);
    var wait = state.retryDelay * (0.5 + Math.random()); // jitter spreads reconnect bursts
    setStatus("unsaved", "未保存（网络异常，" + Math.ceil(wait / 1000) + " 秒后重试）");
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

  // ------------------------------------------------------------ rendering
  var TYPE_LABELS = { single: "单选题", multiple: "多选题", true_false: "判断题", fill_blank: "填空题" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderQuestion(q) {
    var box = el("section", { "class": "question", id: "q-" + q.id, "data-qid": q.id, tabindex: "-1",
      "aria-labelledby": "qh-" + q.id });
    var h = el("h2", { id: "qh-" + q.id }, "第 " + q.number + " 题（" + TYPE_LABELS[q.type] + "，" + q.points + " 分）");
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
          queue(q.id, 150);
        });
        label.appendChild(input);
        label.appendChild(el("span", {}, o.key + ". " + o.text));
        fs.appendChild(label);
      });
    } else if (q.type === "true_false") {
      [[true, "正确"], [false, "错误"]].forEach(function (pair) {
        var label = el("label", { "class": "choice" });
        var input = el("input", { type: "radio", name: "q-" + q.id, value: String(pair[0]) });
        if (current === pair[0]) input.checked = true;
        input.addEventListener("change", function () { state.answers[q.id] = pair[0]; queue(q.id, 150); });
        label.appendChild(input);
        label.appendChild(el("span", {}, pair[1]));
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
    box.appendChild(fs);
    var flag = el("button", { type: "button", "class": "flag", "aria-pressed": state.flagged[q.id] ? "true" : "false" },
      state.flagged[q.id] ? "取消标记" : "标记待检查");
    flag.addEventListener("click", function () {
      state.flagged[q.id] = !state.flagged[q.id];
      flag.setAttribute("aria-pressed", state.flagged[q.id] ? "true" : "false");
      flag.textContent = state.flagged[q.id] ? "取消标记" : "标记待检查";
      queue(q.id, 0);
    });
    box.appendChild(flag);
    return box;
  }

  function renderNav() {
    var list = $("nav-list");
    list.textContent = "";
    state.questions.forEach(function (q, idx) {
      var li = el("li");
      var b = el("button", { type: "button", "data-qid": q.id }, String(q.number));
      b.addEventListener("click", function () { goTo(idx, true); });
      li.appendChild(b);
      list.appendChild(li);
    });
    updateNav();
  }
  function updateNav() {
    state.questions.forEach(function (q, idx) {
      var b = $("nav-list").querySelector('button[data-qid="' + q.id + '"]');
      if (!b) return;
      var answered = isAnswered(q);
      b.classList.toggle("answered", answered);
      b.classList.toggle("flagged", !!state.flagged[q.id]);
      b.classList.toggle("current", singleMode && idx === state.current);
      b.setAttribute("aria-label", "第 " + q.number + " 题，" + (answered ? "已答" : "未答") +
        (state.flagged[q.id] ? "，已标记" : ""));
    });
  }
  function goTo(idx, focus) {
    if (idx < 0 || idx >= state.questions.length) return;
    state.current = idx;
    var target = $("q-" + state.questions[idx].id);
    if (singleMode) {
      document.querySelectorAll("#questions .question").forEach(function (s) { s.hidden = s !== target; });
      $("pager-pos").textContent = (idx + 1) + " / " + state.questions.length;
      $("prev-q").disabled = idx === 0;
      $("next-q").disabled = idx === state.questions.length - 1;
      updateNav();
    } else {
      target.scrollIntoView({ block: "start" });
    }
    if (focus) target.focus();
  }

  // ------------------------------------------------------------ countdown
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var left = Math.max(0, state.deadline - (Date.now() + state.offset));
    var s = Math.floor(left / 1000);
    var text = (s >= 3600 ? Math.floor(s / 3600) + ":" : "") + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
    var cd = $("countdown");
    cd.textContent = text;
    cd.classList.toggle("low", left <= 300000);
    if (left <= 60000 && !state.warned1) {
      state.warned1 = state.warned5 = true;
      announce("注意：剩余时间不足 1 分钟，时间到后将自动交卷。");
    } else if (left <= 300000 && !state.warned5) {
      state.warned5 = true;
      announce("注意：剩余时间不足 5 分钟。");
    }
    if (left <= 0 && !state.closed && !state.submitting) autoSubmit();
  }

  // ------------------------------------------------------------ submit
  function doSubmit() {
    state.submitting = true;
    return request("POST", API + "/attempts/" + attemptId + "/submit").then(function (res) {
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
      doSubmit().then(function (ok) {
        if (!ok) window.setTimeout(autoSubmit, 3000 * (0.5 + Math.random()));
      });
    });
  }
  function closeAttempt(message) {
    state.closed = true;
    setStatus("unsaved", message);
    announce(message);
    window.setTimeout(function () { window.location.href = resultUrl; }, 2500);
  }
  function openConfirm() {
    var missing = state.questions.filter(function (q) { return !isAnswered(q); });
    var flagged = state.questions.filter(function (q) { return state.flagged[q.id]; });
    $("confirm-summary").textContent = missing.length
      ? "还有 " + missing.length + " 道题未作答：" + (flagged.length ? "（另有 " + flagged.length + " 道题已标记待检查）" : "")
      : "所有题目均已作答。" + (flagged.length ? "有 " + flagged.length + " 道题已标记待检查。" : "") + "交卷后不能再修改。";
    var list = $("confirm-unanswered");
    list.textContent = "";
    missing.forEach(function (q) { list.appendChild(el("li", { "class": "badge" }, "第 " + q.number + " 题")); });
    $("confirm-error").hidden = true;
    var dlg = $("confirm-dialog");
    if (dlg.showModal) dlg.showModal(); else dlg.setAttribute("open", "");
  }
  function confirmSubmit() {
    var btn = $("confirm-submit");
    btn.disabled = true;
    drain(8000).then(function (saved) {
      if (!saved) {
        btn.disabled = false;
        $("confirm-error").textContent = "仍有答案未保存（网络异常），请检查网络后再交卷；答案已暂存在本机。";
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

  // ------------------------------------------------------------ integrity signals
  function signal(kind) {
    if (state.closed) return;
    var now = Date.now();
    if (state.lastEvent[kind] && now - state.lastEvent[kind] < 3000) return;
    state.lastEvent[kind] = now;
    try {
      fetch(API + "/attempts/" + attemptId + "/events", {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind: kind })
      }).catch(function () { /* evidence only; never blocks the candidate */ });
    } catch (e) { /* ignore */ }
  }

  // ------------------------------------------------------------ start
  function applyLargeText(on) {
    document.body.classList.toggle("large-text", on);
    $("toggle-large").setAttribute("aria-pressed", on ? "true" : "false");
    lsSet(LS_LARGE, on);
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
      var container = $("questions");
      p.questions.forEach(function (q) { container.appendChild(renderQuestion(q)); });
      renderNav();
      if (singleMode) { $("pager").hidden = false; $("nav-panel").hidden = false; goTo(0, false); }
      tick();
      window.setInterval(tick, 1000);
      if (hasPending()) flush(); else setStatus("saved");
    }, function () {
      $("loading").textContent = "网络异常，试卷载入失败，正在重试……";
      window.setTimeout(load, 2000 + Math.random() * 2000);
    });
  }

  $("toggle-nav").addEventListener("click", function () {
    var panel = $("nav-panel");
    panel.hidden = !panel.hidden;
    this.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
  });
  $("toggle-large").addEventListener("click", function () {
    applyLargeText(!document.body.classList.contains("large-text"));
  });
  $("submit-exam").addEventListener("click", openConfirm);
  $("confirm-submit").addEventListener("click", confirmSubmit);
  $("prev-q").addEventListener("click", function () { goTo(state.current - 1, true); });
  $("next-q").addEventListener("click", function () { goTo(state.current + 1, true); });
  window.addEventListener("online", retryNow);
  window.addEventListener("beforeunload", function (e) {
    if (hasPending() && !state.closed) {
      e.preventDefault();
      e.returnValue = "";
      return "";
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") signal("page_hidden");
  });
  window.addEventListener("blur", function () { signal("focus_lost"); });
  document.addEventListener("paste", function () { signal("paste"); });

  applyLargeText(!!lsGet(LS_LARGE, false));
  load();
})();
