// Sign-in: e-mail and password (`login` sets the session cookies), or an API key for this tab.
import { credentials, gql, request } from "../api.js";
import { html, useEffect, useRef, useState } from "../lib.js";
import { navigate } from "../router.js";

const LOGIN = `mutation SignIn($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    user { email }
    workspaces { id name role }
    expiresAt
  }
}`;

const CHECK_KEY = "query CheckKey { viewer { role } }";

/** Back to the page that asked for sign-in, else home (the shell picks it by role). */
function goOn(route) {
  const next = route.params.next;
  navigate(next && next.startsWith("/") && !next.startsWith("/signin") ? next : "/");
}

export function SignInPage({ route }) {
  const [mode, setMode] = useState("password");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current && first.current.focus(), [mode]);

  async function signIn(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    setError(null);
    try {
      credentials.forget();
      const { data, errors } = await request(
        LOGIN,
        { email: form.get("email"), password: form.get("password") },
        { anonymous: true },
      );
      if (errors.length) throw errors[0];
      const { workspaces } = data.login;
      credentials.setWorkspaceId(workspaces.length ? workspaces[0].id : null);
      goOn(route);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  async function useKey(event) {
    event.preventDefault();
    const key = new FormData(event.target).get("key").trim();
    setBusy(true);
    setError(null);
    credentials.forget();
    credentials.useApiKey(key);
    try {
      const data = await gql(CHECK_KEY);
      goOn(route);
    } catch (e) {
      credentials.forget();
      setError(e.code === "UNAUTHENTICATED" ? "This API key is unknown or revoked." : e.message);
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="signin" id="main">
    <h1>Sign in to SaaS Tracker</h1>
    ${error && html`<p class="notice error" role="alert" data-testid="signin-error">${error}</p>`}
    ${
      mode === "password"
        ? html`<form onSubmit=${signIn} data-testid="signin-form">
            <label class="field">
              <span>E-mail</span>
              <input ref=${first} name="email" type="email" autocomplete="username" required />
            </label>
            <label class="field">
              <span>Password</span>
              <input name="password" type="password" autocomplete="current-password" required />
            </label>
            <button type="submit" class="primary" disabled=${busy}>
              ${busy ? "Signing in…" : "Sign in"}
            </button>
          </form>`
        : html`<form onSubmit=${useKey} data-testid="apikey-form">
            <label class="field">
              <span>API key</span>
              <input ref=${first} name="key" type="password" autocomplete="off" required />
            </label>
            <p class="hint">Kept in this tab only; closing it signs you out.</p>
            <button type="submit" class="primary" disabled=${busy}>Use this key</button>
          </form>`
    }
    <p>
      <button
        type="button"
        class="link"
        onClick=${() => (setError(null), setMode(mode === "password" ? "key" : "password"))}
      >
        ${mode === "password" ? "Use an API key instead" : "Sign in with e-mail and password"}
      </button>
    </p>
  </main>`;
}

const LINK_MUTATIONS = {
  "accept-invitation": {
    title: "Join the workspace",
    action: "Join",
    mutation: `mutation AcceptInvitation($token: String!, $password: String!) {
      session: acceptInvitation(token: $token, password: $password) {
        user { email } workspaces { id name role } expiresAt
      }
    }`,
  },
  "set-password": {
    title: "Set your password",
    action: "Set password and sign in",
    mutation: `mutation SetPassword($token: String!, $password: String!) {
      session: setPassword(token: $token, password: $password) {
        user { email } workspaces { id name role } expiresAt
      }
    }`,
  },
};

/** The pages of the links people receive (`#/accept-invitation?token=…`, `#/set-password…`):
 * choose a password, and be signed in. */
export function LinkPage({ route }) {
  const kind = LINK_MUTATIONS[route.segments[0]];
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    if (form.get("password") !== form.get("again")) {
      setError("The two passwords differ.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      credentials.forget();
      const { data, errors } = await request(
        kind.mutation,
        { token: route.params.token || "", password: form.get("password") },
        { anonymous: true },
      );
      if (errors.length) throw errors[0];
      const { workspaces } = data.session;
      credentials.setWorkspaceId(workspaces.length ? workspaces[0].id : null);
      navigate("/");
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="signin" id="main">
    <h1>${kind.title}</h1>
    ${error && html`<p class="notice error" role="alert" data-testid="signin-error">${error}</p>`}
    <form onSubmit=${submit}>
      <label class="field">
        <span>New password</span>
        <input
          name="password"
          type="password"
          autocomplete="new-password"
          minlength="10"
          required
        />
      </label>
      <label class="field">
        <span>The same again</span>
        <input name="again" type="password" autocomplete="new-password" minlength="10" required />
      </label>
      <button type="submit" class="primary" disabled=${busy}>${kind.action}</button>
    </form>
    <p><a href="#/signin">Sign in instead</a></p>
  </main>`;
}
