// Numbers and times as the viewer reads them: their locale, their time zone, euros.
// Money arrives as decimal strings; null money is an unknown cost, shown as "unknown", never 0.

const locale = undefined; // the browser's
const eur2 = new Intl.NumberFormat(locale, {
  style: "currency",
  currency: "EUR",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
// Below one euro (a call costs cents or less): three significant digits, e.g. €0.0143.
const eurSmall = new Intl.NumberFormat(locale, {
  style: "currency",
  currency: "EUR",
  minimumSignificantDigits: 2,
  maximumSignificantDigits: 3,
});
// Unit prices (EUR per 1M tokens) keep up to four decimals: €0.075.
const eurPrice = new Intl.NumberFormat(locale, {
  style: "currency",
  currency: "EUR",
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});
const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
const rateFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSeconds = new Intl.DateTimeFormat(locale, {
  dateStyle: "medium",
  timeStyle: "medium",
});
const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
// Day, week and month buckets start at midnight UTC: named by their UTC date.
const utcDate = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });

export const UNKNOWN = "unknown";
export const NONE = "—";

/** A EUR amount (decimal string or number); null: "unknown". */
export function eur(value) {
  if (value === null || value === undefined) return UNKNOWN;
  const n = Number(value);
  if (n === 0 || Math.abs(n) >= 1) return eur2.format(n);
  return eurSmall.format(n);
}

/** A unit price in EUR per 1M tokens; null: "—" (no price). */
export function eurPerMillion(value) {
  return value === null || value === undefined ? NONE : eurPrice.format(Number(value));
}

export function int(value) {
  return value === null || value === undefined ? NONE : integer.format(Number(value));
}

export function number(value) {
  return value === null || value === undefined ? NONE : decimal.format(Number(value));
}

/** An exchange rate (EUR per unit of a currency), up to six decimals. */
export function rate(value) {
  return value === null || value === undefined ? NONE : rateFormat.format(Number(value));
}

/** A share in [0, 1] as a percentage; null (nothing to divide): "—". */
export function pct(value) {
  return value === null || value === undefined ? NONE : percent.format(value);
}

export function ms(value) {
  return value === null || value === undefined ? NONE : `${integer.format(value)} ms`;
}

/** An ISO 8601 instant in the viewer's time zone. */
export function when(iso, { seconds = false } = {}) {
  if (!iso) return NONE;
  return (seconds ? dateTimeSeconds : dateTime).format(new Date(iso));
}

export function day(iso) {
  return iso ? dateOnly.format(new Date(iso)) : NONE;
}

/** The start of a time-series bucket: its UTC date, or for hours the viewer's time. */
export function bucket(iso, granularity) {
  if (!iso) return NONE;
  return granularity === "HOUR" ? dateTime.format(new Date(iso)) : utcDate.format(new Date(iso));
}

/** The viewer's time zone name, e.g. "Europe/Berlin". */
export function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
