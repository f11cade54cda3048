// New events as they are stored, for the Event stream's live tail: the `liveEvents`
// subscription (graphql-transport-ws, gqlws.js), with what a connection missed read from
// `eventsPage`, and polling when the server refuses live connections.
import { ApiError, request, signalUnauthenticated, socketPayload } from "./api.js";
import { CLOSE, subscribe } from "./gqlws.js";

export const POLL_MS = 3000;
const FLUSH_MS = 100; // events arriving together are shown together
const CATCH_UP_PAGE = 100;
const CATCH_UP_PAGES = 5; // at most 500 missed events: as many as the tail keeps

/** The newest page of `query` (an `eventsPage` query) every few seconds. */
export function pollEvents({ query, variables, onEvents, onError, intervalMs = POLL_MS }) {
  let stopped = false;
  let timer = null;
  let controller = null;
  async function tick() {
    controller = new AbortController();
    try {
      const { data, errors } = await request(query, variables, { signal: controller.signal });
      if (stopped) return;
      if (errors.length) onError(errors[0]);
      else onEvents(data.eventsPage.items);
    } catch (error) {
      if (error.name !== "AbortError" && !stopped) onError(error);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  }
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (controller) controller.abort();
  };
}

const apiError = (e) => new ApiError(e.message, e.extensions || {}, e.path || null);
const later = (a, b) => !b || Date.parse(a.timestamp) > Date.parse(b.timestamp);

/**
 * Events matching `filters` as they are stored: onEvents(events, newest first) — possibly one
 * already given (the caller drops those it shows). `query` is the page's `eventsPage` query
 * (filters, after, limit; it may take `from`), `subscription` the `liveEvents` one (the same
 * filters), `newest` the newest event the page shows. After each (re)connection the events
 * since the newest one seen are read with `query`, so that none stored meanwhile is skipped.
 * onStatus({ state, notice }): "connecting", "live", "reconnecting", "polling" (the server
 * refused: 4029 or 4008; `notice` says why) or "off" (the subscription failed: see onError).
 * 4401 and 4403 end the session (back to sign-in). Returns a stop function.
 */
export function liveEvents({ query, subscription, filters, newest = null, ...on }) {
  const { onEvents, onError, onStatus = () => {} } = on;
  let stopped = false;
  let stopPolling = null;
  let queue = [];
  let flushTimer = null;
  let catchUp = null;

  function deliver(events) {
    for (const e of events) if (later(e, newest)) newest = e;
    queue = [...events, ...queue];
    if (!flushTimer) {
      flushTimer = setTimeout(() => {
        flushTimer = null;
        const batch = queue;
        queue = [];
        if (!stopped && batch.length) onEvents(batch);
      }, FLUSH_MS);
    }
  }

  async function readMissed() {
    const controller = new AbortController();
    catchUp = controller;
    const from = newest ? newest.timestamp : null;
    let after = null;
    const found = [];
    for (let pageNo = 0; pageNo < CATCH_UP_PAGES; pageNo += 1) {
      const variables = { ...filters, from, after, limit: CATCH_UP_PAGE };
      const { data, errors } = await request(query, variables, { signal: controller.signal });
      if (errors.length) throw errors[0];
      found.push(...data.eventsPage.items);
      if (!from || !data.eventsPage.hasMore) break;
      after = data.eventsPage.nextCursor;
    }
    return found;
  }

  function fallBack(notice) {
    onStatus({ state: "polling", notice });
    stopPolling = pollEvents({
      query,
      variables: { ...filters, from: null, after: null, limit: 50 },
      onEvents: deliver,
      onError,
    });
  }

  onStatus({ state: "connecting" });
  const unsubscribe = subscribe({
    payload: socketPayload,
    query: subscription,
    variables: filters,
    onNext: (data) => deliver([data.liveEvents]),
    onErrors: (errors) => onError(apiError(errors[0])),
    onOpen() {
      // Subscribed: the events stored before (since the newest one seen) come from the
      // stream; the ones stored from now on, from the subscription.
      readMissed().then(
        (events) => {
          if (stopped) return;
          deliver(events);
          onStatus({ state: "live" });
        },
        (error) => {
          if (stopped || error.name === "AbortError") return;
          onError(error);
          onStatus({ state: "live" });
        },
      );
    },
    onRetry: () => onStatus({ state: "reconnecting" }),
    onEnd({ code, reason, errors }) {
      if (stopped) return;
      if (code === CLOSE.UNAUTHORIZED || code === CLOSE.FORBIDDEN) {
        onStatus({ state: "off" });
        signalUnauthenticated();
      } else if (code === CLOSE.TOO_MANY_CONNECTIONS) {
        fallBack(
          "Live updates are paused: this workspace has too many live connections open (other " +
            `tabs or people). The list is refreshed every ${POLL_MS / 1000} s instead.`,
        );
      } else if (code === CLOSE.TOO_SLOW) {
        fallBack(
          "Live updates are paused: events arrived faster than this page read them. The list " +
            `is refreshed every ${POLL_MS / 1000} s instead.`,
        );
      } else {
        // A refusal of the subscription itself (its errors came with it), or a close code
        // this page does not know.
        onStatus({ state: "off" });
        if (errors && errors.length) onError(apiError(errors[0]));
        else if (code) onError(new ApiError(`The live connection was closed: ${code} ${reason}`));
      }
    },
  });

  return () => {
    stopped = true;
    unsubscribe();
    clearTimeout(flushTimer);
    if (catchUp) catchUp.abort();
    if (stopPolling) stopPolling();
  };
}
