// Forms with a cluster and a tenant select (instant backup, backup policy,
// start a restore): offer only the chosen cluster's tenants.  On the restore
// form, choosing a source tenant asks the server for its recoverable
// intervals (the form's "Show recoverable intervals" GET), keeping what was
// typed.  A file, not an inline script, so the Content Security Policy can
// forbid inline scripts.
(function () {
  "use strict";
  function pair(clusterId, tenantId) {
    var cluster = document.getElementById(clusterId), tenant = document.getElementById(tenantId);
    if (!cluster || !tenant) return;
    function filterTenants() {
      tenant.querySelectorAll("option[data-cluster]").forEach(function (option) {
        option.hidden = option.getAttribute("data-cluster") !== cluster.value;
        if (option.hidden && option.selected) tenant.value = "";
      });
    }
    cluster.addEventListener("change", filterTenants);
    filterTenants();
    var show = document.querySelector("[data-show-intervals]");
    if (show && tenant.form && tenant.form.requestSubmit) {
      tenant.addEventListener("change", function () { if (tenant.value) tenant.form.requestSubmit(show); });
    }
  }
  pair("id_cluster", "id_tenant");
  pair("id_source_cluster", "id_source_tenant");
})();
