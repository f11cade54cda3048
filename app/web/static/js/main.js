// The dashboard: sign-in, then the shell (navigation, workspace, overage banner) around the
// page the hash names. Every figure comes from the public GraphQL API (js/api.js).
import { credentials, onUnauthenticated, request, useQuery } from "./api.js";
import * as fmt from "./format.js";
import { html, render, useEffect, useMemo, useRef } from "./lib.js";
import { AdminPage } from "./pages/admin.js";
import { AiCostPage } from "./pages/aicost.js";
import { AppsPage } from "./pages/apps.js";
import { BillingPage } from "./pages/billing.js";
import { CallPage, EventsPage } from "./pages/events.js";
import { HealthModelPage } from "./pages/healthmodel.js";
import { OrganizationPage, OrganizationsPage } from "./pages/organizations.js";
import { TeamPage } from "./pages/team.js";
import { LinkPage, SignInPage } from "./pages/signin.js";
import { navigate, useRoute } from "./router.js";
import { ErrorNotice, Loading, Session, planName } from "./ui.js";

export const SESSION_QUERY = `query Session {
  viewer {
    role
    user { email }
    workspace { id name }
    workspaces { id name role }
    plan { key name }
    features
    eventsThisMonth
    eventsMonthlyLimit
    overage
    appsMax
    appsCount
    retentionDays
  }
  plans { key name rank priceEurMonth appsMax eventsMonthlyLimit retentionDays features }
}`;

const WORKSPACE_PAGES = [
  ["/ai-cost", "AI Cost", AiCostPage],
  ["/organizations", "Organizations", OrganizationsPage],
  ["/events", "Event stream", EventsPage],
  ["/apps", "Apps", AppsPage],
  ["/team", "Team & API keys", TeamPage],
  ["/billing", "Billing / Plan", BillingPage],
];
const ADMIN_PAGE = ["/admin", "Admin portal", AdminPage];

function pagesFor(viewer) {
  return viewer.role === "SUPERUSER" ? [ADMIN_PAGE] : WORKSPACE_PAGES;
}

function pageFor(route, viewer) {
  const [first, second] = route.segments;
  if (viewer.role === "SUPERUSER") return first === "admin" ? AdminPage : null;
  if (first === "organizations" && second) return OrganizationPage;
  if (first === "health-model") return HealthModelPage;
  if (first === "events" && second === "call") return CallPage;
  const page = WORKSPACE_PAGES.find(([path]) => path === `/${first}`);
  return page ? page[2] : null;
}

async function signOut() {
  if (!credentials.apiKey()) {
    await request("mutation SignOut { logout }").catch(() => null);
  }
  credentials.forget();
  navigate("/signin");
}

function OverageBanner({ viewer }) {
  if (!viewer.overage) return null;
  return html`<div class="banner" role="alert" data-testid="overage-banner">
    <strong>Over your plan's monthly events:</strong>
    ${` ${fmt.int(viewer.eventsThisMonth)} of ${fmt.int(viewer.eventsMonthlyLimit)} this month. `}
    Events are still accepted. <a href="#/billing">Review usage on Billing / Plan</a>.
  </div>`;
}

/** The workspace worked on; a person in several switches here (header x-workspace-id). */
function WorkspaceName({ session }) {
  const { viewer } = session;
  const choose = (event) => {
    credentials.setWorkspaceId(event.target.value);
    session.reload();
  };
  return html`<span class="workspace" data-testid="workspace-name">
    ${
      viewer.workspaces.length > 1
        ? html`<select aria-label="Workspace" onChange=${choose} data-testid="workspace-switch">
            ${viewer.workspaces.map(
              (w) =>
                html`<option value=${w.id} selected=${w.id === viewer.workspace.id}>
                  ${w.name}
                </option>`,
            )}
          </select>`
        : viewer.workspace.name
    }
    <span class="badge" data-testid="plan-badge">${viewer.plan.name}</span>
  </span>`;
}

function Shell({ session, route, children }) {
  const { viewer } = session;
  const main = useRef(null);
  const firstPath = useRef(route.path);
  // Another page: move focus to its content, as a page load would (keyboard, screen readers).
  // Not on the first one: there, Tab starts at the top, on "Skip to content".
  useEffect(() => {
    if (route.path !== firstPath.current && main.current) {
      firstPath.current = null;
      main.current.focus({ preventScroll: true });
    }
  }, [route.path]);
  const pages = pagesFor(viewer);
  // The health model is a page of Organizations.
  const section = route.segments[0] === "health-model" ? "organizations" : route.segments[0];
  const current = `/${section || ""}`;
  const who = viewer.user ? viewer.user.email : "API key";
  return html`<div class="layout">
    <a class="skip" href="#main" onClick=${(e) => (e.preventDefault(), main.current.focus())}>
      Skip to content
    </a>
    <header class="topbar">
      <a class="brand" href="#/">SaaS Tracker</a>
      ${viewer.workspace && html`<${WorkspaceName} session=${session} />`}
      <span class="who">
        <span data-testid="who">${who}</span> · ${viewer.role.toLowerCase()}
        <button type="button" class="link" onClick=${signOut}>Sign out</button>
      </span>
    </header>
    <nav class="sidebar" aria-label="Pages">
      <ul>
        ${pages.map(
          ([path, label]) =>
            html`<li>
              <a href=${`#${path}`} aria-current=${path === current ? "page" : undefined}
                >${label}</a
              >
            </li>`,
        )}
        <li><a href="/graphql" class="external">GraphiQL</a></li>
      </ul>
    </nav>
    <main id="main" tabindex="-1" ref=${main}>
      ${viewer.workspace && html`<${OverageBanner} viewer=${viewer} />`} ${children}
    </main>
  </div>`;
}

function App() {
  const route = useRoute();
  const link = ["accept-invitation", "set-password"].includes(route.segments[0]);
  const signingIn = route.path === "/signin" || link;
  const session = useQuery(SESSION_QUERY, {}, { skip: signingIn });

  useEffect(
    () =>
      onUnauthenticated(() => {
        credentials.forget();
        const { hash } = window.location;
        if (!hash.startsWith("#/signin") && !hash.includes("token=")) {
          navigate("/signin", { next: hash.replace(/^#/, "") || null });
        }
      }),
    [],
  );

  useEffect(() => {
    // The workspace this browser worked on is no longer the person's (removed, or another
    // person signed in): fall back to their first one.
    const code = session.error && session.error.code;
    if (code && code !== "UNAUTHENTICATED" && credentials.workspaceId()) {
      credentials.setWorkspaceId(null);
      session.reload();
    }
  }, [session.error]);

  const value = useMemo(
    () =>
      session.data && {
        viewer: session.data.viewer,
        plans: session.data.plans,
        reload: session.reload,
        planName: (key) => planName(session.data.plans, key),
      },
    [session.data],
  );

  if (link) return html`<${LinkPage} route=${route} />`;
  if (signingIn) return html`<${SignInPage} route=${route} />`;
  if (session.error) {
    return html`<main class="centered">
      <${ErrorNotice} error=${session.error} onRetry=${session.reload} />
      <button type="button" onClick=${signOut}>Sign out</button>
    </main>`;
  }
  if (!value) return html`<main class="centered"><${Loading} /></main>`;
  const Page = pageFor(route, value.viewer);
  if (!Page) {
    navigate(value.viewer.role === "SUPERUSER" ? "/admin" : "/ai-cost");
    return null;
  }
  return html`<${Session.Provider} value=${value}>
    <${Shell} session=${value} route=${route} key=${value.viewer.workspace?.id}>
      <${Page} route=${route} />
    <//>
  <//>`;
}

const root = document.getElementById("root");
root.textContent = ""; // the "Loading…" shown until the modules arrive
render(html`<${App} />`, root);
