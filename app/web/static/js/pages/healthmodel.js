// The organization health model: which signals make up the health score. Everyone may read
// it; admins on a plan with health_model_config may change it (otherwise: an upgrade prompt).
import { gql, useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useState } from "../lib.js";
import {
  ErrorNotice,
  Loading,
  Section,
  Table,
  UpgradePrompt,
  isAdmin,
  planWith,
  useSession,
} from "../ui.js";
import { SIGNALS } from "./organizations.js";

const SETTING = "signal weight good bad higherIsBetter active";

export const HEALTH_MODEL_QUERY = `query HealthModel {
  healthModelConfig {
    isDefault editable updatedAt formula
    signals { ${SETTING} }
    defaultSignals { ${SETTING} }
  }
}`;

const CONFIGURE = `mutation ConfigureHealthModel($signals: [HealthSignalInput!]!) {
  configureHealthModel(signals: $signals) { isDefault updatedAt }
}`;

const RESET = "mutation ResetHealthModel { resetHealthModel { isDefault } }";

function ReadOnly({ signals }) {
  return html`<${Table}
    name="health-model-table"
    caption="Signals of the health model"
    head=${[
      "Signal",
      { label: "Weight", numeric: true },
      { label: "Scores 100 at", numeric: true },
      { label: "Scores 0 at", numeric: true },
      "Counts",
    ]}
  >
    ${signals.map(
      (s) =>
        html`<tr data-key=${s.signal}>
          <th scope="row">${SIGNALS[s.signal]?.label || s.signal}</th>
          <td class="num">${fmt.number(s.weight)}</td>
          <td class="num">${fmt.number(s.good)}</td>
          <td class="num">${fmt.number(s.bad)}</td>
          <td>${s.active ? "yes" : "no (needs value signals)"}</td>
        </tr>`,
    )}
  <//>`;
}

/** Every signal of the default model, with the workspace's settings where it has them. */
function Editor({ config, onSaved }) {
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const current = Object.fromEntries(config.signals.map((s) => [s.signal, s]));

  async function save(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const signals = config.defaultSignals
      .filter((s) => form.get(`${s.signal}.on`))
      .map((s) => ({
        signal: s.signal,
        weight: Number(form.get(`${s.signal}.weight`)),
        good: Number(form.get(`${s.signal}.good`)),
        bad: Number(form.get(`${s.signal}.bad`)),
      }));
    setError(null);
    setSaved(false);
    try {
      await gql(CONFIGURE, { signals });
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(e);
    }
  }

  async function reset() {
    setError(null);
    try {
      await gql(RESET);
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(e);
    }
  }

  return html`<form onSubmit=${save} data-testid="health-model-form">
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">
          Edit the health model
        </caption>
        <thead>
          <tr>
            <th scope="col">Signal</th>
            <th scope="col">In the model</th>
            <th scope="col">Weight</th>
            <th scope="col">Scores 100 at</th>
            <th scope="col">Scores 0 at</th>
          </tr>
        </thead>
        <tbody>
          ${config.defaultSignals.map((d) => {
            const s = current[d.signal] || d;
            const label = SIGNALS[d.signal]?.label || d.signal;
            return html`<tr>
              <th scope="row">${label}</th>
              <td>
                <input
                  type="checkbox"
                  name=${`${d.signal}.on`}
                  checked=${Boolean(current[d.signal])}
                  aria-label=${`${label} in the model`}
                />
              </td>
              ${["weight", "good", "bad"].map(
                (f) =>
                  html`<td>
                    <input
                      type="number"
                      step="any"
                      min="0"
                      name=${`${d.signal}.${f}`}
                      value=${s[f]}
                      aria-label=${`${label} ${f}`}
                      required
                    />
                  </td>`,
              )}
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    <${ErrorNotice} error=${error} />
    ${saved && html`<p class="notice ok" role="status">Saved: scores use it at once.</p>`}
    <div class="actions">
      <button type="submit" class="primary">Save the model</button>
      <button type="button" onClick=${reset}>Reset to the default</button>
    </div>
  </form>`;
}

export function HealthModelPage() {
  const { viewer, plans } = useSession();
  const { data, error, loading, reload } = useQuery(HEALTH_MODEL_QUERY);
  let content;
  if (error) content = html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  else if (!data) content = html`<${Loading} />`;
  else {
    const config = data.healthModelConfig;
    const status = config.isDefault
      ? "The documented default model applies."
      : `Configured ${fmt.when(config.updatedAt)}.`;
    content = html`<div class=${loading ? "stale" : ""} data-testid="health-model">
      <p>${status}</p>
      <p class="muted">${config.formula}</p>
      ${
        config.editable && isAdmin(viewer)
          ? html`<${Editor} config=${config} onSaved=${reload} />`
          : html`<${ReadOnly} signals=${config.signals} />`
      }
      ${
        !config.editable &&
        html`<${UpgradePrompt}
          feature="health_model_config"
          requiredPlan=${planWith(plans, "health_model_config")}
        />`
      }
      ${
        config.editable &&
        !isAdmin(viewer) &&
        html`<p class="muted">Only workspace admins may change the model.</p>`
      }
    </div>`;
  }
  return html`<div class="page">
    <header class="page-head">
      <p><a href="#/organizations">← Organizations</a></p>
      <h1>Health model</h1>
    </header>
    <${Section} title="Signals" id="health-model-signals">${content}<//>
  </div>`;
}
