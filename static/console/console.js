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

  // The + expander turns into − while its row is open.
  document.querySelectorAll(".row-details").forEach(function (row) {
    var button = document.querySelector('[data-bs-target="#' + row.id + '"] i');
    if (!button) return;
    row.addEventListener("show.bs.collapse", function () { button.className = "bi bi-dash-square"; });
    row.addEventListener("hide.bs.collapse", function () { button.className = "bi bi-plus-square"; });
  });

  // Buttons that change state ask first.
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
