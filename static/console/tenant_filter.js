// Forms with a cluster and a tenant select (instant backup, backup policy):
// offer only the chosen cluster's tenants.  A file, not an inline script, so
// the Content Security Policy can forbid inline scripts.
(function () {
  "use strict";
  var cluster = document.getElementById("id_cluster"), tenant = document.getElementById("id_tenant");
  function filterTenants() {
    if (!cluster || !tenant) return;
    tenant.querySelectorAll("option[data-cluster]").forEach(function (option) {
      option.hidden = option.getAttribute("data-cluster") !== cluster.value;
      if (option.hidden && option.selected) tenant.value = "";
    });
  }
  if (cluster) cluster.addEventListener("change", filterTenants);
  filterTenants();
})();
