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
    });
    cards[current].scrollIntoView({ block: "nearest" });
    const first = $$("mark.ev.focus")[0];
    if (first) first.scrollIntoView({ block: "nearest" });
    history.replaceState(null, "", "#c-" + code);
  }

  function submitCard(action) {
    if (current < 0) return;
    const form = $("form.decide", cards[current]);
    if (!form) return;
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
    $$(".span-btn").forEach((b) => (b.disabled = !s));
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
      case "n": { const next = $("#next-venture") || (cards.length ? null : null); if (next) next.click(); break; }
      case "/": { const s = $("#search"); if (s) { ev.preventDefault(); s.focus(); } else { window.location = "/ventures"; } break; }
      case "?": $("#help").hidden = !$("#help").hidden; break;
      default: return;
    }
  });

  // Keep the focused code after a decision (the page comes back with #c-<code>).
  if (cards.length) {
    const hash = decodeURIComponent(window.location.hash || "");
    const i = cards.findIndex((c) => "#c-" + c.dataset.code === hash);
    focusCard(i >= 0 ? i : 0);
  }

  // Import progress: poll the job until it ends.
  const job = $("#job");
  if (job && (job.dataset.state === "queued" || job.dataset.state === "running")) {
    const poll = function () {
      fetch("/api/imports/" + job.dataset.job, { headers: { Accept: "application/json" } })
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
              const r = j.result;
              $(".job-result", job).textContent = r.created + " new, " + r.updated + " updated, " + r.unchanged +
                " unchanged; " + r.segments + " new sentences.";
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
