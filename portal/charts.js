// Charts drawn as SVG by hand: a time series of one or more lines, and horizontal bars. Every
// drawn point carries data-value so a test (or a person with the inspector) can read it.

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f4fd1", "#d1541f", "#1f9d55", "#8a3fd1", "#c79100"];

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// lines: [{name, points: [[t_ms, y], ...]}]. Returns a <figure>.
export function lineChart(title, lines, { unit = "", height = 180 } = {}) {
  const width = 560;
  const pad = { l: 52, r: 12, t: 12, b: 28 };
  const all = lines.flatMap((l) => l.points);
  const fig = document.createElement("figure");
  fig.className = "chart";
  fig.dataset.chart = title;
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(cap);
  if (!all.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No data in this range.";
    fig.append(p);
    return fig;
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 60000, x1 + 60000];
  const y1 = Math.max(...ys, 0) || 1;
  const sx = (x) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const sy = (y) => height - pad.b - (y / y1) * (height - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  for (const f of [0, 0.5, 1]) {
    const y = sy(y1 * f);
    root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: pad.l - 6, y: y + 4, "text-anchor": "end", class: "axis" }, short(y1 * f) + unit));
  }
  root.append(svg("text", { x: pad.l, y: height - 8, class: "axis" }, new Date(x0).toLocaleTimeString()));
  root.append(svg("text", { x: width - pad.r, y: height - 8, "text-anchor": "end", class: "axis" }, new Date(x1).toLocaleTimeString()));
  lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...line.points].sort((a, b) => a[0] - b[0]);
    root.append(svg("polyline", { points: pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    for (const [x, y] of pts) {
      const dot = svg("circle", { cx: sx(x), cy: sy(y), r: 3, fill: color, class: "point", "data-value": y });
      dot.append(svg("title", {}, `${line.name}: ${y}${unit} at ${new Date(x).toLocaleString()}`));
      root.append(dot);
    }
  });
  fig.append(root);
  if (lines.length > 1) {
    const legend = document.createElement("div");
    legend.className = "legend";
    lines.forEach((l, i) => {
      const s = document.createElement("span");
      s.style.setProperty("--c", COLORS[i % COLORS.length]);
      s.textContent = l.name;
      legend.append(s);
    });
    fig.append(legend);
  }
  return fig;
}

// rows: [{label, value}], drawn as bars scaled to the largest.
export function bars(title, rows, format = String) {
  const fig = document.createElement("figure");
  fig.className = "chart bars";
  fig.dataset.chart = title;
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(cap);
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  if (!rows.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No data in this range.";
    fig.append(p);
  }
  for (const r of rows) {
    const row = document.createElement("div");
    row.className = "bar";
    const label = document.createElement("span");
    label.textContent = r.label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill point";
    fill.dataset.value = r.value;
    fill.style.width = `${(100 * r.value) / max}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = format(r.value);
    row.append(label, track, value);
    fig.append(row);
  }
  return fig;
}

function short(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (n > 0 && n < 1) return n.toPrecision(2);
  return String(Math.round(n * 100) / 100);
}
