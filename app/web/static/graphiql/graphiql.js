// GraphiQL for /graphql, from vendored files (React, ReactDOM and GraphiQL are UMD globals).
// Credentials: the session cookie of the dashboard's sign-in (sent by the browser) with the
// x-csrf-token header its mutations need, or an "Authorization: Bearer …" header typed into
// GraphiQL's Headers tab.
(function () {
  "use strict";

  const EXAMPLE_QUERY = `# SaaS Tracker GraphQL API. Sign in on the dashboard (/) or add a header
#   {"Authorization": "Bearer <token>"}
# in the Headers tab below. Run with Ctrl-Enter.
{
  viewer {
    role
    workspace { name }
    plan { key name }
    eventsThisMonth
    eventsMonthlyLimit
  }
}
`;

  const url = new URL("/graphql", window.location.origin).toString();
  // `q`, not `query`: GET /graphql?query=… runs the query instead of showing this page.
  const params = new URLSearchParams(window.location.search);

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return null;
  }

  // Read at each request: a sign-in in another tab renews the cookie.
  function fetchWithCsrf(input, init) {
    const headers = new Headers((init && init.headers) || {});
    const csrf = cookie("st_csrf");
    if (csrf && !headers.has("x-csrf-token")) headers.set("x-csrf-token", csrf);
    return window.fetch(input, { ...init, headers, credentials: "same-origin" });
  }

  const wsUrl = url.replace(/^http/, "ws");
  const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl: wsUrl, fetch: fetchWithCsrf });

  function App() {
    const [query, setQuery] = React.useState(params.get("q") || EXAMPLE_QUERY);
    return React.createElement(GraphiQL, {
      fetcher,
      query,
      onEditQuery(next) {
        setQuery(next);
        const search = new URLSearchParams(window.location.search);
        search.set("q", next);
        history.replaceState(null, "", "?" + search.toString());
      },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
