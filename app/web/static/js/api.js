// The dashboard's one door to the public GraphQL API (/graphql), with the credentials any SPA
// uses (CONTRACT §6): the HttpOnly session cookie `st_session` set by `login`, plus the header
// x-csrf-token carrying the readable cookie `st_csrf` (required on mutations); or an API key
// typed on the sign-in page, kept for this tab only and sent as "Authorization: Bearer".
import { useEffect, useState } from "./lib.js";

const ENDPOINT = "/graphql";
const API_KEY = "st.apiKey"; // sessionStorage: gone when the tab closes
const WORKSPACE = "st.workspace"; // localStorage: the workspace a person works on
const CSRF_COOKIE = "st_csrf";
// TOO_MANY_REQUESTS: a page sends a few queries at once and the API serves a few per person.
const RETRIES = 3;

/** A GraphQL error: `code` and the rest of `extensions` as the API sent them (CONTRACT §4). */
export class ApiError extends Error {
  constructor(message, extensions = {}, path = null) {
    super(message);
    this.name = "ApiError";
    this.extensions = extensions;
    this.code = extensions.code || "INTERNAL";
    this.path = path;
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) {
      return decodeURIComponent(part.slice(at + 1).trim());
    }
  }
  return null;
}

export const credentials = {
  apiKey: () => window.sessionStorage.getItem(API_KEY),
  useApiKey(key) {
    window.sessionStorage.setItem(API_KEY, key);
  },
  workspaceId: () => window.localStorage.getItem(WORKSPACE),
  setWorkspaceId(id) {
    if (id) window.localStorage.setItem(WORKSPACE, id);
    else window.localStorage.removeItem(WORKSPACE);
  },
  forget() {
    window.sessionStorage.removeItem(API_KEY);
    window.localStorage.removeItem(WORKSPACE);
  },
};

const unauthenticatedListeners = new Set();

/** Called whenever the API answers UNAUTHENTICATED (expired session, revoked key). */
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/** Tell the listeners the credentials no longer work (as an UNAUTHENTICATED answer does). */
export function signalUnauthenticated() {
  for (const listener of unauthenticatedListeners) listener();
}

/**
 * The connection_init payload of a live connection (graphql-transport-ws at /graphql): the
 * API key, else the workspace chosen; the session cookie goes with the upgrade request itself
 * (a browser cannot set headers on a WebSocket).
 */
export function socketPayload() {
  const key = credentials.apiKey();
  if (key) return { authorization: `Bearer ${key}` };
  const workspace = credentials.workspaceId();
  return workspace ? { "x-workspace-id": workspace } : {};
}

const sleep = (millis) => new Promise((resolve) => setTimeout(resolve, millis));

/**
 * Run one operation; resolves to { data, errors } (errors as ApiError, possibly beside data:
 * a refused field is null with its error while the others answer). Rejects only when no
 * GraphQL answer came (network down, server error page) or when aborted.
 */
export async function request(query, variables = {}, { signal, anonymous = false } = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const key = anonymous ? null : credentials.apiKey();
  if (key) {
    headers.authorization = `Bearer ${key}`;
  } else if (!anonymous && credentials.workspaceId()) {
    headers["x-workspace-id"] = credentials.workspaceId();
  }
  const csrf = readCookie(CSRF_COOKIE);
  if (csrf) headers["x-csrf-token"] = csrf;
  const body = JSON.stringify({ query, variables });

  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: "POST",
        headers,
        body,
        credentials: "same-origin",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("The server cannot be reached. Check the connection and retry.", {
        code: "NETWORK",
      });
    }
    let result;
    try {
      result = await response.json();
    } catch {
      throw new ApiError(`The server answered ${response.status} without a GraphQL result.`, {
        code: "INTERNAL",
        status: response.status,
      });
    }
    const errors = (result.errors || []).map(
      (e) => new ApiError(e.message, e.extensions || {}, e.path || null),
    );
    // Sign-ins are not retried: their TOO_MANY_REQUESTS is a lockout, to be shown.
    if (!anonymous && attempt < RETRIES && errors.some((e) => e.code === "TOO_MANY_REQUESTS")) {
      await sleep(400 * (attempt + 1));
      continue;
    }
    if (!anonymous && errors.some((e) => e.code === "UNAUTHENTICATED")) signalUnauthenticated();
    return { data: result.data ?? null, errors };
  }
}

/** Run one operation and return its data; throws its first error, if any. */
export async function gql(query, variables = {}, options = {}) {
  const { data, errors } = await request(query, variables, options);
  if (errors.length) throw errors[0];
  return data;
}

/**
 * The result of a query, run again whenever `variables` change (or `reload()` is called).
 * While a new result loads, the previous `data` stays (the view dims instead of flashing).
 */
export function useQuery(query, variables = {}, { skip = false } = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ loading: !skip, data: null, error: null, errors: [] });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (skip || !query) {
      setState({ loading: false, data: null, error: null, errors: [] });
      return undefined;
    }
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    request(query, variables, { signal: controller.signal }).then(
      ({ data, errors }) =>
        setState({ loading: false, data, error: errors[0] || null, errors, key }),
      (error) => {
        if (error.name !== "AbortError") {
          setState({ loading: false, data: null, error, errors: [error], key });
        }
      },
    );
    return () => controller.abort();
  }, [query, key, tick, skip]);
  // Loading already in the render where the variables change (the effect runs after it): the
  // data shown then is that of the previous variables.
  const loading = state.loading || (!skip && Boolean(query) && state.key !== key);
  return { ...state, loading, reload: () => setTick((t) => t + 1) };
}
