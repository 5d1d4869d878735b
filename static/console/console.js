// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // A table that scrolls sideways can be scrolled from the keyboard (WCAG 2.1.1).
  document.querySelectorAll(".table-responsive:not([tabindex])").forEach(function (box) {
    box.tabIndex = 0;
  });

  // In a narrow window the tab bar scrolls: show its active tab.
  var activeTab = document.querySelector(".console-tabs .nav-link.active");
  var tabBar = activeTab && activeTab.closest(".console-tabs > .d-flex");
  if (tabBar && tabBar.scrollWidth > tabBar.clientWidth) {
    tabBar.scrollLeft = activeTab.offsetLeft - tabBar.offsetLeft - 16;
  }

  // Selects and status pills apply at once instead of waiting for "Apply".
  document.querySelectorAll("form[data-autosubmit], #filter-form").forEach(function (form) {
    form.addEventListener("change", function (event) {
      var el = event.target;
      if (form.hasAttribute("data-autosubmit") || el.matches("select, .btn-check")) {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });

  // Dates typed into the filter bar make a custom range, and its address
  // says so (without script the list redirects there itself).
  var filterForm = document.getElementById("filter-form");
  if (filterForm) {
    filterForm.addEventListener("submit", function () {
      var start = filterForm.querySelector("#id_start"), end = filterForm.querySelector("#id_end");
      var range = filterForm.querySelector("#id_range");
      if (range && ((start && start.value) || (end && end.value))) range.value = "custom";
    });
  }

  // Typing a start or an end makes "Custom" the highlighted choice at once.
  document.querySelectorAll("#id_start, #id_end").forEach(function (input) {
    input.addEventListener("input", function () {
      var custom = document.querySelector('.range-presets [data-range="custom"]');
      if (!custom || custom.classList.contains("active")) return;
      document.querySelectorAll(".range-presets .active").forEach(function (preset) {
        preset.classList.remove("active");
        preset.removeAttribute("aria-current");
      });
      custom.classList.add("active");
    });
  });

  // "Custom" shows the date inputs as the active choice.
  document.querySelectorAll('[data-range="custom"]').forEach(function (label) {
    label.addEventListener("click", function () {
      var box = document.querySelector(".custom-range");
      if (box) box.classList.add("is-active");
    });
  });

  // OV-3d: the failure reason opens in a modal filled from the clicked button.
  var modal = document.getElementById("reason-modal");
  if (modal) {
    modal.addEventListener("show.bs.modal", function (event) {
      var button = event.relatedTarget;
      if (!button) return;
      modal.querySelector("[data-reason-text]").textContent = button.getAttribute("data-reason");
      modal.querySelector("[data-reason-task]").textContent = "#" + button.getAttribute("data-reason-for");
      modal.querySelector("[data-reason-link]").setAttribute("href", button.getAttribute("href").split("#")[0]);
    });
  }

  // The + expander turns into − while its row is open.  Listened for on the
  // document: a live refresh brings new rows.
  function expanderIcon(row) {
    return document.querySelector('[data-bs-target="#' + row.id + '"] i');
  }
  document.addEventListener("show.bs.collapse", function (event) {
    var icon = event.target.matches(".row-details") && expanderIcon(event.target);
    if (icon) icon.className = "bi bi-dash-square";
  });
  document.addEventListener("hide.bs.collapse", function (event) {
    var icon = event.target.matches(".row-details") && expanderIcon(event.target);
    if (icon) icon.className = "bi bi-plus-square";
  });

  // Buttons that change state ask first.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Live regions (data-live: htmx polls the page's own address and swaps in
  // the fragment, backup_console/live.py).  A refresh waits while it could
  // take something from the operator: a dialog is open, a row is expanded,
  // a field has focus (being typed into), the tab is hidden, a list under a
  // figure (<details>) is open, keyboard focus or a text selection
  // is inside the region, or a field inside it was edited.  Fields outside the region
  // (the filter bar, half a custom range) are never replaced.
  var FIELDS = "input, select, textarea, [contenteditable]";

  function edited(field) {
    if (field.type === "hidden") return false;
    if (field.validity && field.validity.badInput) return true;  // half a date typed
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.options) {
      return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return "defaultValue" in field && field.value !== field.defaultValue;
  }

  function livePaused(region) {
    if (document.hidden) return true;  // nobody is looking: the next tick after the tab returns refreshes
    if (document.body.classList.contains("modal-open") || document.querySelector(".modal.show")) return true;
    if (region.querySelector(".collapse.show, .collapsing, details[open]")) return true;
    // A field in focus anywhere; inside the region, keyboard focus only (a
    // button a dialog handed focus back to after a click holds nothing).
    var active = document.activeElement;
    if (active && active !== document.body &&
        (active.matches(FIELDS) || (region.contains(active) && active.matches(":focus-visible")))) return true;
    var selection = window.getSelection && window.getSelection();
    if (selection && !selection.isCollapsed && region.contains(selection.anchorNode)) return true;
    return Array.prototype.some.call(region.querySelectorAll(FIELDS), edited);
  }

  function liveRegion(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.hasAttribute && elt.hasAttribute("data-live") ? elt : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = liveRegion(event);
    if (region && livePaused(region)) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var region = liveRegion(event);
    if (!region) return;
    var xhr = event.detail.xhr;
    // Only the fragment of this very address: not a sign-in page after the
    // session ended (a redirect), not an error page; and not if the operator
    // opened something while it loaded.
    var path = new URL(region.getAttribute("data-hx-get"), window.location.href).pathname;
    var landed = xhr.responseURL ? new URL(xhr.responseURL).pathname : path;
    var fragment = xhr.status === 200 && landed === path;
    if (!fragment || livePaused(region)) event.detail.shouldSwap = false;
    region.classList.toggle("live-stale", !fragment);
  });
})();
