// The dashboard's pages as a frontend sends them, through Apollo Client and its normalized
// InMemoryCache, against a real `serve`. Prints one JSON report of what the client saw — the
// cache after each mutation, read without a request — and the test
// (tests/graphql/test_client_cache.py) judges it. Exits 0 whatever the outcome.
//
// usage: node --conditions=development pages.mjs '{"url": ..., "token": ..., ...}'
// (the development build, so that Apollo's cache warnings are printed, and collected here).
import { createHmac, randomUUID } from "node:crypto";
import { format } from "node:util";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

loadDevMessages();
loadErrorMessages();
const config = JSON.parse(process.argv[2]);
const warnings = [];
console.warn = (...args) => warnings.push(format(...args));

// A client of its own per page (an empty cache), counting the HTTP requests it sends.
function page() {
  const counted = { requests: 0 };
  const http = new HttpLink({
    uri: `${config.url}/graphql`,
    headers: { authorization: `Bearer ${config.token}` },
    fetch: (...args) => {
      counted.requests += 1;
      return fetch(...args);
    },
  });
  const ws = createClient({
    url: `${config.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${config.token}` },
    retryAttempts: 0,
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    http,
  );
  const cache = new InMemoryCache({
    // A health model's signals are one value: an answer replaces the list whole (configuring
    // fewer signals is no data loss).
    typePolicies: { HealthModelConfig: { fields: { signals: { merge: false } } } },
  });
  const client = new ApolloClient({ link, cache });
  return { client, counted, ws };
}

const APPS = gql`
  query AppsPage {
    apps { id uuid name active previousSecretValidUntil }
  }
`;
const CREATE_APP = gql`
  mutation CreateApp($name: String!) {
    createApp(name: $name) { uuid apiSecret app { id uuid name active previousSecretValidUntil } }
  }
`;
const DEACTIVATE_APP = gql`
  mutation DeactivateApp($uuid: UUID!) { deactivateApp(uuid: $uuid) { id active } }
`;
const ROTATE_SECRET = gql`
  mutation RotateAppSecret($uuid: UUID!) {
    rotateAppSecret(uuid: $uuid) { apiSecret app { id previousSecretValidUntil } }
  }
`;
const CACHED_APP = gql`
  fragment CachedApp on App { id uuid name active }
`;

async function appsPage() {
  const { client, counted } = page();
  const created = (await client.mutate({ mutation: CREATE_APP, variables: { name: "Second" } }))
    .data.createApp;
  // The result carries the App: the cache holds it under its id, whatever list shows it later.
  const createdInCache = client.readFragment({
    id: client.cache.identify(created.app),
    fragment: CACHED_APP,
  });
  const listed = (await client.query({ query: APPS })).data.apps;
  await client.mutate({ mutation: DEACTIVATE_APP, variables: { uuid: created.uuid } });
  const afterDeactivate = client.readQuery({ query: APPS }).apps;
  await client.mutate({ mutation: ROTATE_SECRET, variables: { uuid: created.uuid } });
  const afterRotate = client.readQuery({ query: APPS }).apps;
  return {
    created: { uuid: created.uuid, app: created.app },
    createdInCache,
    listed,
    afterDeactivate,
    afterRotate,
    requests: counted.requests,
  };
}

const HEALTH = gql`
  query HealthModelPage {
    healthModelConfig { id isDefault editable signals { signal weight good bad } }
  }
`;
const CONFIGURE = gql`
  mutation ConfigureHealthModel($signals: [HealthSignalInput!]!) {
    configureHealthModel(signals: $signals) { id isDefault signals { signal weight good bad } }
  }
`;

async function healthModelPage() {
  const { client, counted } = page();
  const before = (await client.query({ query: HEALTH })).data.healthModelConfig;
  const signals = [{ signal: "ACTIVE_USERS", weight: 2, good: 5, bad: 1 }];
  await client.mutate({ mutation: CONFIGURE, variables: { signals } });
  const after = client.readQuery({ query: HEALTH }).healthModelConfig;
  return { before, after, requests: counted.requests };
}

const PRICES = gql`
  query PricesPage {
    customerPrices { id canonicalModelKey inputPerMillionEur outputPerMillionEur }
  }
`;
const SET_PRICE = gql`
  mutation SetCustomerPrice($key: String!, $input: Decimal!, $output: Decimal!) {
    setCustomerPrice(
      canonicalModelKey: $key, inputPerMillionEur: $input, outputPerMillionEur: $output
    ) { id canonicalModelKey inputPerMillionEur outputPerMillionEur }
  }
`;

async function pricesPage() {
  const { client, counted } = page();
  const key = "openai/gpt-5.4-mini";
  await client.mutate({ mutation: SET_PRICE, variables: { key, input: "1", output: "2" } });
  const listed = (await client.query({ query: PRICES })).data.customerPrices;
  await client.mutate({ mutation: SET_PRICE, variables: { key, input: "1.5", output: "2.5" } });
  const after = client.readQuery({ query: PRICES }).customerPrices;
  return { listed, after, requests: counted.requests };
}

const ORGANIZATIONS = gql`
  query OrganizationsPage($first: Int!, $after: String) {
    organizationsConnection(first: $first, after: $after, orderBy: CUSTOMER_ORG_ID, direction: ASC) {
      edges { cursor node { id customerOrgId plan planSource } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const SET_PLAN = gql`
  mutation SetOrganizationPlan($org: String!, $plan: String) {
    setOrganizationPlan(customerOrgId: $org, plan: $plan) {
      customerOrgId plan organization { id plan planSource }
    }
  }
`;

async function organizationsPage() {
  const { client, counted } = page();
  const first = (await client.query({ query: ORGANIZATIONS, variables: { first: 2 } })).data
    .organizationsConnection;
  const second = (
    await client.query({
      query: ORGANIZATIONS,
      variables: { first: 2, after: first.pageInfo.endCursor },
    })
  ).data.organizationsConnection;
  const org = first.edges[1].node.customerOrgId;
  await client.mutate({ mutation: SET_PLAN, variables: { org, plan: "enterprise" } });
  const after = client.readQuery({ query: ORGANIZATIONS, variables: { first: 2 } })
    .organizationsConnection;
  return { first, second, after, requests: counted.requests };
}

const COST_HEADER = gql`
  query CostHeader($from: DateTime, $to: DateTime) {
    aiCost(from: $from, to: $to) { id totalCostEur calls callsWithUnknownCost }
  }
`;
const COST_TABLE = gql`
  query CostTable($from: DateTime, $to: DateTime) {
    aiCost(from: $from, to: $to) { id rows { key calls } }
  }
`;

async function aiCostPage() {
  // Two sections of one page ask for the same report with different fields: the cache merges
  // them into one report (its id), instead of the second replacing the first.
  const { client, counted } = page();
  const variables = { from: config.from, to: config.to };
  const header = (await client.query({ query: COST_HEADER, variables })).data.aiCost;
  const table = (await client.query({ query: COST_TABLE, variables })).data.aiCost;
  const headerFromCache = client.readQuery({ query: COST_HEADER, variables })?.aiCost ?? null;
  const tableFromCache = client.readQuery({ query: COST_TABLE, variables })?.aiCost ?? null;
  return { header, table, headerFromCache, tableFromCache, requests: counted.requests };
}

const LIVE = gql`
  subscription LiveEvents($event: String) {
    liveEvents(event: $event) { id eventId event customerOrgId }
  }
`;
const CACHED_EVENT = gql`
  fragment CachedEvent on Event { id eventId event customerOrgId }
`;

async function ingest(eventId) {
  const body = JSON.stringify({ event: "live_probe", event_id: eventId, customer_org_id: "live" });
  const signature = createHmac("sha256", config.apiSecret).update(body).digest("hex");
  const response = await fetch(`${config.url}/v1/ingest`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-app-uuid": config.appUuid,
      "x-signature": signature,
    },
    body,
  });
  if (response.status !== 202) throw new Error(`ingest answered ${response.status}`);
}

async function liveEvents() {
  // The protocol does not acknowledge a subscription (its first message is its first event):
  // an event is sent every 300 ms until the subscription yields one.
  const { client, ws } = page();
  const sent = [];
  let subscription;
  const received = new Promise((resolve, reject) => {
    subscription = client
      .subscribe({ query: LIVE, variables: { event: "live_probe" } })
      .subscribe({ next: (result) => resolve(result.data.liveEvents), error: reject });
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("no live event within 20 s")), 20_000);
  });
  const sender = setInterval(() => {
    const eventId = randomUUID();
    sent.push(eventId);
    ingest(eventId).catch(() => {});
  }, 300);
  try {
    const event = await Promise.race([received, timeout]);
    const cached = client.readFragment({ id: client.cache.identify(event), fragment: CACHED_EVENT });
    return { event, cached, sentIt: sent.includes(event.eventId) };
  } finally {
    clearInterval(sender);
    clearTimeout(timer);
    subscription.unsubscribe();
    await ws.dispose();
  }
}

const report = {};
for (const [name, run] of Object.entries({
  apps: appsPage,
  healthModel: healthModelPage,
  prices: pricesPage,
  organizations: organizationsPage,
  aiCost: aiCostPage,
  liveEvents,
})) {
  try {
    report[name] = await run();
  } catch (error) {
    report[name] = { error: String(error?.stack ?? error) };
  }
}
report.cacheWarnings = warnings.filter((warning) => warning.includes("Cache data may be lost"));
console.log(JSON.stringify(report));
process.exit(0);
