// Backup policy form: show the schedule editor of the chosen kind (weekly or
// monthly); both are posted.
(function () {
  "use strict";
  var radios = document.querySelectorAll("input[name='schedule_kind']");
  function show() {
    var kind = (document.querySelector("input[name='schedule_kind']:checked") || {}).value || "weekly";
    document.querySelectorAll("[data-schedule]").forEach(function (el) {
      el.hidden = el.getAttribute("data-schedule") !== kind;
    });
  }
  radios.forEach(function (radio) { radio.addEventListener("change", show); });
  show();
})();
