// Backup policy form: show the schedule editor of the chosen kind (weekly or
// monthly); both are posted.  Physical backups always keep log backup on:
// while physical is chosen the log-backup checkbox is ticked and locked, and
// its hidden twin posts "on" (the server checks it either way).
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

  var logBox = document.querySelector("input[type='checkbox'][name='log_backup_enabled']");
  var logOn = document.querySelector("input[type='hidden'][name='log_backup_enabled'][data-locked-on]");
  function lockLogBackup() {
    var method = (document.querySelector("input[name='backup_method']:checked") || {}).value;
    var locked = method === "physical";
    if (locked) { logBox.checked = true; }
    logBox.disabled = locked;
    logOn.disabled = !locked;
  }
  if (logBox && logOn) {
    document.querySelectorAll("input[name='backup_method']").forEach(function (radio) {
      radio.addEventListener("change", lockLogBackup);
    });
    lockLogBackup();
  }
})();
