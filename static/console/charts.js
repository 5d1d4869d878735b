/* The overview's charts (backups/engine/metrics.py, includes/core_metrics.html):
 * daily data backups by outcome, the volume written per day and the tenants'
 * RPO now, drawn by the
 * vendored Apache ECharts from the JSON the page carries (json_script), in
 * Chinese where the page is.  Every number is also in the table under each chart.
 * Also: a link to one of the metrics' lists opens its <details>. */
(function () {
  "use strict";

  function openTarget(id) {
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-opens]");
    if (link) {
      openTarget(link.getAttribute("data-opens"));
    }
  });
  if (window.location.hash) {
    openTarget(window.location.hash.slice(1));
  }

  var source = document.getElementById("metrics-chart-data");
  if (!source || !window.echarts) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var locale = (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0 ? "ZH" : "EN";
  var charts = [];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) {
      return;
    }
    var chart = window.echarts.init(el, null, { locale: locale, renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  var axis = {
    type: "category",
    data: data.days,
    axisLabel: { hideOverlap: true },
  };
  var grid = { left: 8, right: 8, top: 32, bottom: 8, containLabel: true };

  draw("chart-outcomes", {
    animation: false,
    aria: { enabled: true },
    color: ["#198754", "#dc3545"],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: grid,
    xAxis: axis,
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.labels.completed, type: "bar", stack: "outcome", data: data.completed },
      { name: data.labels.failed, type: "bar", stack: "outcome", data: data.failed },
    ],
  });

  draw("chart-volume", {
    animation: false,
    aria: { enabled: true },
    color: ["#0d6efd"],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: grid,
    xAxis: axis,
    yAxis: { type: "value" },
    series: [{ name: data.labels.volume, type: "bar", data: data.gib }],
  });

  draw("chart-rpo", {
    animation: false,
    aria: { enabled: true },
    color: ["#6f42c1"],
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: data.rpo.labels, axisLabel: { interval: 0, rotate: 30, fontSize: 10 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: data.labels.tenants, type: "bar", data: data.rpo.tenants }],
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });
})();
