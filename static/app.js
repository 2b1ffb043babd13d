// Winnow: htmx set-up (CSRF header, error swaps, upload progress) and the keyboard shortcuts.
// No inline scripts anywhere: everything the pages do in JavaScript is here.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Swap the fragments the server sends with 4xx answers (field errors, conflicts, refusals);
  // they are meant to be read. 5xx stays an error.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true }
    ];
  }
  document.addEventListener("htmx:beforeRequest", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.innerHTML = "";
  });

  // Upload progress: htmx relays the XMLHttpRequest's upload progress events.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("[data-upload-progress]") : null;
    if (!form || !event.detail.lengthComputable) return;
    var bar = document.querySelector(form.getAttribute("data-upload-progress"));
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    if (bar) bar.value = percent;
    var label = form.querySelector("[data-upload-label]");
    if (label) label.textContent = percent < 100 ? "uploading… " + percent + "%" : "importing… (checking every line)";
  });

  // ---- keyboard -------------------------------------------------------------------------
  function typing(target) {
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]")); }
  function currentItem() { return document.querySelector("[data-queue-item].current"); }

  function select(item) {
    items().forEach(function (el) { el.classList.remove("current"); el.removeAttribute("aria-current"); });
    if (!item) return;
    item.classList.add("current");
    item.setAttribute("aria-current", "true");
    item.scrollIntoView({ block: "nearest" });
    var queue = document.getElementById("queue");
    if (queue) queue.setAttribute("data-current", item.getAttribute("data-finding-id"));
  }

  function move(step) {
    var list = items();
    var index = list.indexOf(currentItem());
    var next = list[index + step];
    if (next) { select(next); return; }
    // Past the end of this page: the next or previous page of the queue, as a fragment.
    var link = document.querySelector(step > 0 ? "[data-queue-next]" : "[data-queue-prev]");
    if (link && window.htmx) htmx.trigger(link, "click");
  }

  function act(action, label) {
    var item = currentItem();
    if (!item || !window.htmx) return;
    var queue = document.getElementById("queue");
    var values = { action: action, finding_id: item.getAttribute("data-finding-id"),
                   offset: queue.getAttribute("data-offset") || "0", q: queue.getAttribute("data-q") || "" };
    if (label !== undefined) values.label = label;
    htmx.ajax("POST", queue.getAttribute("data-action-url"), { target: "#queue", swap: "outerHTML", values: values });
  }

  function edit() {
    var item = currentItem();
    var link = item && item.querySelector("[data-edit]");
    if (link) { if (window.htmx && link.hasAttribute("hx-get")) htmx.trigger(link, "click"); else link.click(); }
  }

  function clickIn(root, selector) {
    var button = root && root.querySelector(selector);
    if (button && window.htmx) { htmx.trigger(button, "click"); return true; }
    return false;
  }

  function focusLabelSearch() {
    var item = currentItem();
    var field = item && item.querySelector("[data-label-search]");
    if (field) { field.focus(); return true; }
    return false;
  }

  function toggleSelected() {
    var item = currentItem();
    var box = item && item.querySelector('input[type="checkbox"][name="finding_ids"]');
    if (box) box.checked = !box.checked;
  }

  function showShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-toggle]")) { showShortcuts(); return; }
    var item = event.target.closest("[data-queue-item]");
    if (item && !event.target.closest("a, button, input, textarea, select, label")) select(item);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // The label field of a queue item: Enter applies the typed label (one of the dataset's, or a new one).
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-label-search]")) {
      event.preventDefault();
      var typed = event.target.value.trim();
      if (typed) { event.target.blur(); act("label", typed); }
      return;
    }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) return;
    if (event.key === "?") { event.preventDefault(); showShortcuts(); return; }
    if (event.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (!document.getElementById("queue")) return;
    var key = event.key;
    var handled = true;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "a") act("accept");
    else if (key === "r") act("reject");
    else if (key === "d") act("dismiss");
    else if (key === "e") edit();
    else if (key === "s" && currentItem() && currentItem().querySelector("[data-swap]")) act("swap");
    else if (key === "x") toggleSelected();
    else if (key === "u") handled = clickIn(document.getElementById("notice"), "[data-undo]");
    else if (key === "l") handled = focusLabelSearch();
    else if (event.shiftKey && /^Digit[1-9]$/.test(event.code)) {
      handled = clickIn(currentItem(), '[data-keep-key="' + event.code.slice(5) + '"]');
    }
    else if (/^[1-9]$/.test(key)) {
      var item = currentItem();
      var option = item && item.querySelector('[data-label-key="' + key + '"]');
      if (option) act("label", option.getAttribute("data-label")); else handled = false;
    } else handled = false;
    if (handled) event.preventDefault();
  });

  // A result that arrives below the fold (an export's outcome) is scrolled into view.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "export-outcome" && target.firstElementChild) {
      target.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  });

  // After the queue is swapped in, keep the cursor on the item the server marked current.
  document.addEventListener("htmx:afterSettle", function () {
    var item = document.querySelector("[data-queue-item].current") || items()[0];
    if (item) select(item);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var item = document.querySelector("[data-queue-item].current") || items()[0];
    if (item) select(item);
  });
})();
