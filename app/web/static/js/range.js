// The time range filter shared by the analytics pages: presets ending at the next whole hour,
// so that the same view asks the same question for an hour (and the API can cache it).
import { Select } from "./ui.js";
import { html } from "./lib.js";

const HOUR = 3600 * 1000;

export const RANGES = {
  "24h": { label: "Last 24 hours", hours: 24, granularity: "HOUR" },
  "7d": { label: "Last 7 days", hours: 24 * 7, granularity: "DAY" },
  "30d": { label: "Last 30 days", hours: 24 * 30, granularity: "DAY" },
  "90d": { label: "Last 90 days", hours: 24 * 90, granularity: "DAY" },
  "365d": { label: "Last 12 months", hours: 24 * 365, granularity: "WEEK" },
};
export const DEFAULT_RANGE = "30d";

/** { key, from, to, granularity } of a preset key (ISO instants, UTC). */
export function resolveRange(key) {
  const preset = RANGES[key] ? key : DEFAULT_RANGE;
  const { hours, granularity } = RANGES[preset];
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  return {
    key: preset,
    from: new Date(to - hours * HOUR).toISOString(),
    to: new Date(to).toISOString(),
    granularity,
  };
}

export function RangeSelect({ value, onChange }) {
  return html`<${Select}
    label="Range"
    name="range"
    value=${value}
    onChange=${onChange}
    options=${Object.entries(RANGES).map(([key, r]) => [key, r.label])}
  />`;
}
