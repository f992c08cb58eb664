// simap workbench: keyboard shortcuts, evidence selection, import progress. No dependencies.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const cards = $$(".code-card");
  let current = -1;
  let selection = null; // {field, start, end, text}

  function focusCard(i) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach((c, j) => c.classList.toggle("focused", j === current));
    const code = cards[current].dataset.code;
    $$("mark.ev").forEach((m) => {
      const has = (m.dataset.codes || "").split(" ").includes(code);
      m.classList.toggle("focus", has);
      m.classList.toggle("dim", !has);
      m.classList.toggle("phrase-focus", has && (m.dataset.phrase || "").split(" ").includes(code));
    });
    scrollWithin(cards[current], ".codes");
    const first = $$("mark.ev.focus")[0];
    if (first) scrollWithin(first, ".texts");
    history.replaceState(null, "", "#c-" + code);
  }

  function flash(text) {
    const box = $("#flash");
    if (!box) return;
    box.textContent = text; box.hidden = false;
    clearTimeout(flash.timer); flash.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  // Scroll only the pane holding ``el`` (never the window, so the title stays where it is).
  function scrollWithin(el, paneSel) {
    const pane = el.closest(paneSel);
    if (!pane) { el.scrollIntoView({ block: "nearest" }); return; }
    const p = pane.getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.top < p.top) pane.scrollTop -= p.top - r.top + 8;
    else if (r.bottom > p.bottom) pane.scrollTop += r.bottom - p.bottom + 8;
  }

  function submitCard(action) {
    if (current < 0) return;
    const form = $("form.decide", cards[current]);
    if (!form) return;
    if (action === "span" && cards[current].classList.contains("mine-rejected")) {
      flash("You rejected " + cards[current].dataset.code + ": accept it first (a), then attach the selection (e).");
      return;
    }
    const button = form.querySelector('button[value="' + action + '"]');
    if (button && !button.disabled) button.click();
  }

  // Offsets of the current selection inside one .doc-text (its text content is the stored text).
  function readSelection() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    const range = sel.getRangeAt(0);
    const box = range.startContainer.parentElement && range.startContainer.parentElement.closest(".doc-text");
    if (!box || !box.contains(range.endContainer)) return null;
    const before = document.createRange();
    before.selectNodeContents(box);
    before.setEnd(range.startContainer, range.startOffset);
    const start = before.toString().length;
    const text = range.toString();
    return { field: box.dataset.field, start: start, end: start + text.length, text: text };
  }

  function fillSpan(form, s) {
    form.querySelector('[name="field"]').value = s ? s.field : "";
    form.querySelector('[name="start"]').value = s ? s.start : "";
    form.querySelector('[name="end"]').value = s ? s.end : "";
  }

  document.addEventListener("selectionchange", function () {
    const s = readSelection();
    if (!s && selection && document.activeElement && document.activeElement.tagName === "INPUT") return;
    selection = s;
    $$(".span-btn").forEach((b) => (b.disabled = !s || b.hasAttribute("data-rejected")));
    const add = $("#add-code");
    if (add && s) fillSpan(add, s);
    const preview = $("#selection-preview");
    if (preview) preview.textContent = s ? "Evidence: “" + s.text.slice(0, 160) + "”" : "";
  });

  $$("form.decide").forEach((form) => {
    form.addEventListener("submit", function (ev) {
      const btn = ev.submitter;
      if (btn && btn.value === "span") {
        if (!selection) { ev.preventDefault(); return; }
        fillSpan(form, selection);
      }
    });
  });

  cards.forEach((card, i) => card.addEventListener("click", (ev) => {
    if (!ev.target.closest("button, input, select, summary, a")) focusCard(i);
  }));

  $$(".quotes li").forEach((li) => li.addEventListener("click", () => {
    const box = $('.doc-text[data-field="' + CSS.escape(li.dataset.field) + '"]');
    if (box) box.scrollIntoView({ block: "center" });
  }));

  $$("[data-confirm]").forEach((form) => form.addEventListener("submit", (ev) => {
    if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
  }));

  $$("select[data-autosubmit]").forEach((s) => s.addEventListener("change", () => s.form.submit()));
  $$("a[data-back]").forEach((a) => a.addEventListener("click", (ev) => {
    if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
  }));

  $$("[data-show-help]").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault(); $("#help").hidden = !$("#help").hidden;
  }));

  document.addEventListener("keydown", function (ev) {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    switch (ev.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current - 1); break;
      case "a": submitCard("accept"); break;
      case "r": submitCard("reject"); break;
      case "e": submitCard("span"); break;
      case "u": { const undo = $("#undo-form"); if (undo) undo.submit(); break; }
      case "n": { const next = $("#next-venture"); if (next) next.click(); break; }
      case "/": { const s = $("#search"); if (s) { ev.preventDefault(); s.focus(); } else { window.location = "/ventures"; } break; }
      case "?": $("#help").hidden = !$("#help").hidden; break;
      default: return;
    }
  });

  $$("[data-goto]").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    const i = cards.findIndex((c) => c.dataset.code === a.dataset.goto);
    if (i >= 0) focusCard(i);
  }));

  // Keep the focused code after a decision (the page comes back with #c-<code>), without the
  // browser's jump to the anchor: the title and the text stay in view, only the codes scroll.
  if (cards.length) {
    const hash = decodeURIComponent(window.location.hash || "");
    const i = cards.findIndex((c) => "#c-" + c.dataset.code === hash);
    const head = $(".venture-head");
    if (head) document.documentElement.style.setProperty("--head-h", head.offsetHeight + "px");
    const top = $("header.top");
    if (top) document.documentElement.style.setProperty("--top-h", top.offsetHeight + "px");
    window.scrollTo(0, 0);
    focusCard(i >= 0 ? i : 0);
    window.scrollTo(0, 0);
    window.addEventListener("load", () => window.scrollTo(0, 0)); // after the browser's anchor jump
  }

  // Map: poll the build until it is ready, then open it.
  const building = $("#map-building");
  if (building && building.dataset.state === "building") {
    const pollMap = function () {
      fetch("/map/status?" + building.dataset.query, { headers: { Accept: "application/json" } })
        .then((r) => r.json())
        .then((m) => {
          $(".map-stage", building).textContent = m.stage;
          $(".map-seconds", building).textContent = m.seconds;
          if (m.state === "ready") { window.location.reload(); return; }
          if (m.state === "failed") {
            const e = $(".map-error", building); e.hidden = false; e.textContent = m.error;
            $(".bar", building).classList.remove("busy");
            return;
          }
          setTimeout(pollMap, 400);
        })
        .catch(() => setTimeout(pollMap, 1500));
    };
    setTimeout(pollMap, 200);
  }

  // Import progress: poll the job until it ends.
  const job = $("#job");
  if (job && (job.dataset.state === "queued" || job.dataset.state === "running")) {
    const poll = function () {
      fetch("/api/jobs/" + job.dataset.job, { headers: { Accept: "application/json" } })
        .then((r) => r.json())
        .then((j) => {
          $(".job-state", job).textContent = j.state;
          $(".job-stage", job).textContent = j.stage;
          $(".job-seconds", job).textContent = j.seconds;
          const bar = $(".bar", job);
          bar.firstElementChild.style.width = Math.round(j.progress * 100) + "%";
          if (j.state === "done" || j.state === "failed") {
            bar.classList.remove("busy");
            if (j.state === "done") {
              window.location.reload(); // the page shows the result and what to do next
              return;
            } else {
              const e = $(".job-error", job); e.hidden = false; e.textContent = j.error;
            }
            job.dataset.state = j.state;
          } else {
            setTimeout(poll, 500);
          }
        })
        .catch(() => setTimeout(poll, 2000));
    };
    setTimeout(poll, 300);
  }
})();
