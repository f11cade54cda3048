// Shared pieces of every page: the session context, states (loading, empty, errors and the
// prompts of plan gating), figures, filters and the tracking snippet.
import { useQuery } from "./api.js";
import * as fmt from "./format.js";
import { createContext, html, useContext, useEffect, useRef, useState } from "./lib.js";

/** { viewer, plans, reload, signOut } of the signed-in caller (main.js provides it). */
export const Session = createContext(null);

export const useSession = () => useContext(Session);

const FEATURE_NAMES = {
  ai_cost_analytics: "AI cost analytics",
  organizations: "Organizations",
  value_signals: "Value signals",
  health_model_config: "Configuring the organization health model",
};

export function featureName(key) {
  return FEATURE_NAMES[key] || key;
}

export function planName(plans, key) {
  const plan = (plans || []).find((p) => p.key === key);
  return plan ? plan.name : key;
}

/** The cheapest plan that includes `feature` (plans come cheapest first). */
export function planWith(plans, feature) {
  const plan = (plans || []).find((p) => p.features.includes(feature));
  return plan ? plan.key : null;
}

export function hasFeature(viewer, feature) {
  return Boolean(viewer && viewer.features.includes(feature));
}

export function isAdmin(viewer) {
  return Boolean(viewer && viewer.role === "ADMIN");
}

export function Loading({ label = "Loading…" }) {
  return html`<p class="loading" role="status" aria-live="polite">${label}</p>`;
}

export function Empty({ title, children }) {
  return html`<div class="empty" data-testid="empty">
    <h3>${title}</h3>
    ${children}
  </div>`;
}

export function UpgradePrompt({ feature, requiredPlan }) {
  const { plans } = useSession();
  const name = planName(plans, requiredPlan);
  return html`<div class="prompt upgrade" role="note" data-testid="upgrade-prompt">
    <strong>Upgrade required.</strong>${" "}${featureName(feature)} needs the${" "}
    <b data-testid="required-plan">${name}</b> plan or above.${" "}
    <a href="#/billing">Compare plans on Billing / Plan</a>.
  </div>`;
}

const LIMIT_NAMES = { apps_max: "active apps" };

export function LimitPrompt({ limit, current, max }) {
  return html`<div class="prompt limit" role="alert" data-testid="limit-prompt">
    <strong>Limit reached:</strong>${" "}your plan allows ${fmt.int(max)}${" "}
    ${LIMIT_NAMES[limit] || limit} (<code>${limit}</code>) and you use ${fmt.int(current)}.${" "}
    Deactivate one or <a href="#/billing">upgrade on Billing / Plan</a>.
  </div>`;
}

/** What to show for a refused or failed operation, by its code (CONTRACT §4). */
export function ErrorNotice({ error, onRetry }) {
  if (!error) return null;
  const ext = error.extensions || {};
  switch (error.code) {
    case "UPGRADE_REQUIRED":
      return html`<${UpgradePrompt} feature=${ext.feature} requiredPlan=${ext.requiredPlan} />`;
    case "LIMIT_REACHED":
      return html`<${LimitPrompt} limit=${ext.limit} current=${ext.current} max=${ext.max} />`;
    case "UNAUTHENTICATED":
      return html`<p class="notice" role="status">Your session ended: taking you to sign-in…</p>`;
    case "FORBIDDEN":
      return html`<p class="notice error" role="alert" data-testid="error">
        Not allowed: ${error.message}
      </p>`;
    case "NOT_FOUND":
      return html`<p class="notice error" role="alert" data-testid="error">
        Not found: ${error.message}
      </p>`;
    case "BAD_USER_INPUT":
      return html`<p class="notice error" role="alert" data-testid="error">${error.message}</p>`;
    case "QUERY_TOO_COSTLY":
      return html`<p class="notice error" role="alert" data-testid="error">
        This view asks for too much at once: choose a shorter range or fewer filters.
      </p>`;
    default:
      return html`<p class="notice error" role="alert" data-testid="error">
        ${error.message} ${error.code !== "INTERNAL" ? `(${error.code})` : ""}
        ${onRetry && html` <button type="button" onClick=${onRetry}>Retry</button>`}
      </p>`;
  }
}

/** One figure of a page: a label, the value, an optional hint. */
export function Stat({ label, value, hint, name }) {
  return html`<div class="stat" data-stat=${name}>
    <dt>${label}</dt>
    <dd><span class="value" data-testid=${`stat-${name}`}>${value}</span></dd>
    ${hint && html`<dd class="hint">${hint}</dd>`}
  </div>`;
}

export function Select({ label, value, options, onChange, name }) {
  return html`<label class="field">
    <span>${label}</span>
    <select name=${name} value=${value ?? ""} onChange=${(e) => onChange(e.target.value || null)}>
      ${options.map(
        ([v, text]) =>
          html`<option value=${v ?? ""} selected=${(v ?? "") === (value ?? "")}>${text}</option>`,
      )}
    </select>
  </label>`;
}

/** Buttons that pick one of a few values (breakdown dimension, snippet language). */
export function Segmented({ label, value, options, onChange, name }) {
  return html`<div class="segmented" role="group" aria-label=${label} data-testid=${name}>
    ${options.map(
      ([v, text]) =>
        html`<button
          type="button"
          aria-pressed=${v === value ? "true" : "false"}
          onClick=${() => onChange(v)}
        >
          ${text}
        </button>`,
    )}
  </div>`;
}

export function Section({ title, children, actions, id }) {
  return html`<section class="card" aria-labelledby=${id} data-testid=${id}>
    <header class="card-head">
      <h2 id=${id}>${title}</h2>
      ${actions && html`<div class="actions">${actions}</div>`}
    </header>
    ${children}
  </section>`;
}

export function CopyButton({ text, label = "Copy" }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    } catch {
      setDone(false); // no clipboard (plain http on another host): the text stays selectable
    }
  };
  return html`<button type="button" class="small" onClick=${copy}>
    ${done ? "Copied" : label}
  </button>`;
}

const SNIPPET_QUERY = `query Snippet($appUuid: UUID) {
  trackingSnippet(appUuid: $appUuid) { python curl javascript privacyNote }
}`;

/** Copy-paste code that sends a first AI event: the empty state of a workspace. */
export function TrackingSnippet({ appUuid }) {
  const [language, setLanguage] = useState("python");
  const { data, error, loading } = useQuery(SNIPPET_QUERY, { appUuid: appUuid || null });
  if (error) return html`<${ErrorNotice} error=${error} />`;
  if (loading || !data) return html`<${Loading} label="Loading the tracking snippet…" />`;
  const snippet = data.trackingSnippet;
  return html`<div class="snippet" data-testid="tracking-snippet">
    <${Segmented}
      label="Language"
      name="snippet-language"
      value=${language}
      onChange=${setLanguage}
      options=${[
        ["python", "Python"],
        ["curl", "curl"],
        ["javascript", "Node.js"],
      ]}
    />
    <div class="code">
      <pre tabindex="0"><code>${snippet[language]}</code></pre>
      <${CopyButton} text=${snippet[language]} />
    </div>
    <p class="privacy">${snippet.privacyNote}</p>
  </div>`;
}

/** A secret shown once (createApp, rotateAppSecret). */
export function SecretReveal({ title, secret, onClose }) {
  const ref = useRef(null);
  useEffect(() => ref.current && ref.current.focus(), []);
  return html`<div class="prompt secret" role="alert" data-testid="secret" tabindex="-1" ref=${ref}>
    <strong>${title}</strong>
    <p>Store it now: it is never shown again.</p>
    <div class="code">
      <pre><code data-testid="secret-value">${secret}</code></pre>
      <${CopyButton} text=${secret} />
    </div>
    <button type="button" onClick=${onClose}>Done</button>
  </div>`;
}

/** A table that scrolls sideways on a phone rather than squeezing its columns. */
export function Table({ caption, head, children, name }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table data-testid=${name}>
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${head.map(
            (h) => html`<th scope="col" class=${h.numeric ? "num" : ""}>${h.label ?? h}</th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${children}
      </tbody>
    </table>
  </div>`;
}
