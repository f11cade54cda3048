// Organizations: the customers seen in events, with health scores; one organization's page.
import { useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useState } from "../lib.js";
import { RangeSelect, resolveRange } from "../range.js";
import { href, setParams } from "../router.js";
import { Empty, ErrorNotice, Loading, Section, Select, Stat, Table } from "../ui.js";

export const PAGE_SIZE = 25;

export const ORGANIZATIONS_QUERY = `query Organizations($from: DateTime!, $to: DateTime!,
    $search: String, $orderBy: OrganizationOrderBy!, $direction: SortDirection!,
    $limit: Int!, $after: String) {
  organizations(from: $from, to: $to, search: $search, orderBy: $orderBy,
      direction: $direction, limit: $limit, after: $after) {
    customerOrgId eventCount activeUsers aiCostEur callsWithUnknownCost aiCalls
    firstSeen lastSeen plan healthScore cursor
  }
}`;

export const ORGANIZATION_QUERY = `query Organization($id: String!, $from: DateTime!,
    $to: DateTime!) {
  organization(customerOrgId: $id, from: $from, to: $to) {
    customerOrgId eventCount activeUsers aiCostEur aiCostComplete callsWithUnknownCost
    aiCalls failedAiCalls firstSeen lastSeen plan planSource healthScore
    healthSignals { signal value score weight counted }
  }
  aiCost(from: $from, to: $to, customerOrgId: $id, by: FEATURE) {
    rows(limit: 50) { key costEur calls callsWithUnknownCost failedCalls }
  }
}`;

const ORDERS = [
  ["EVENT_COUNT", "Events"],
  ["HEALTH_SCORE", "Health score"],
  ["AI_COST", "AI cost"],
  ["ACTIVE_USERS", "Active users"],
  ["LAST_SEEN", "Last seen"],
  ["FIRST_SEEN", "First seen"],
  ["CUSTOMER_ORG_ID", "Id"],
];

export const SIGNALS = {
  ACTIVITY_TREND: { label: "Activity trend", format: (v) => `×${fmt.number(v)}` },
  ACTIVE_USERS: { label: "Active users", format: fmt.int },
  AI_ACCEPTANCE_RATE: { label: "AI acceptance rate", format: fmt.pct },
  ERROR_RATE: { label: "AI error rate", format: fmt.pct },
  COST_PER_USER: { label: "AI cost per user", format: fmt.eur },
};

export function signalValue(signal, value) {
  return (SIGNALS[signal]?.format || fmt.number)(value);
}

export function Health({ score }) {
  if (score === null || score === undefined) {
    return html`<span class="health none" title="No signal to score">${fmt.NONE}</span>`;
  }
  const level = score >= 70 ? "good" : score >= 40 ? "fair" : "poor";
  return html`<span class=${`health ${level}`} data-testid="health-score">${score}</span>`;
}

/** An organization's cost: "unknown" when none is known, with the unknown-cost calls. */
function OrgCost({ org }) {
  return html`${fmt.eur(org.aiCostEur)}
  ${
    org.callsWithUnknownCost > 0 && org.aiCostEur !== null
      ? html` <span class="muted">(+${fmt.int(org.callsWithUnknownCost)} unknown)</span>`
      : null
  }`;
}

export function OrganizationsPage({ route }) {
  const range = resolveRange(route.params.range);
  const orderBy = route.params.order || "EVENT_COUNT";
  const direction = route.params.dir === "ASC" ? "ASC" : "DESC";
  // The cursors of the pages before this one ("Previous" pops one), for these filters only.
  const key = JSON.stringify([route.params.range, route.params.q, orderBy, direction]);
  const [pages, setPages] = useState({ key, cursors: [] });
  const cursors = pages.key === key ? pages.cursors : [];
  const setCursors = (list) => setPages({ key, cursors: list });
  const after = cursors.length ? cursors[cursors.length - 1] : null;
  const { data, error, loading, reload } = useQuery(ORGANIZATIONS_QUERY, {
    from: range.from,
    to: range.to,
    search: route.params.q || null,
    orderBy,
    direction,
    limit: PAGE_SIZE + 1, // one more than shown: is there a next page?
    after,
  });
  const rows = data ? data.organizations.slice(0, PAGE_SIZE) : [];
  const hasNext = Boolean(data && data.organizations.length > PAGE_SIZE);

  let content;
  if (error) content = html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  else if (!data) content = html`<${Loading} label="Loading organizations…" />`;
  else if (!rows.length) {
    content = html`<${Empty} title="No organization in this range">
      <p>
        Organizations are built from the <code>customer_org_id</code> of your events
        (case-sensitive); events without one belong to none.
      </p>
    <//>`;
  } else {
    content = html`<div class=${loading ? "stale" : ""} data-from=${range.from} data-to=${range.to}>
      <${Table}
        name="organizations-table"
        caption="Organizations"
        head=${[
          "Organization",
          { label: "Health", numeric: true },
          { label: "Events", numeric: true },
          { label: "Active users", numeric: true },
          { label: "AI cost", numeric: true },
          "Plan",
          "First seen",
          "Last seen",
        ]}
      >
        ${rows.map(
          (o) =>
            html`<tr data-key=${o.customerOrgId}>
              <th scope="row">
                <a
                  href=${href(`/organizations/${encodeURIComponent(o.customerOrgId)}`, {
                    range: route.params.range,
                  })}
                  >${o.customerOrgId}</a
                >
              </th>
              <td class="num"><${Health} score=${o.healthScore} /></td>
              <td class="num">${fmt.int(o.eventCount)}</td>
              <td class="num">${fmt.int(o.activeUsers)}</td>
              <td class="num"><${OrgCost} org=${o} /></td>
              <td>${o.plan ?? fmt.NONE}</td>
              <td>${fmt.day(o.firstSeen)}</td>
              <td>${fmt.when(o.lastSeen)}</td>
            </tr>`,
        )}
      <//>
      <nav class="pager" aria-label="Pages of organizations">
        <button
          type="button"
          disabled=${!cursors.length}
          onClick=${() => setCursors(cursors.slice(0, -1))}
        >
          Previous
        </button>
        <span>Page ${cursors.length + 1}</span>
        <button
          type="button"
          disabled=${!hasNext}
          onClick=${() => setCursors([...cursors, rows[rows.length - 1].cursor])}
        >
          Next
        </button>
      </nav>
    </div>`;
  }

  return html`<div class="page">
    <header class="page-head">
      <h1>Organizations</h1>
      <p class="muted">
        Your customers as their events name them. <a href="#/health-model">How health is scored</a>
      </p>
    </header>
    <form
      class="filters"
      aria-label="Filters"
      onSubmit=${(e) => {
        e.preventDefault();
        setParams(route, { q: new FormData(e.target).get("q") || null });
      }}
    >
      <${RangeSelect} value=${range.key} onChange=${(v) => setParams(route, { range: v })} />
      <${Select}
        label="Order by"
        name="order"
        value=${orderBy}
        options=${ORDERS}
        onChange=${(v) => setParams(route, { order: v })}
      />
      <${Select}
        label="Direction"
        name="direction"
        value=${direction}
        options=${[
          ["DESC", "Descending"],
          ["ASC", "Ascending"],
        ]}
        onChange=${(v) => setParams(route, { dir: v })}
      />
      <label class="field">
        <span>Search</span>
        <input name="q" type="search" value=${route.params.q || ""} placeholder="Id contains…" />
      </label>
      <button type="submit">Search</button>
    </form>
    ${content}
  </div>`;
}

export function OrganizationPage({ route }) {
  const id = route.segments[1];
  const range = resolveRange(route.params.range);
  const { data, error, reload, loading } = useQuery(ORGANIZATION_QUERY, {
    id,
    from: range.from,
    to: range.to,
  });
  let content;
  if (error && !(data && data.organization)) {
    content = html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  } else if (!data) content = html`<${Loading} />`;
  else if (!data.organization) {
    content = html`<${Empty} title="No events of this organization in this range">
      <p>Ids are case-sensitive: <code>${id}</code> is exactly what its events must carry.</p>
    <//>`;
  } else {
    const o = data.organization;
    content = html`<div class=${loading ? "stale" : ""} data-testid="organization">
      <dl class="stats">
        <${Stat}
          name="health"
          label="Health score"
          value=${html`<${Health} score=${o.healthScore} />`}
        />
        <${Stat} name="events" label="Events" value=${fmt.int(o.eventCount)} />
        <${Stat} name="active-users" label="Active users" value=${fmt.int(o.activeUsers)} />
        <${Stat}
          name="ai-cost"
          label="AI cost"
          value=${fmt.eur(o.aiCostEur)}
          hint=${
            o.callsWithUnknownCost
              ? `${fmt.int(o.callsWithUnknownCost)} calls with unknown cost`
              : null
          }
        />
        <${Stat}
          name="ai-calls"
          label="AI calls"
          value=${fmt.int(o.aiCalls)}
          hint=${`${fmt.int(o.failedAiCalls)} failed`}
        />
        <${Stat} name="plan" label="Plan" value=${o.plan ?? fmt.NONE} />
        <${Stat} name="first-seen" label="Customer since" value=${fmt.day(o.firstSeen)} />
        <${Stat} name="last-seen" label="Last seen" value=${fmt.when(o.lastSeen)} />
      </dl>
      <${Section} title="Health signals" id="health-signals">
        <${Table}
          name="signals-table"
          caption="Health signals"
          head=${[
            "Signal",
            { label: "Value", numeric: true },
            { label: "Score", numeric: true },
            { label: "Weight", numeric: true },
            "Counted",
          ]}
        >
          ${o.healthSignals.map(
            (s) =>
              html`<tr data-key=${s.signal}>
                <th scope="row">${SIGNALS[s.signal]?.label || s.signal}</th>
                <td class="num">${s.value === null ? fmt.NONE : signalValue(s.signal, s.value)}</td>
                <td class="num">${s.score === null ? fmt.NONE : fmt.int(s.score)}</td>
                <td class="num">${fmt.number(s.weight)}</td>
                <td>${s.counted ? "yes" : "no"}</td>
              </tr>`,
          )}
        <//>
      <//>
      <${Section} title="AI cost by feature" id="org-features">
        ${
          error
            ? html`<${ErrorNotice} error=${error} />`
            : data.aiCost && data.aiCost.rows.length
              ? html`<${Table}
                  name="org-features-table"
                  caption="AI cost by feature"
                  head=${[
                    "Feature",
                    { label: "Cost", numeric: true },
                    { label: "Calls", numeric: true },
                    { label: "Unknown cost", numeric: true },
                    { label: "Failed", numeric: true },
                  ]}
                >
                  ${data.aiCost.rows.map(
                    (r) =>
                      html`<tr>
                        <th scope="row">${r.key ?? "(none)"}</th>
                        <td class="num">${fmt.eur(r.costEur)}</td>
                        <td class="num">${fmt.int(r.calls)}</td>
                        <td class="num">${fmt.int(r.callsWithUnknownCost)}</td>
                        <td class="num">${fmt.int(r.failedCalls)}</td>
                      </tr>`,
                  )}
                <//>`
              : html`<p class="muted">No AI calls.</p>`
        }
      <//>
    </div>`;
  }
  return html`<div class="page">
    <header class="page-head">
      <p><a href=${href("/organizations", { range: route.params.range })}>← Organizations</a></p>
      <h1 data-testid="organization-id">${id}</h1>
      <p class="muted">
        ${fmt.when(range.from)} – ${fmt.when(range.to)} ·${" "}
        <a href=${href("/events", { org: id })}>Its events</a>
      </p>
    </header>
    <form class="filters" aria-label="Filters" onSubmit=${(e) => e.preventDefault()}>
      <${RangeSelect} value=${range.key} onChange=${(v) => setParams(route, { range: v })} />
    </form>
    ${content}
  </div>`;
}
