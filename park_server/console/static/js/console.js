// zcpark console: live values and charts. Reads what the page carries (data attributes and the
// JSON blocks #chart-data / #chart-labels); computes no figure, only draws and formats them.
(function () {
  "use strict";
  var lang = document.body.getAttribute("data-lang") || "zh";
  var locale = lang === "zh" ? "zh-CN" : "en-GB";

  // the same rule as park_server/console/render.py `number`
  function fmt(v) {
    if (v === null || v === undefined || v === "" || isNaN(Number(v))) return "—";
    v = Number(v);
    var d = Math.abs(v) < 1000 ? 1 : 0;
    return new Intl.NumberFormat(locale, {minimumFractionDigits: d, maximumFractionDigits: d}).format(v);
  }

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function timeIn(tz, ms, withDate) {
    var opts = {timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false};
    if (withDate) { opts.month = "2-digit"; opts.day = "2-digit"; } else { opts.second = "2-digit"; }
    return new Intl.DateTimeFormat(locale, opts).format(new Date(ms));
  }

  // ---- live values (dashboard) ----------------------------------------------------------------
  var live = document.getElementById("live-state");
  var labels = json("chart-labels") || {};
  if (live) {
    var park = live.getAttribute("data-park");
    var tz = live.getAttribute("data-tz");
    var every = Number(live.getAttribute("data-poll-s") || 3) * 1000;
    var poll = function () {
      fetch("/parks/" + encodeURIComponent(park) + "/live.json", {credentials: "same-origin", cache: "no-store"})
        .then(function (r) {
          if (r.status === 401) { live.textContent = labels.signin; live.className = "warn"; every = 60000; return null; }
          if (!r.ok) throw new Error(r.status);
          return r.json();
        })
        .then(function (data) {
          if (!data) return;
          data.latest.forEach(function (v) {
            var sel = '.live[data-meter="' + CSS.escape(v.meter) + '"][data-quantity="' + CSS.escape(v.quantity) + '"]';
            document.querySelectorAll(sel).forEach(function (el) {
              if (el.getAttribute("data-value") !== String(v.value)) {
                el.setAttribute("data-value", String(v.value));
                el.textContent = fmt(v.value) + (el.getAttribute("data-unit") || "");
                el.classList.remove("changed"); void el.offsetWidth; el.classList.add("changed");
              }
            });
            if (v.quantity === "active_power_kw") {
              document.querySelectorAll('[data-meter-ts="' + CSS.escape(v.meter) + '"]').forEach(function (el) {
                el.textContent = timeIn(tz, Date.parse(v.ts), false);
              });
            }
          });
          live.textContent = labels.updated + " " + timeIn(tz, Date.now(), false);
          live.className = "ok";
        })
        .catch(function () { live.textContent = labels.failed; live.className = "warn"; })
        // the next poll starts when this one has ended: a slow server is never asked twice at once
        .then(function () { setTimeout(poll, every); });
    };
    setTimeout(poll, every);
  }

  // ---- charts ---------------------------------------------------------------------------------
  var data = json("chart-data");
  if (!data || typeof echarts === "undefined") return;
  var charts = [];
  var tzName = data.tz;
  var axisTime = {type: "time", axisLabel: {formatter: function (v) { return timeIn(tzName, v, true); }, hideOverlap: true}};
  var grid = {left: 64, right: 56, top: 36, bottom: 28};
  var tooltip = {trigger: "axis", valueFormatter: function (v) { return fmt(v); },
                 axisPointer: {label: {formatter: function (p) { return timeIn(tzName, p.value, true); }}}};

  // a power axis with room above its largest value: a forecast capped at the plant's capacity
  // would otherwise run along the plot's top edge, as if cut off
  function roomAbove(v) {
    var top = v.max * 1.08;
    if (!(top > 0)) return v.max;
    var unit = Math.pow(10, Math.floor(Math.log10(top)));
    var step = top / unit >= 3 ? unit : unit / 2;  // on the axis's own ticks: no crowded top label
    return Math.ceil(top / step) * step;
  }

  function make(el, option) {
    var c = echarts.init(el, null, {renderer: "canvas"});
    c.setOption(option);
    charts.push(c);
  }

  document.querySelectorAll('[data-chart="forecast"]').forEach(function (el) {
    var f = data.forecasts[el.getAttribute("data-target")];
    var ts = f.points.map(function (p) { return Date.parse(p.ts); });
    make(el, {
      animation: false, grid: grid, tooltip: tooltip,
      legend: {top: 0, data: [labels.measured, labels.p50, labels.band]},
      xAxis: axisTime, yAxis: {type: "value", max: roomAbove, axisLabel: {formatter: fmt}},
      series: [
        // the band: P90 filled, then P10 filled with the background on top of it
        {name: labels.band, type: "line", symbol: "none", lineStyle: {width: 0}, color: "rgba(46,125,200,0.45)",
         areaStyle: {color: "rgba(46,125,200,0.22)", opacity: 1}, z: 1,
         data: f.points.map(function (p, i) { return [ts[i], p.p90]; })},
        {name: labels.band + " P10", type: "line", symbol: "none", lineStyle: {width: 0}, color: "#fff",
         areaStyle: {color: "#fff", opacity: 1}, z: 2, tooltip: {show: false},
         data: f.points.map(function (p, i) { return [ts[i], p.p10]; })},
        {name: labels.p50, type: "line", symbol: "none", color: "#2e7dc8", z: 3, lineStyle: {type: "dashed", width: 2},
         data: f.points.map(function (p, i) { return [ts[i], p.p50]; })},
        {name: labels.measured, type: "line", symbol: "none", color: "#1b5e20", z: 4, lineStyle: {width: 2},
         data: f.actual}
      ]
    });
  });

  var planEl = document.querySelector('[data-chart="plan"]');
  if (planEl && data.plan) {
    var start = Date.parse(data.plan.start), step = data.plan.interval_minutes * 60000;
    var at = function (arr) { return arr.map(function (v, i) { return [start + i * step, v]; }); };
    var s = data.plan.series, series = [];
    if (s.grid_import_kw) series.push({name: labels.grid_import_kw, type: "line", step: "start", symbol: "none", data: at(s.grid_import_kw)});
    Object.keys(s.storage || {}).forEach(function (k) {
      series.push({name: k + " " + labels.charge_kw, type: "line", step: "start", symbol: "none", data: at(s.storage[k].charge_kw)});
      series.push({name: k + " " + labels.discharge_kw, type: "line", step: "start", symbol: "none", data: at(s.storage[k].discharge_kw)});
      series.push({name: k + " " + labels.soc, type: "line", symbol: "none", yAxisIndex: 1, lineStyle: {type: "dotted"}, data: at(s.storage[k].soc)});
    });
    Object.keys(s.flexible_loads || {}).forEach(function (k) {
      series.push({name: k + " " + labels.kw, type: "line", step: "start", symbol: "none", data: at(s.flexible_loads[k].kw)});
    });
    make(planEl, {
      animation: false, grid: {left: 64, right: 48, top: 56, bottom: 28}, tooltip: tooltip,
      legend: {top: 0, type: "scroll"}, xAxis: axisTime,
      yAxis: [{type: "value", max: roomAbove, axisLabel: {formatter: fmt}}, {type: "value", min: 0, max: 1, splitLine: {show: false}}],
      series: series
    });
  }

  document.querySelectorAll('[data-chart="accuracy"]').forEach(function (el) {
    var rows = data.accuracy[el.getAttribute("data-target")];
    var days = rows.map(function (r) { return r.date; });
    make(el, {
      animation: false, grid: {left: 56, right: 56, top: 36, bottom: 28},
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + " %"; }},
      legend: {top: 0},
      xAxis: {type: "category", data: days},
      yAxis: [{type: "value", name: "nMAE", max: roomAbove, axisLabel: {formatter: function (v) { return +(100 * v).toFixed(1) + " %"; }}},
              {type: "value", min: 0, max: 1, splitLine: {show: false}, axisLabel: {formatter: function (v) { return +(100 * v).toFixed(1) + " %"; }}}],
      series: [
        {name: labels.nmae, type: "bar", color: "#2e7dc8", data: rows.map(function (r) { return r.nmae; })},
        {name: labels.coverage, type: "line", yAxisIndex: 1, color: "#e08a00", connectNulls: false,
         data: rows.map(function (r) { return r.coverage_p10_p90; }),
         markLine: {symbol: "none", silent: true, lineStyle: {type: "dashed", color: "#999"},
                    label: {formatter: labels.target_coverage, position: "insideStartTop"}, data: [{yAxis: 0.8}]}}
      ]
    });
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
