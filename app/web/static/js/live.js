// New events as they arrive, for the Event stream's live tail.
//
// The API has no Subscription yet (CONTRACT §7 plans one over graphql-transport-ws), so the
// tail polls the newest page every few seconds. A subscription source only has to keep this
// signature — liveEvents({ variables, onEvents, onError }) returning a stop function, calling
// onEvents(newest first) — and replace `pollEvents` below.
import { request } from "./api.js";

export const POLL_MS = 3000;

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

export const liveEvents = pollEvents;
