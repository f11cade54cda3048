// One GraphQL subscription over WebSocket, protocol graphql-transport-ws (as served at /graphql):
// connection_init with a payload → connection_ack, subscribe → next… then error or complete,
// ping ↔ pong, and a new connection with backoff when one is lost. One connection a subscription.

const PROTOCOL = "graphql-transport-ws";
const ACK_TIMEOUT_MS = 10_000; // connection_ack must come this soon after the socket opens
const IDLE_MS = 25_000; // a ping when nothing came for this long
const PONG_TIMEOUT_MS = 10_000; // and the connection is given up when nothing answers it
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15_000, 30_000];

/** Close codes of the server (app/graphql/live_socket.py): it refuses with these, for good. */
export const CLOSE = {
  BAD_REQUEST: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  TOO_MANY_CONNECTIONS: 4029,
  TOO_SLOW: 4008,
};

export function socketUrl(path = "/graphql") {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/**
 * Subscribe to `query` and stay subscribed. A lost connection (network, server restart, no
 * pong) is opened again after a growing delay; a close code of 4000-4999 is the server's
 * refusal and ends it. Callbacks: onNext(data); onErrors(errors) for a result's errors;
 * onOpen({ connection }) once a connection is acknowledged and the subscription sent (1, 2, …);
 * onRetry({ code, reason, delayMs }); onEnd({ code, reason, errors }) when it stops for good
 * (a refusal, an `error`, a `complete`). `payload()` gives each connection_init's payload.
 * Returns stop(): completes the subscription and closes.
 */
export function subscribe({ url = socketUrl(), payload = () => ({}), query, variables, ...on }) {
  const handle = (name, arg) => on[name] && on[name](arg);
  let socket = null;
  let stopped = false;
  let failures = 0;
  let connections = 0;
  let retryTimer = null;
  let watchdog = null;
  const id = "live";

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
  function watch(millis, onTimeout) {
    clearTimeout(watchdog);
    watchdog = setTimeout(onTimeout, millis);
  }
  function drop(ws) {
    ws.onmessage = ws.onclose = ws.onerror = null;
    clearTimeout(watchdog);
    // Closing a socket still connecting is logged as a failure by browsers: once it is open.
    if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close(1000);
    else if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  }
  function end(detail) {
    stopped = true;
    if (socket) drop(socket);
    socket = null;
    handle("onEnd", detail);
  }
  function retry(code, reason) {
    if (socket) drop(socket);
    socket = null;
    const delayMs =
      BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] * (0.75 + Math.random() / 2);
    failures += 1;
    handle("onRetry", { code, reason, delayMs });
    retryTimer = setTimeout(connect, delayMs);
  }
  function idle() {
    send({ type: "ping" });
    watch(PONG_TIMEOUT_MS, () => retry(null, "no answer to ping"));
  }

  function connect() {
    if (stopped) return;
    let ws;
    try {
      ws = new WebSocket(url, PROTOCOL);
    } catch (error) {
      retry(null, String(error));
      return;
    }
    socket = ws;
    ws.onopen = () => {
      send({ type: "connection_init", payload: payload() });
      watch(ACK_TIMEOUT_MS, () => retry(null, "no connection_ack"));
    };
    ws.onmessage = (frame) => {
      let message;
      try {
        message = JSON.parse(frame.data);
      } catch {
        return retry(null, "not a graphql-transport-ws message");
      }
      watch(IDLE_MS, idle); // anything the server sends shows the connection is alive
      if (message.type === "connection_ack") {
        failures = 0;
        connections += 1;
        send({ id, type: "subscribe", payload: { query, variables } });
        handle("onOpen", { connection: connections });
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.id !== id) {
        // pong, or an operation this client did not start
      } else if (message.type === "next") {
        const { data, errors } = message.payload || {};
        if (errors && errors.length) handle("onErrors", errors);
        if (data) handle("onNext", data);
      } else if (message.type === "error") {
        end({ code: null, reason: "error", errors: message.payload || [] });
      } else if (message.type === "complete") {
        end({ code: null, reason: "complete", errors: [] });
      }
      return undefined;
    };
    ws.onclose = (event) => {
      if (event.code >= 4000 && event.code < 5000) end({ code: event.code, reason: event.reason });
      else retry(event.code, event.reason);
    };
  }

  connect();
  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    if (socket) {
      send({ id, type: "complete" });
      drop(socket);
    }
    socket = null;
  };
}
