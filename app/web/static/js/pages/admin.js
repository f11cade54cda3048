// Admin portal (operators): unmapped AI models with their counts and "create alias", the
// catalog's prices, FX rates and the dead letters.
import { gql, useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useState } from "../lib.js";
import { ErrorNotice, Loading, Section, Table } from "../ui.js";

export const ADMIN_QUERY = `query AdminPortal {
  viewer { deadLetters { count oldest } }
  unmappedModels(limit: 200) { provider model count firstSeen lastSeen exampleApps }
  modelCatalog {
    canonicalModelKey provider model
    price { validFrom inputPerMillionEur outputPerMillionEur cachedInputPerMillionEur }
    aliases { provider model }
  }
  fxRates { currency validFrom rateToEur inForce }
}`;

const CREATE_ALIAS = `mutation CreateModelAlias($provider: String!, $model: String!,
    $canonicalModelKey: String!) {
  createModelAlias(provider: $provider, model: $model, canonicalModelKey: $canonicalModelKey) {
    provider model canonicalModelKey
  }
}`;

function AliasForm({ row, keys, onDone }) {
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await gql(CREATE_ALIAS, {
        provider: row.provider,
        model: row.model,
        canonicalModelKey: new FormData(event.target).get("key"),
      });
      onDone(`${row.provider} / ${row.model}`);
    } catch (e) {
      setError(e);
    }
  }
  return html`<form class="inline" onSubmit=${submit} data-testid="alias-form">
    <label class="field">
      <span>Catalog model</span>
      <input name="key" list="catalog-keys" required placeholder="provider/model" />
    </label>
    <datalist id="catalog-keys">${keys.map((k) => html`<option value=${k} />`)}</datalist>
    <button type="submit" class="small primary">Create alias</button>
    <${ErrorNotice} error=${error} />
  </form>`;
}

function Unmapped({ rows, keys, onChanged }) {
  const [open, setOpen] = useState(null);
  const [done, setDone] = useState(null);
  return html`${
    done &&
    html`<p class="notice ok" role="status">
      Alias created for ${done}: new events resolve through it (stored events keep their cost).
    </p>`
  }
  ${
    rows.length
      ? html`<${Table}
          name="unmapped-table"
          caption="Unmapped AI models"
          head=${[
            "Provider",
            "Model",
            { label: "Events", numeric: true },
            "First seen",
            "Last seen",
            "Apps",
            "",
          ]}
        >
          ${rows.map((r) => {
            const id = `${r.provider}\u0000${r.model}`;
            return html`<tr key=${id} data-key=${`${r.provider}/${r.model}`}>
                <td>${r.provider}</td>
                <th scope="row">${r.model}</th>
                <td class="num">${fmt.int(r.count)}</td>
                <td>${fmt.when(r.firstSeen)}</td>
                <td>${fmt.when(r.lastSeen)}</td>
                <td>${r.exampleApps.map((a) => html`<code>${a.slice(0, 8)}</code> `)}</td>
                <td>
                  <button
                    type="button"
                    class="small"
                    aria-expanded=${open === id ? "true" : "false"}
                    onClick=${() => setOpen(open === id ? null : id)}
                  >
                    Create alias…
                  </button>
                </td>
              </tr>
              ${
                open === id &&
                html`<tr key=${`${id}/alias`} class="details-row">
                  <td colspan="7">
                    <${AliasForm}
                      row=${r}
                      keys=${keys}
                      onDone=${(name) => {
                        setOpen(null);
                        setDone(name);
                        onChanged();
                      }}
                    />
                  </td>
                </tr>`
              }`;
          })}
        <//>`
      : html`<p class="muted">Every model events sent is mapped.</p>`
  }`;
}

export function AdminPage() {
  const { data, error, loading, reload } = useQuery(ADMIN_QUERY);
  if (error && !data) {
    return html`<div class="page">
      <h1>Admin portal</h1>
      <${ErrorNotice} error=${error} onRetry=${reload} />
    </div>`;
  }
  if (!data)
    return html`<div class="page">
      <h1>Admin portal</h1>
      <${Loading} />
    </div>`;
  const keys = data.modelCatalog.map((m) => m.canonicalModelKey);
  const dead = data.viewer.deadLetters;
  return html`<div class=${`page ${loading ? "stale" : ""}`}>
    <header class="page-head">
      <h1>Admin portal</h1>
      ${
        dead &&
        html`<p class=${dead.count ? "notice error" : "muted"} data-testid="dead-letters">
          ${fmt.int(dead.count)} dead-lettered
          events${dead.oldest ? `, the oldest parked ${fmt.when(dead.oldest)}` : ""}.
        </p>`
      }
    </header>
    <${Section} title="Unmapped AI models" id="unmapped">
      <${Unmapped} rows=${data.unmappedModels} keys=${keys} onChanged=${reload} />
    <//>
    <${Section} title="Model catalog (EUR per 1M tokens, in force now)" id="catalog">
      <${Table}
        name="catalog-table"
        caption="Model catalog"
        head=${[
          "Model key",
          { label: "Input", numeric: true },
          { label: "Output", numeric: true },
          { label: "Cached input", numeric: true },
          "Since",
          "Aliases",
        ]}
      >
        ${data.modelCatalog.map(
          (m) =>
            html`<tr data-key=${m.canonicalModelKey}>
              <th scope="row">${m.canonicalModelKey}</th>
              <td class="num">
                ${m.price ? fmt.eurPerMillion(m.price.inputPerMillionEur) : "no price"}
              </td>
              <td class="num">
                ${m.price ? fmt.eurPerMillion(m.price.outputPerMillionEur) : fmt.NONE}
              </td>
              <td class="num">
                ${
                  m.price && m.price.cachedInputPerMillionEur !== null
                    ? fmt.eurPerMillion(m.price.cachedInputPerMillionEur)
                    : fmt.NONE
                }
              </td>
              <td>${m.price ? fmt.day(m.price.validFrom) : fmt.NONE}</td>
              <td>${m.aliases.map((a) => `${a.provider}/${a.model}`).join(", ") || fmt.NONE}</td>
            </tr>`,
        )}
      <//>
    <//>
    <${Section} title="FX rates" id="fx">
      ${
        data.fxRates.length
          ? html`<${Table}
              name="fx-table"
              caption="FX rates"
              head=${["Currency", { label: "EUR per unit", numeric: true }, "Since", "In force"]}
            >
              ${data.fxRates.map(
                (r) =>
                  html`<tr>
                    <th scope="row">${r.currency}</th>
                    <td class="num">${fmt.rate(r.rateToEur)}</td>
                    <td>${fmt.when(r.validFrom)}</td>
                    <td>${r.inForce ? "yes" : "no"}</td>
                  </tr>`,
              )}
            <//>`
          : html`<p class="muted">No FX rate: USD costs stay unknown (missing_fx_rate).</p>`
      }
    <//>
  </div>`;
}
