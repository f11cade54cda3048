// Apps: the integrations that sign ingest requests. Create (LIMIT_REACHED names the limit),
// rotate the secret, deactivate; each app's tracking snippet.
import { gql, useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useState } from "../lib.js";
import {
  ErrorNotice,
  LimitPrompt,
  Loading,
  SecretReveal,
  Section,
  Table,
  TrackingSnippet,
  isAdmin,
  useSession,
} from "../ui.js";

const APP_FIELDS = "uuid name active createdAt previousSecretValidUntil";

export const APPS_QUERY = `query Apps { apps { ${APP_FIELDS} } }`;

const CREATE = `mutation CreateApp($name: String!) {
  createApp(name: $name) { ${APP_FIELDS} apiSecret }
}`;
const ROTATE = `mutation RotateAppSecret($uuid: UUID!) {
  rotateAppSecret(uuid: $uuid) { ${APP_FIELDS} apiSecret }
}`;
const DEACTIVATE = `mutation DeactivateApp($uuid: UUID!) {
  deactivateApp(uuid: $uuid) { ${APP_FIELDS} }
}`;

function AppRow({ app, admin, onChanged, onSecret, onError }) {
  const [confirming, setConfirming] = useState(false);
  const [snippet, setSnippet] = useState(false);

  async function run(mutation, after) {
    onError(null);
    try {
      after(await gql(mutation, { uuid: app.uuid }));
    } catch (e) {
      onError(e);
    }
    setConfirming(false);
    onChanged();
  }

  return html`<tr data-key=${app.uuid} class=${app.active ? "" : "inactive"}>
      <th scope="row">${app.name}</th>
      <td><code>${app.uuid}</code></td>
      <td>${app.active ? "active" : "deactivated"}</td>
      <td>${fmt.when(app.createdAt)}</td>
      <td>
        ${
          app.previousSecretValidUntil
            ? `previous secret valid until ${fmt.when(app.previousSecretValidUntil)}`
            : fmt.NONE
        }
      </td>
      <td class="row-actions">
        <button
          type="button"
          class="small"
          aria-expanded=${snippet ? "true" : "false"}
          onClick=${() => setSnippet(!snippet)}
        >
          Snippet
        </button>
        ${
          admin &&
          app.active &&
          html`<button
            type="button"
            class="small"
            onClick=${() =>
              run(ROTATE, (d) => onSecret(`New API secret of ${app.name}`, d.rotateAppSecret))}
          >
            Rotate secret
          </button>`
        }
        ${
          admin &&
          app.active &&
          (confirming
            ? html`<span role="group" aria-label="Confirm deactivation">
                <button
                  type="button"
                  class="small danger"
                  onClick=${() => run(DEACTIVATE, () => null)}
                >
                  Deactivate ${app.name}
                </button>
                <button type="button" class="small" onClick=${() => setConfirming(false)}>
                  Cancel
                </button>
              </span>`
            : html`<button type="button" class="small" onClick=${() => setConfirming(true)}>
                Deactivate…
              </button>`)
        }
      </td>
    </tr>
    ${
      snippet &&
      html`<tr class="details-row">
        <td colspan="6"><${TrackingSnippet} appUuid=${app.uuid} /></td>
      </tr>`
    }`;
}

export function AppsPage() {
  const session = useSession();
  const { viewer } = session;
  const admin = isAdmin(viewer);
  const { data, error, loading, reload } = useQuery(APPS_QUERY);
  const [actionError, setActionError] = useState(null);
  const [secret, setSecret] = useState(null);
  const [busy, setBusy] = useState(false);
  const full = viewer.appsCount >= viewer.appsMax;

  function changed() {
    reload();
    session.reload(); // appsCount
  }

  async function create(event) {
    event.preventDefault();
    const form = event.target;
    const name = new FormData(form).get("name").trim();
    setBusy(true);
    setActionError(null);
    try {
      const d = await gql(CREATE, { name });
      setSecret({ title: `API secret of ${name}`, app: d.createApp });
      form.reset();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
      changed();
    }
  }

  let list;
  if (error) list = html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  else if (!data) list = html`<${Loading} />`;
  else if (!data.apps.length) list = html`<p class="muted">No app yet: create one above.</p>`;
  else {
    list = html`<div class=${loading ? "stale" : ""}>
      <${Table}
        name="apps-table"
        caption="Apps"
        head=${["Name", "App UUID", "Status", "Created", "Secret rotation", "Actions"]}
      >
        ${data.apps.map(
          (app) =>
            html`<${AppRow}
              key=${app.uuid}
              app=${app}
              admin=${admin}
              onChanged=${changed}
              onError=${setActionError}
              onSecret=${(title, a) => setSecret({ title, app: a })}
            />`,
        )}
      <//>
    </div>`;
  }

  return html`<div class="page">
    <header class="page-head">
      <h1>Apps</h1>
      <p class="muted" data-testid="apps-usage">
        ${fmt.int(viewer.appsCount)} of ${fmt.int(viewer.appsMax)} active apps used
        (${viewer.plan.name} plan).
      </p>
    </header>
    ${
      secret &&
      html`<${SecretReveal}
        title=${`${secret.title} (App UUID ${secret.app.uuid})`}
        secret=${secret.app.apiSecret}
        onClose=${() => setSecret(null)}
      />`
    }
    ${
      admin &&
      html`<${Section} title="Add an application" id="create-app">
        <form class="inline" onSubmit=${create} data-testid="create-app-form">
          <label class="field">
            <span>Name</span>
            <input name="name" required maxlength="200" disabled=${full} />
          </label>
          <button type="submit" class="primary" disabled=${busy || full}>Add application</button>
        </form>
        ${
          full && !actionError
            ? html`<${LimitPrompt}
                limit="apps_max"
                current=${viewer.appsCount}
                max=${viewer.appsMax}
              />`
            : null
        }
      <//>`
    }
    <${ErrorNotice} error=${actionError} />
    <${Section} title="Applications" id="apps-list">${list}<//>
  </div>`;
}
