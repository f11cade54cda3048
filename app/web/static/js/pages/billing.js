// Billing / Plan: usage this month against the plan's soft limit, apps against apps_max,
// retention, and the plans to compare.
import * as fmt from "../format.js";
import { html } from "../lib.js";
import { Section, Table, featureName, useSession } from "../ui.js";

function Meter({ label, used, max, name }) {
  const share = max ? used / max : 0;
  return html`<div class="meter" data-testid=${name}>
    <div class="meter-label">
      <span>${label}</span>
      <span class="value">${fmt.int(used)} of ${fmt.int(max)}</span>
    </div>
    <progress max="1" value=${Math.min(1, share)} aria-label=${label}></progress>
    <span class="muted">${fmt.pct(share)}</span>
  </div>`;
}

export function BillingPage() {
  const { viewer, plans } = useSession();
  const current = plans.find((p) => p.key === viewer.plan.key);
  return html`<div class="page">
    <header class="page-head">
      <h1>Billing / Plan</h1>
      <p class="muted">
        Your plan: <strong data-testid="plan-name">${viewer.plan.name}</strong>
        ${
          current && current.priceEurMonth !== null
            ? ` · ${fmt.eur(current.priceEurMonth)} a month`
            : " · price negotiated"
        }
      </p>
    </header>
    ${
      viewer.overage &&
      html`<div class="prompt upgrade" role="note" data-testid="overage-detail">
        <strong>Over the monthly events of your plan.</strong> Ingest is not blocked: every event is
        still stored. A higher plan includes more events a month.
      </div>`
    }
    <${Section} title="Usage this month" id="usage">
      <${Meter}
        name="events-meter"
        label="Events this month (soft limit)"
        used=${viewer.eventsThisMonth}
        max=${viewer.eventsMonthlyLimit}
      />
      <${Meter}
        name="apps-meter"
        label="Active apps"
        used=${viewer.appsCount}
        max=${viewer.appsMax}
      />
      <p data-testid="retention">
        Raw events are kept <strong>${fmt.int(viewer.retentionDays)} days</strong>; older ones are
        neither shown nor kept.
      </p>
    <//>
    <${Section} title="Plans" id="plans">
      <${Table}
        name="plans-table"
        caption="Plans"
        head=${[
          "Plan",
          { label: "Price a month", numeric: true },
          { label: "Apps", numeric: true },
          { label: "Events a month", numeric: true },
          { label: "Retention", numeric: true },
          "Includes",
        ]}
      >
        ${plans.map(
          (p) =>
            html`<tr data-key=${p.key} class=${p.key === viewer.plan.key ? "current" : ""}>
              <th scope="row">
                ${p.name} ${p.key === viewer.plan.key && html` <span class="badge">current</span>`}
              </th>
              <td class="num">
                ${p.priceEurMonth === null ? "negotiated" : fmt.eur(p.priceEurMonth)}
              </td>
              <td class="num">${fmt.int(p.appsMax)}</td>
              <td class="num">${fmt.int(p.eventsMonthlyLimit)}</td>
              <td class="num">${fmt.int(p.retentionDays)} days</td>
              <td>${p.features.length ? p.features.map(featureName).join(", ") : fmt.NONE}</td>
            </tr>`,
        )}
      <//>
      <p class="muted">To change plan, ask your SaaS Tracker operator.</p>
    <//>
  </div>`;
}
