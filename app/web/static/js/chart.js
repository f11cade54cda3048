// A time series chart (uPlot): bars of known cost per bucket and a line of calls. Its figures
// are also in a table under it (for keyboards, screen readers and copy-paste).
import uPlot from "uplot";
import * as fmt from "./format.js";
import { html, useEffect, useRef } from "./lib.js";

export function CostChart({ points, label, granularity }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const xs = points.map((p) => Date.parse(p.start) / 1000);
    const cost = points.map((p) => (p.costEur === null ? null : Number(p.costEur)));
    const calls = points.map((p) => p.calls);
    const step = xs.length > 1 ? xs[1] - xs[0] : 3600;
    const width = () => Math.max(280, element.clientWidth);
    const bars = uPlot.paths.bars({ size: [0.7, 40] });
    const chart = new uPlot(
      {
        width: width(),
        height: 260,
        // Hours in the viewer's time zone; days, weeks and months on their UTC dates.
        tzDate: (ts) =>
          granularity === "HOUR" ? new Date(ts * 1000) : uPlot.tzDate(new Date(ts * 1000), "UTC"),
        scales: {
          // Half a bucket of room at each end, so that the first and last bars show whole.
          x: { time: true, range: (u, min, max) => [min - step / 2, max + step / 2] },
          eur: { auto: true },
          calls: { auto: true },
        },
        series: [
          { value: (u, v) => (v == null ? fmt.NONE : fmt.bucket(v * 1000, granularity)) },
          {
            label: "Known cost",
            scale: "eur",
            paths: bars,
            points: { show: false },
            fill: "rgba(79, 70, 229, 0.55)",
            stroke: "rgb(79, 70, 229)",
            // Without a hovered bucket (idx null) there is nothing to show; a hovered bucket
            // whose calls have no known cost says so.
            value: (u, v, s, idx) => {
              if (idx == null) return fmt.NONE;
              return v === null ? fmt.UNKNOWN : fmt.eur(v);
            },
          },
          {
            label: "Calls",
            scale: "calls",
            stroke: "rgb(217, 119, 6)",
            width: 2,
            value: (u, v, s, idx) => (idx == null ? fmt.NONE : fmt.int(v)),
          },
        ],
        axes: [
          {},
          { scale: "eur", values: (u, ticks) => ticks.map((t) => fmt.eur(t)), size: 70 },
          {
            scale: "calls",
            side: 1,
            grid: { show: false },
            values: (u, ticks) => ticks.map((t) => fmt.int(t)),
          },
        ],
      },
      [xs, cost, calls],
      element,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: 260 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [points, granularity]);
  return html`<figure class="chart">
    <div ref=${box} role="img" aria-label=${label} data-testid="cost-chart"></div>
  </figure>`;
}
