// Event stream: the workspace's events, newest first, with filters, pages back, a live tail,
// each event's cost status and pricing source, and from an output event to its call.
import { request, useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useEffect, useState } from "../lib.js";
import { POLL_MS, liveEvents } from "../live.js";
import { href, setParams } from "../router.js";
import { Empty, ErrorNotice, Loading, Select, Table, TrackingSnippet } from "../ui.js";

export const PAGE_SIZE = 50;
const FILTER_WINDOW_DAYS = 30; // ingestStatus answers at most 31 days
const WINDOW_TEXT = `the last ${FILTER_WINDOW_DAYS} days`;

const EVENT_FIELDS = `eventId event timestamp receivedAt appUuid environment customerOrgId
  userHash properties aiCostStatus aiPricingSource aiCanonicalModelKey estimatedCostEur cursor`;

export const EVENTS_QUERY = `query Events($environment: String, $event: String,
    $appUuid: UUID, $customerOrgId: String, $from: DateTime, $after: String, $limit: Int!) {
  eventsPage(environment: $environment, event: $event, appUuid: $appUuid,
      customerOrgId: $customerOrgId, from: $from, after: $after, limit: $limit) {
    items { ${EVENT_FIELDS} }
    nextCursor hasMore
  }
}`;

// The live tail: each event as it is stored, filtered like the page (live.js).
const LIVE_SUBSCRIPTION = `subscription LiveEvents($environment: String, $event: String,
    $appUuid: UUID, $customerOrgId: String) {
  liveEvents(environment: $environment, event: $event, appUuid: $appUuid,
      customerOrgId: $customerOrgId) { ${EVENT_FIELDS} }
}`;

const LIVE_STATES = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  polling: `Refreshing every ${POLL_MS / 1000} s`,
  off: "Off",
};

const FILTERS_QUERY = `query EventFilters($since: DateTime!) {
  ingestStatus(receivedFrom: $since) { environments eventNames eventsReceived }
  apps { uuid name active }
}`;

const CALL_SEARCH_QUERY = `query FindCall($event: String!, $appUuid: UUID,
    $customerOrgId: String, $from: DateTime!, $to: DateTime!, $after: String) {
  eventsPage(event: $event, appUuid: $appUuid, customerOrgId: $customerOrgId,
      from: $from, to: $to, after: $after, limit: 500) {
    items { ${EVENT_FIELDS} }
    nextCursor hasMore
  }
}`;

const AI_CALL_EVENTS = new Set(["ai_call_completed", "ai_call_failed"]);
const OUTPUT_EVENTS = new Set(["ai_output_accepted", "ai_output_rejected", "ai_output_edited"]);

/** An event's cost: "unknown" for an AI call without a known cost, "—" for other events. */
export function eventCost(e) {
  if (e.estimatedCostEur !== null) return fmt.eur(e.estimatedCostEur);
  return AI_CALL_EVENTS.has(e.event) && e.aiCostStatus ? fmt.UNKNOWN : fmt.NONE;
}

const identity = (e) => `${e.appUuid}/${e.eventId}`;

function callLink(e) {
  const callId = e.properties && e.properties.ai_call_id;
  if (!OUTPUT_EVENTS.has(e.event) || !callId) return null;
  return href("/events/call", {
    id: callId,
    app: e.appUuid,
    org: e.customerOrgId,
    at: e.timestamp,
  });
}

function EventDetails({ e, apps }) {
  const app = apps.find((a) => a.uuid === e.appUuid);
  const link = callLink(e);
  return html`<div class="event-details" data-testid="event-details">
    <dl class="pairs">
      <dt>Event id</dt>
      <dd><code>${e.eventId}</code></dd>
      <dt>Time</dt>
      <dd>${fmt.when(e.timestamp, { seconds: true })}</dd>
      <dt>Received</dt>
      <dd>${fmt.when(e.receivedAt, { seconds: true })}</dd>
      <dt>App</dt>
      <dd>${app ? app.name : e.appUuid}</dd>
      <dt>User</dt>
      <dd><code>${e.userHash ?? fmt.NONE}</code></dd>
      <dt>Cost</dt>
      <dd>${eventCost(e)}</dd>
      <dt>Cost status</dt>
      <dd>${e.aiCostStatus ?? fmt.NONE}</dd>
      <dt>Pricing source</dt>
      <dd>${e.aiPricingSource ?? fmt.NONE}</dd>
      <dt>Model key</dt>
      <dd>${e.aiCanonicalModelKey ?? fmt.NONE}</dd>
    </dl>
    ${link && html`<p><a href=${link} data-testid="call-link">Open the call it rates</a></p>`}
    <pre tabindex="0" class="json">${JSON.stringify(e.properties, null, 2)}</pre>
  </div>`;
}

function EventRows({ events, apps, fresh }) {
  const [open, setOpen] = useState(null);
  return html`<${Table}
    name="events-table"
    caption="Events, newest first"
    head=${[
      "Time",
      "Event",
      "Organization",
      "Environment",
      { label: "Cost", numeric: true },
      "Cost status",
      "Pricing source",
      "",
    ]}
  >
    ${events.map((e) => {
      const id = identity(e);
      const expanded = open === id;
      return html`<tr key=${id} class=${fresh.has(id) ? "fresh" : ""} data-event-id=${e.eventId}>
          <td>${fmt.when(e.timestamp, { seconds: true })}</td>
          <td>${e.event}</td>
          <td>
            ${
              e.customerOrgId
                ? html`<a href=${href(`/organizations/${encodeURIComponent(e.customerOrgId)}`)}>
                    ${e.customerOrgId}
                  </a>`
                : fmt.NONE
            }
          </td>
          <td>${e.environment}</td>
          <td class="num">${eventCost(e)}</td>
          <td>${e.aiCostStatus ?? fmt.NONE}</td>
          <td>${e.aiPricingSource ?? fmt.NONE}</td>
          <td>
            <button
              type="button"
              class="small"
              aria-expanded=${expanded ? "true" : "false"}
              onClick=${() => setOpen(expanded ? null : id)}
            >
              ${expanded ? "Hide" : "Details"}
            </button>
          </td>
        </tr>
        ${
          expanded &&
          html`<tr key=${`${id}/details`} class="details-row">
            <td colspan="8"><${EventDetails} e=${e} apps=${apps} /></td>
          </tr>`
        }`;
    })}
  <//>`;
}

function filtersOf(route) {
  return {
    environment: route.params.env || null,
    event: route.params.event || null,
    appUuid: route.params.app || null,
    customerOrgId: route.params.org || null,
  };
}

export function EventsPage({ route }) {
  const filters = filtersOf(route);
  const key = JSON.stringify(filters);
  // Cursors of the pages before this one, for these filters only; page 1 has the live tail.
  const [pages, setPages] = useState({ key, cursors: [] });
  const cursors = pages.key === key ? pages.cursors : [];
  const setCursors = (list) => setPages({ key, cursors: list });
  const after = cursors.length ? cursors[cursors.length - 1] : null;
  const [live, setLive] = useState(true);
  const [since] = useState(() => new Date(Date.now() - FILTER_WINDOW_DAYS * 86400e3).toISOString());
  const choices = useQuery(FILTERS_QUERY, { since });
  const page = useQuery(EVENTS_QUERY, { ...filters, after, limit: PAGE_SIZE });
  // Events the live tail added above the first page, and which of them are new to the eye.
  // And the state of the live connection (`status`), with why it polls instead (`notice`).
  const [tail, setTail] = useState({ key: null, events: [], fresh: new Set(), error: null });

  const firstPage = !after;
  // Only on the first page, once it shows these filters' events (not a previous filter's).
  const tailing = live && firstPage && Boolean(page.data) && !page.loading;
  useEffect(() => {
    if (!tailing) return undefined;
    const { items } = page.data.eventsPage;
    const known = new Set(items.map(identity));
    let added = [];
    setTail({ key, events: [], fresh: new Set(), error: null, status: "connecting" });
    return liveEvents({
      query: EVENTS_QUERY,
      subscription: LIVE_SUBSCRIPTION,
      filters,
      newest: items[0] || null,
      onEvents(events) {
        const news = events.filter((e) => !known.has(identity(e)));
        if (!news.length) return;
        for (const e of news) known.add(identity(e));
        added = [...news, ...added].slice(0, 500);
        const fresh = new Set(news.map(identity));
        setTail((t) => ({ ...t, events: added, fresh, error: null }));
      },
      onError: (error) => setTail((t) => ({ ...t, error })),
      onStatus: ({ state, notice = null }) => setTail((t) => ({ ...t, status: state, notice })),
    });
  }, [tailing, page.data, key]);

  const apps = choices.data ? choices.data.apps : [];
  const status = choices.data && choices.data.ingestStatus;
  const tailed = tailing && tail.key === key;
  const tailEvents = tailed ? tail.events : [];
  const events = page.data ? [...tailEvents, ...page.data.eventsPage.items] : [];

  let content;
  if (page.error) content = html`<${ErrorNotice} error=${page.error} onRetry=${page.reload} />`;
  else if (!page.data) content = html`<${Loading} label="Loading events…" />`;
  else if (!events.length) {
    const filtered = Object.values(filters).some(Boolean);
    content = filtered
      ? html`<${Empty} title="No event matches these filters">
          <p>
            Events are filtered exactly: check the environment (e.g. production vs staging) and the
            event name.
          </p>
        <//>`
      : html`<${Empty} title="No events yet">
          <p>Send a first event with this snippet; it shows here within seconds.</p>
          <${TrackingSnippet} appUuid=${apps.find((a) => a.active)?.uuid} />
        <//>`;
  } else {
    content = html`<div class=${page.loading ? "stale" : ""}>
      <${EventRows} events=${events} apps=${apps} fresh=${tail.fresh} />
      <nav class="pager" aria-label="Pages of events">
        <button
          type="button"
          disabled=${!cursors.length}
          onClick=${() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <span>Page ${cursors.length + 1}</span>
        <button
          type="button"
          disabled=${!page.data.eventsPage.hasMore}
          onClick=${() => setCursors([...cursors, page.data.eventsPage.nextCursor])}
        >
          Older
        </button>
      </nav>
    </div>`;
  }

  return html`<div class="page">
    <header class="page-head">
      <h1>Event stream</h1>
      <p class="muted">
        Newest first, times in ${fmt.timeZone()}.
        ${status && ` ${fmt.int(status.eventsReceived)} events received in ${WINDOW_TEXT}.`}
      </p>
    </header>
    <form
      class="filters"
      aria-label="Filters"
      onSubmit=${(e) => {
        e.preventDefault();
        setParams(route, { org: new FormData(e.target).get("org") || null });
      }}
    >
      <${Select}
        label="Environment"
        name="environment"
        value=${filters.environment}
        onChange=${(v) => setParams(route, { env: v })}
        options=${[[null, "All environments"], ...(status?.environments || []).map((e) => [e, e])]}
      />
      <${Select}
        label="Event"
        name="event"
        value=${filters.event}
        onChange=${(v) => setParams(route, { event: v })}
        options=${[[null, "All events"], ...(status?.eventNames || []).map((e) => [e, e])]}
      />
      <${Select}
        label="App"
        name="app"
        value=${filters.appUuid}
        onChange=${(v) => setParams(route, { app: v })}
        options=${[[null, "All apps"], ...apps.map((a) => [a.uuid, a.name])]}
      />
      <label class="field">
        <span>Organization</span>
        <input
          name="org"
          type="search"
          value=${filters.customerOrgId || ""}
          placeholder="Exact id"
        />
      </label>
      <label class="field checkbox">
        <input
          type="checkbox"
          name="live"
          checked=${live}
          onChange=${(e) => setLive(e.target.checked)}
        />
        <span>Live${live && !firstPage ? " (on the first page)" : ""}</span>
      </label>
      ${
        tailed &&
        html`<span
          class=${`live-status ${tail.status}`}
          data-testid="live-status"
          data-state=${tail.status}
          role="status"
          >${LIVE_STATES[tail.status]}</span
        >`
      }
    </form>
    ${
      tailed &&
      tail.notice &&
      html`<p class="notice" role="status" data-testid="live-notice">${tail.notice}</p>`
    }
    ${tail.error && html`<${ErrorNotice} error=${tail.error} />`} ${content}
  </div>`;
}

/** The call an output event rates: found by its ai_call_id among the calls before it. */
export function CallPage({ route }) {
  const { id, app, org, at } = route.params;
  const [state, setState] = useState({ loading: true, event: null, error: null });
  const apps = useQuery("query Apps { apps { uuid name active } }");
  useEffect(() => {
    let cancelled = false;
    // The API filters events by name, app, organization and time, not by ai_call_id: look
    // at the calls of the week before the output, a page at a time.
    async function find() {
      const to = new Date(Date.parse(at) + 1000).toISOString();
      const from = new Date(Date.parse(at) - 7 * 86400e3).toISOString();
      for (const event of AI_CALL_EVENTS) {
        let after = null;
        for (let pageNo = 0; pageNo < 10; pageNo += 1) {
          const { data, errors } = await request(CALL_SEARCH_QUERY, {
            event,
            appUuid: app || null,
            customerOrgId: org || null,
            from,
            to,
            after,
          });
          if (errors.length) throw errors[0];
          const found = data.eventsPage.items.find((e) => e.properties.ai_call_id === id);
          if (found) return found;
          if (!data.eventsPage.hasMore) break;
          after = data.eventsPage.nextCursor;
        }
      }
      return null;
    }
    find().then(
      (event) => !cancelled && setState({ loading: false, event, error: null }),
      (error) => !cancelled && setState({ loading: false, event: null, error }),
    );
    return () => {
      cancelled = true;
    };
  }, [id, app, org, at]);

  let content;
  if (state.error) content = html`<${ErrorNotice} error=${state.error} />`;
  else if (state.loading) content = html`<${Loading} label="Looking for the call…" />`;
  else if (!state.event) {
    content = html`<${Empty} title="Call not found">
      <p>No AI call with this <code>ai_call_id</code> in the week before the output event.</p>
    <//>`;
  } else {
    content = html`<div data-testid="call">
      <${EventRows}
        events=${[state.event]}
        apps=${apps.data ? apps.data.apps : []}
        fresh=${new Set()}
      />
      <${EventDetails} e=${state.event} apps=${apps.data ? apps.data.apps : []} />
    </div>`;
  }
  return html`<div class="page">
    <header class="page-head">
      <p><a href="#/events">← Event stream</a></p>
      <h1>AI call <code>${id}</code></h1>
    </header>
    ${content}
  </div>`;
}
