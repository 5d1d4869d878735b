/* The console's charts, drawn by the vendored Apache ECharts from the JSON
 * the page carries (json_script), in Chinese where the page is.  Every number
 * is also in the table under each chart.
 * - The overview (backups/engine/metrics.py, includes/core_metrics.html):
 *   daily data backups by outcome, the volume written per day and the
 *   tenants' RPO now.  A link to one of the metrics' lists opens its <details>.
 * - A cluster (backups/engine/cluster_charts.py,
 *   clusters/includes/cluster_charts.html): data backup duration and size per
 *   run (full and incremental apart), the log backup delay per hour, and the
 *   storage each destination holds with its capacity. */
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

  if (!window.echarts) {
    return;
  }
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

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });

  function readData(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var cluster = readData("cluster-chart-data");
  if (cluster) {
    drawCluster(cluster);
  }

  function drawCluster(data) {
    var grid = { left: 8, right: 16, top: 32, bottom: 8, containLabel: true };
    var timeAxis = { type: "time", axisLabel: { hideOverlap: true } };
    var labels = data.labels;

    function perRun(id, values, unit) {
      draw(id, {
        animation: false,
        aria: { enabled: true },
        color: ["#0d6efd", "#fd7e14"],
        tooltip: { trigger: "item" },
        legend: { top: 0 },
        grid: grid,
        xAxis: timeAxis,
        yAxis: { type: "value", name: unit, nameTextStyle: { align: "left" } },
        series: [
          { name: labels.full, type: "line", symbolSize: 6, data: values.full },
          { name: labels.incremental, type: "line", symbolSize: 6, data: values.incremental },
        ],
      });
    }

    perRun("chart-run-duration", data.duration, labels.minutes);
    perRun("chart-run-size", data.size, labels.gib);

    draw("chart-log-delay", {
      animation: false,
      aria: { enabled: true },
      color: ["#6f42c1"],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: grid,
      xAxis: timeAxis,
      yAxis: { type: "value" },
      series: [{ name: labels.delay, type: "line", showSymbol: false, data: data.delay }],
    });

    var palette = ["#198754", "#0d6efd", "#d63384", "#fd7e14", "#20c997", "#6c757d"];
    // The axis reaches the largest capacity, so its line is in view.
    var capacity = Math.max.apply(null, [0].concat(data.storage.map(function (use) { return use.capacity || 0; })));
    draw("chart-storage", {
      animation: false,
      aria: { enabled: true },
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: grid,
      xAxis: { type: "category", data: data.days, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", max: function (extent) { return capacity > extent.max ? Math.ceil(capacity * 1.05) : null; } },
      series: data.storage.map(function (use) {
        var series = { name: use.name, type: "line", showSymbol: false, data: use.gib };
        if (use.capacity) {
          // The capacity as a dashed line at its height, named in its tooltip.
          series.markLine = {
            symbol: "none",
            lineStyle: { type: "dashed" },
            label: { formatter: labels.capacity + " {c}", position: "insideEndTop" },
            data: [{ yAxis: use.capacity }],
          };
        }
        return series;
      }),
    });
  }

  var source = document.getElementById("metrics-chart-data");
  if (!source) {
    return;
  }
  var data = JSON.parse(source.textContent);

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

})();
