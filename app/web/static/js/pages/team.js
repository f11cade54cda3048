// Team & API keys: the workspace's people (invite, change role, remove) and API keys (create,
// revoke), for admins; everyone sees them. A signed-in person changes their password here.
import { gql, useQuery } from "../api.js";
import * as fmt from "../format.js";
import { html, useState } from "../lib.js";
import {
  CopyButton,
  ErrorNotice,
  Loading,
  SecretReveal,
  Section,
  Select,
  Table,
  isAdmin,
  useSession,
} from "../ui.js";

const KEY_FIELDS = "id name scope createdAt lastUsedAt expiresAt revokedAt createdBy { email }";

export const TEAM_QUERY = `query Team {
  members { user { email } role joinedAt }
  apiKeys { ${KEY_FIELDS} }
}`;

const INVITE = `mutation InviteMember($email: String!, $role: Role!) {
  inviteMember(email: $email, role: $role) { email url expiresAt }
}`;
const SET_ROLE = `mutation SetMemberRole($email: String!, $role: Role!) {
  setMemberRole(email: $email, role: $role) { role }
}`;
const REMOVE = "mutation RemoveMember($email: String!) { removeMember(email: $email) }";
const CREATE_KEY = `mutation CreateApiKey($name: String!, $scope: ApiKeyScope!,
    $expiresAt: DateTime) {
  createApiKey(name: $name, scope: $scope, expiresAt: $expiresAt) { key apiKey { id name } }
}`;
const REVOKE_KEY = "mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";
const CHANGE_PASSWORD = `mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
}`;

const ROLES = [
  ["MEMBER", "Member"],
  ["ADMIN", "Admin"],
];

/** Run a mutation from a form or button: errors to `setError`, then `done`. */
async function attempt(setError, run, done) {
  setError(null);
  try {
    done(await run());
  } catch (e) {
    setError(e);
  }
}

function Members({ members, admin, self, onChanged }) {
  const [error, setError] = useState(null);
  const [invitation, setInvitation] = useState(null);
  const [removing, setRemoving] = useState(null);

  function invite(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    attempt(
      setError,
      () => gql(INVITE, { email: data.get("email"), role: data.get("role") }),
      (d) => {
        setInvitation(d.inviteMember);
        form.reset();
      },
    );
  }

  return html`${
      admin &&
      html`<form class="inline" onSubmit=${invite} data-testid="invite-form">
        <label class="field">
          <span>E-mail</span>
          <input name="email" type="email" required />
        </label>
        <label class="field">
          <span>Role</span>
          <select name="role">
            ${ROLES.map(([v, t]) => html`<option value=${v}>${t}</option>`)}
          </select>
        </label>
        <button type="submit" class="primary">Invite</button>
      </form>`
    }
    ${
      invitation &&
      html`<div class="prompt secret" role="status" data-testid="invitation">
        <strong>Invitation for ${invitation.email}</strong>
        <p>
          Hand them this link (no e-mail is sent); it works once, until
          ${fmt.when(invitation.expiresAt)}.
        </p>
        <div class="code">
          <pre><code data-testid="invitation-url">${invitation.url}</code></pre>
          <${CopyButton} text=${invitation.url} />
        </div>
      </div>`
    }
    <${ErrorNotice} error=${error} />
    <${Table}
      name="members-table"
      caption="Members"
      head=${["E-mail", "Role", "Joined", admin ? "Actions" : ""]}
    >
      ${members.map(
        (m) =>
          html`<tr key=${m.user.email} data-key=${m.user.email}>
            <th scope="row">${m.user.email}${m.user.email === self ? " (you)" : ""}</th>
            <td>
              ${
                admin
                  ? html`<${Select}
                      label=${`Role of ${m.user.email}`}
                      name="member-role"
                      value=${m.role}
                      options=${ROLES}
                      onChange=${(role) =>
                        attempt(
                          setError,
                          () => gql(SET_ROLE, { email: m.user.email, role }),
                          onChanged,
                        )}
                    />`
                  : m.role.toLowerCase()
              }
            </td>
            <td>${fmt.day(m.joinedAt)}</td>
            <td class="row-actions">
              ${
                admin &&
                (removing === m.user.email
                  ? html`<button
                        type="button"
                        class="small danger"
                        onClick=${() =>
                          attempt(
                            setError,
                            () => gql(REMOVE, { email: m.user.email }),
                            () => (setRemoving(null), onChanged()),
                          )}
                      >
                        Remove ${m.user.email}
                      </button>
                      <button type="button" class="small" onClick=${() => setRemoving(null)}>
                        Cancel
                      </button>`
                  : html`<button
                      type="button"
                      class="small"
                      onClick=${() => setRemoving(m.user.email)}
                    >
                      Remove…
                    </button>`)
              }
            </td>
          </tr>`,
      )}
    <//>`;
}

function keyStatus(k) {
  if (k.revokedAt) return `revoked ${fmt.when(k.revokedAt)}`;
  if (k.expiresAt && Date.parse(k.expiresAt) <= Date.now()) return "expired";
  return k.expiresAt ? `active until ${fmt.when(k.expiresAt)}` : "active";
}

function ApiKeys({ keys, admin, onChanged }) {
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);

  function create(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const expires = data.get("expires");
    attempt(
      setError,
      () =>
        gql(CREATE_KEY, {
          name: data.get("name"),
          scope: data.get("scope"),
          // The end of the chosen day, in the viewer's time zone.
          expiresAt: expires ? new Date(`${expires}T23:59:59`).toISOString() : null,
        }),
      (d) => {
        setCreated(d.createApiKey);
        form.reset();
        onChanged();
      },
    );
  }

  return html`${
      admin &&
      html`<form class="inline" onSubmit=${create} data-testid="api-key-form">
        <label class="field">
          <span>Name</span>
          <input name="name" required maxlength="200" placeholder="What it is for" />
        </label>
        <label class="field">
          <span>Scope</span>
          <select name="scope">
            <option value="READ">Read (queries only)</option>
            <option value="ADMIN">Admin (changes too)</option>
          </select>
        </label>
        <label class="field">
          <span>Expires (optional)</span>
          <input name="expires" type="date" />
        </label>
        <button type="submit" class="primary">Create API key</button>
      </form>`
    }
    ${
      created &&
      html`<${SecretReveal}
        title=${`API key ${created.apiKey.name}`}
        secret=${created.key}
        onClose=${() => setCreated(null)}
      />`
    }
    <${ErrorNotice} error=${error} />
    ${
      keys.length
        ? html`<${Table}
            name="api-keys-table"
            caption="API keys"
            head=${["Name", "Scope", "Status", "Created", "Last used", admin ? "Actions" : ""]}
          >
            ${keys.map(
              (k) =>
                html`<tr key=${k.id} data-key=${k.id} class=${k.revokedAt ? "inactive" : ""}>
                  <th scope="row">${k.name}</th>
                  <td>${k.scope.toLowerCase()}</td>
                  <td>${keyStatus(k)}</td>
                  <td>${fmt.when(k.createdAt)}${k.createdBy ? ` by ${k.createdBy.email}` : ""}</td>
                  <td>${k.lastUsedAt ? fmt.when(k.lastUsedAt) : "never"}</td>
                  <td>
                    ${
                      admin &&
                      !k.revokedAt &&
                      html`<button
                        type="button"
                        class="small danger"
                        onClick=${() =>
                          attempt(setError, () => gql(REVOKE_KEY, { id: k.id }), onChanged)}
                      >
                        Revoke ${k.name}
                      </button>`
                    }
                  </td>
                </tr>`,
            )}
          <//>`
        : html`<p class="muted">No API key yet.</p>`
    }`;
}

function ChangePassword() {
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  function submit(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    setDone(false);
    attempt(
      setError,
      () =>
        gql(CHANGE_PASSWORD, {
          currentPassword: data.get("current"),
          newPassword: data.get("new"),
        }),
      () => {
        setDone(true);
        form.reset();
      },
    );
  }
  return html`<form class="inline" onSubmit=${submit}>
      <label class="field">
        <span>Current password</span>
        <input name="current" type="password" autocomplete="current-password" required />
      </label>
      <label class="field">
        <span>New password</span>
        <input name="new" type="password" autocomplete="new-password" minlength="10" required />
      </label>
      <button type="submit">Change password</button>
    </form>
    <${ErrorNotice} error=${error} />
    ${done && html`<p class="notice ok" role="status">Password changed.</p>`}`;
}

export function TeamPage() {
  const { viewer } = useSession();
  const admin = isAdmin(viewer);
  const { data, error, loading, reload } = useQuery(TEAM_QUERY);
  let content;
  if (error) content = html`<${ErrorNotice} error=${error} onRetry=${reload} />`;
  else if (!data) content = html`<${Loading} />`;
  else {
    content = html`<div class=${loading ? "stale" : ""}>
      <${Section} title="Members" id="members">
        <${Members}
          members=${data.members}
          admin=${admin}
          self=${viewer.user && viewer.user.email}
          onChanged=${reload}
        />
      <//>
      <${Section} title="API keys" id="api-keys">
        <${ApiKeys} keys=${data.apiKeys} admin=${admin} onChanged=${reload} />
      <//>
    </div>`;
  }
  return html`<div class="page">
    <header class="page-head">
      <h1>Team & API keys</h1>
      <p class="muted">
        ${admin ? "You administer this workspace." : "Only workspace admins change these."}
      </p>
    </header>
    ${content}
    ${
      viewer.user && html`<${Section} title="Your password" id="password"><${ChangePassword} /><//>`
    }
  </div>`;
}
