// The usage page's chart: reads its figures from the JSON block the page carries
// (#usage-chart-data, no inline script) and draws them with the vendored Chart.js, stacked
// bars in the theme's colours; redrawn when the theme changes; the arrow keys walk its
// days. The same figures are the table beside it.
(function () {
  "use strict";

  function themeColour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function draw(canvas, data, previous) {
    if (previous) previous.destroy();
    const spend = data.metric === "spend";
    const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
    const count = new Intl.NumberFormat("en-US");
    const show = (value) => (spend ? money.format(value) : count.format(value));
    const colours = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5"];
    const text = themeColour("--muted");
    const grid = themeColour("--chart-grid");
    const datasets = data.series.map((series, i) => ({
      label: series.label,
      data: series.values,
      backgroundColor: themeColour(i < colours.length ? colours[i] : "--chart-other"),
      borderWidth: 0,
    }));
    // The last series is "other" when there are more than five.
    if (data.series.length > colours.length) {
      datasets[datasets.length - 1].backgroundColor = themeColour("--chart-other");
    }
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.days, datasets: datasets },
      options: {
        animation: reduced ? false : { duration: 300 },
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
          y: { stacked: true, ticks: { color: text, callback: show }, grid: { color: grid } },
        },
        plugins: {
          legend: { position: "bottom", labels: { color: themeColour("--text"), boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${show(item.parsed.y)}`,
              footer: (items) => `Total: ${show(items.reduce((sum, item) => sum + item.parsed.y, 0))}`,
            },
          },
        },
      },
    });
  }

  function start() {
    const canvas = document.getElementById("usage-chart");
    const source = document.getElementById("usage-chart-data");
    if (!canvas || !source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    let chart = draw(canvas, data, null);
    canvas.dataset.drawn = "true";
    // Keyboard: focus the chart, then the arrow keys walk the days, each showing its figures.
    let day = -1;
    canvas.tabIndex = 0;
    canvas.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      day = Math.min(data.days.length - 1, Math.max(0, day + step));
      const active = data.series.map((_, i) => ({ datasetIndex: i, index: day }));
      const bar = chart.getDatasetMeta(0).data[day];
      chart.tooltip.setActiveElements(active, { x: bar.x, y: bar.y });
      chart.setActiveElements(active);
      chart.update();
    });
    canvas.addEventListener("blur", () => {
      chart.tooltip.setActiveElements([], { x: 0, y: 0 });
      chart.setActiveElements([]);
      chart.update();
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      chart = draw(canvas, data, chart);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
