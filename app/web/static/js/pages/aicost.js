// AI Cost: what the AI features cost over a range — totals, a time series, breakdowns — with
// unknown costs counted apart ("unknown", never 0) and value signals where the plan has them.
import { useQuery } from "../api.js";
import { CostChart } from "../chart.js";
import * as fmt from "../format.js";
import { html } from "../lib.js";
import { RangeSelect, resolveRange } from "../range.js";
import { href, setParams } from "../router.js";
import {
  Empty,
  ErrorNotice,
  Loading,
  Section,
  Segmented,
  Select,
  Stat,
  Table,
  TrackingSnippet,
  hasFeature,
  useSession,
} from "../ui.js";

export const SUMMARY_QUERY = `query AiCostSummary($from: DateTime!, $to: DateTime!,
    $environment: String, $appUuid: UUID, $granularity: Granularity!) {
  report: aiCost(from: $from, to: $to, environment: $environment, appUuid: $appUuid) {
    totalCostEur calls callsWithUnknownCost pricedCallShare failedCalls errorRate
    inputTokens outputTokens
    latency { p50Ms p95Ms }
    series(granularity: $granularity) { start costEur calls callsWithUnknownCost }
  }
  environments: aiCost(from: $from, to: $to, appUuid: $appUuid, by: ENVIRONMENT) {
    rows(limit: 100) { key }
  }
  apps { uuid name active }
}`;

export const VALUE_QUERY = `query AiCostValue($from: DateTime!, $to: DateTime!,
    $environment: String, $appUuid: UUID) {
  report: aiCost(from: $from, to: $to, environment: $environment, appUuid: $appUuid) {
    acceptedOutputs rejectedOutputs editedOutputs acceptanceRate
    costPerAcceptedOutputEur wastedSpendEur
  }
}`;

const ROW_FIELDS = `key costEur calls callsWithUnknownCost pricedCallShare
  inputTokens outputTokens failedCalls errorRate`;
const VALUE_FIELDS = `acceptedOutputs rejectedOutputs editedOutputs acceptanceRate
  costPerAcceptedOutputEur`;

/** The breakdown query; value signals only when the plan has them (else the API refuses). */
export function breakdownQuery(withValue) {
  return `query AiCostBreakdown($from: DateTime!, $to: DateTime!, $environment: String,
      $appUuid: UUID, $by: AiCostBreakdown!) {
    breakdown: aiCost(from: $from, to: $to, environment: $environment, appUuid: $appUuid,
        by: $by) {
      rows(limit: 100) { ${ROW_FIELDS} ${withValue ? VALUE_FIELDS : ""} }
    }
  }`;
}

export const DIMENSIONS = [
  ["CUSTOMER", "Customer"],
  ["FEATURE", "Feature"],
  ["MODEL", "Model"],
  ["PROVIDER", "Provider"],
  ["PLAN", "Plan"],
  ["ENVIRONMENT", "Environment"],
  ["APP", "App"],
];

function filtersOf(route) {
  const range = resolveRange(route.params.range);
  return {
    range,
    variables: {
      from: range.from,
      to: range.to,
      environment: route.params.env || null,
      appUuid: route.params.app || null,
    },
  };
}

function Filters({ route, environments, apps }) {
  return html`<form class="filters" aria-label="Filters" onSubmit=${(e) => e.preventDefault()}>
    <${RangeSelect}
      value=${resolveRange(route.params.range).key}
      onChange=${(v) => setParams(route, { range: v })}
    />
    <${Select}
      label="Environment"
      name="environment"
      value=${route.params.env || null}
      onChange=${(v) => setParams(route, { env: v })}
      options=${[[null, "All environments"], ...environments.map((e) => [e, e])]}
    />
    <${Select}
      label="App"
      name="app"
      value=${route.params.app || null}
      onChange=${(v) => setParams(route, { app: v })}
      options=${[[null, "All apps"], ...apps.map((a) => [a.uuid, a.name])]}
    />
  </form>`;
}

function Totals({ report }) {
  const partial = report.callsWithUnknownCost > 0 && report.totalCostEur !== null;
  return html`<dl class="stats" data-testid="ai-cost-totals">
    <${Stat}
      name="total-cost"
      label="Total cost"
      value=${fmt.eur(report.totalCostEur)}
      hint=${partial ? "known costs only" : null}
    />
    <${Stat} name="calls" label="Calls" value=${fmt.int(report.calls)} />
    <${Stat}
      name="unknown-calls"
      label="Calls with unknown cost"
      value=${fmt.int(report.callsWithUnknownCost)}
    />
    <${Stat} name="priced-share" label="Share priced" value=${fmt.pct(report.pricedCallShare)} />
    <${Stat}
      name="failed-calls"
      label="Failed calls"
      value=${fmt.int(report.failedCalls)}
      hint=${`error rate ${fmt.pct(report.errorRate)}`}
    />
    <${Stat}
      name="latency-p50"
      label="Latency (median)"
      value=${fmt.ms(report.latency.p50Ms)}
      hint=${`p95 ${fmt.ms(report.latency.p95Ms)}`}
    />
    <${Stat}
      name="input-tokens"
      label="Input tokens"
      value=${fmt.int(report.inputTokens)}
      hint=${`output ${fmt.int(report.outputTokens)}`}
    />
  </dl>`;
}

function ValueSignals({ variables }) {
  const { data, error, loading } = useQuery(VALUE_QUERY, variables);
  if (error) return html`<${ErrorNotice} error=${error} />`;
  if (loading && !data) return html`<${Loading} />`;
  const r = data.report;
  return html`<dl class="stats" data-testid="value-signals">
    <${Stat} name="accepted" label="Accepted outputs" value=${fmt.int(r.acceptedOutputs)} />
    <${Stat} name="rejected" label="Rejected outputs" value=${fmt.int(r.rejectedOutputs)} />
    <${Stat} name="edited" label="Edited outputs" value=${fmt.int(r.editedOutputs)} />
    <${Stat} name="acceptance-rate" label="Acceptance rate" value=${fmt.pct(r.acceptanceRate)} />
    <${Stat}
      name="cost-per-accepted"
      label="Cost per accepted output"
      value=${r.costPerAcceptedOutputEur === null ? fmt.NONE : fmt.eur(r.costPerAcceptedOutputEur)}
    />
    <${Stat} name="wasted-spend" label="Wasted spend" value=${fmt.eur(r.wastedSpendEur)} />
  </dl>`;
}

const BUCKETS = { HOUR: "Hour", DAY: "Day (UTC)", WEEK: "Week (UTC)", MONTH: "Month (UTC)" };

function SeriesTable({ points, granularity }) {
  return html`<details>
    <summary>Show the series as a table</summary>
    <${Table}
      name="series-table"
      caption="Cost and calls per bucket"
      head=${[
        BUCKETS[granularity],
        { label: "Known cost", numeric: true },
        { label: "Calls", numeric: true },
        { label: "Unknown cost", numeric: true },
      ]}
    >
      ${points.map(
        (p) =>
          html`<tr>
            <td>${fmt.bucket(p.start, granularity)}</td>
            <td class="num">${fmt.eur(p.costEur)}</td>
            <td class="num">${fmt.int(p.calls)}</td>
            <td class="num">${fmt.int(p.callsWithUnknownCost)}</td>
          </tr>`,
      )}
    <//>
  </details>`;
}

function rowLabel(by, key, apps, viewer) {
  if (key === null) return html`<span class="muted">(none)</span>`;
  if (by === "APP") {
    const app = apps.find((a) => a.uuid === key);
    return app ? app.name : key;
  }
  if (by === "CUSTOMER" && hasFeature(viewer, "organizations")) {
    return html`<a href=${href(`/organizations/${encodeURIComponent(key)}`)}>${key}</a>`;
  }
  return key;
}

function Breakdown({ route, variables, apps }) {
  const { viewer } = useSession();
  const withValue = hasFeature(viewer, "value_signals");
  const by = DIMENSIONS.some(([d]) => d === route.params.by) ? route.params.by : "MODEL";
  const { data, error, loading } = useQuery(breakdownQuery(withValue), { ...variables, by });
  const head = [
    DIMENSIONS.find(([d]) => d === by)[1],
    { label: "Cost", numeric: true },
    { label: "Calls", numeric: true },
    { label: "Unknown cost", numeric: true },
    { label: "Priced", numeric: true },
    { label: "Tokens in", numeric: true },
    { label: "Tokens out", numeric: true },
    { label: "Failed", numeric: true },
    { label: "Error rate", numeric: true },
  ];
  if (withValue) {
    head.push(
      { label: "Accepted", numeric: true },
      { label: "Rejected", numeric: true },
      { label: "Edited", numeric: true },
      { label: "Acceptance", numeric: true },
      { label: "Cost / accepted", numeric: true },
    );
  }
  let body;
  if (error) body = html`<${ErrorNotice} error=${error} />`;
  else if (!data) body = html`<${Loading} />`;
  else if (!data.breakdown.rows.length)
    body = html`<p class="muted">No AI calls to break down.</p>`;
  else {
    body = html`<div class=${loading ? "stale" : ""}>
      <${Table} name="breakdown-table" caption=${`AI cost by ${by.toLowerCase()}`} head=${head}>
        ${data.breakdown.rows.map(
          (r) =>
            html`<tr data-key=${r.key ?? ""}>
              <th scope="row">${rowLabel(by, r.key, apps, viewer)}</th>
              <td class="num">${fmt.eur(r.costEur)}</td>
              <td class="num">${fmt.int(r.calls)}</td>
              <td class="num">${fmt.int(r.callsWithUnknownCost)}</td>
              <td class="num">${fmt.pct(r.pricedCallShare)}</td>
              <td class="num">${fmt.int(r.inputTokens)}</td>
              <td class="num">${fmt.int(r.outputTokens)}</td>
              <td class="num">${fmt.int(r.failedCalls)}</td>
              <td class="num">${fmt.pct(r.errorRate)}</td>
              ${
                withValue &&
                html`<td class="num">${fmt.int(r.acceptedOutputs)}</td>
                  <td class="num">${fmt.int(r.rejectedOutputs)}</td>
                  <td class="num">${fmt.int(r.editedOutputs)}</td>
                  <td class="num">${fmt.pct(r.acceptanceRate)}</td>
                  <td class="num">
                    ${
                      r.costPerAcceptedOutputEur === null
                        ? fmt.NONE
                        : fmt.eur(r.costPerAcceptedOutputEur)
                    }
                  </td>`
              }
            </tr>`,
        )}
      <//>
    </div>`;
  }
  return html`<${Section} title="Breakdown" id="breakdown">
    <${Segmented}
      label="Break down by"
      name="breakdown-by"
      value=${by}
      options=${DIMENSIONS}
      onChange=${(v) => setParams(route, { by: v })}
    />
    ${body}
  <//>`;
}

export function AiCostPage({ route }) {
  const { range, variables } = filtersOf(route);
  const summary = useQuery(SUMMARY_QUERY, { ...variables, granularity: range.granularity });
  const data = summary.data;
  const apps = data && data.apps ? data.apps : [];
  const environments =
    data && data.environments ? data.environments.rows.map((r) => r.key).filter(Boolean) : [];
  const report = data && data.report;
  const firstApp = apps.find((a) => a.active);

  let content;
  if (summary.error) {
    content = html`<${ErrorNotice} error=${summary.error} onRetry=${summary.reload} />`;
  } else if (!report) {
    content = html`<${Loading} label="Loading AI cost…" />`;
  } else if (report.calls === 0 && report.failedCalls === 0) {
    content = html`<${Empty} title="No AI calls in this range">
      <p>
        Send <code>ai_call_completed</code> events from your app (with its App UUID and API secret,
        see <a href="#/apps">Apps</a>) and they show here within seconds.
      </p>
      <${TrackingSnippet} appUuid=${firstApp ? firstApp.uuid : null} />
    <//>`;
  } else {
    content = html`<div
      class=${summary.loading ? "stale" : ""}
      data-testid="ai-cost"
      data-from=${range.from}
      data-to=${range.to}
    >
      <${Totals} report=${report} />
      <${Section} title="Cost over time" id="series">
        <${CostChart}
          points=${report.series}
          granularity=${range.granularity}
          label=${`Known AI cost and calls per ${range.granularity.toLowerCase()}`}
        />
        <${SeriesTable} points=${report.series} granularity=${range.granularity} />
      <//>
      <${Section} title="Value signals" id="value">
        <${ValueSignals} variables=${variables} />
      <//>
      <${Breakdown} route=${route} variables=${variables} apps=${apps} />
    </div>`;
  }
  return html`<div class="page">
    <header class="page-head">
      <h1>AI Cost</h1>
      <p class="muted">
        ${fmt.when(range.from)} – ${fmt.when(range.to)} (${fmt.timeZone()}). Costs in EUR; calls
        without a known cost are counted apart, never as 0.
      </p>
    </header>
    <${Filters} route=${route} environments=${environments} apps=${apps} />
    ${content}
  </div>`;
}
