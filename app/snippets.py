"""Copy-paste tracking snippets (Python, curl, JavaScript) and the privacy note shown with them.

The AI Cost page's empty state shows "a copy-paste tracking snippet and this same privacy
note" (seed "Tracking AI usage"); GraphQL exposes them as `trackingSnippet`.

Each snippet builds the body once, signs those exact bytes (HMAC-SHA256, hex, over
`{x-timestamp}.{body}`) and sends them unchanged, the rule of the troubleshooting page. The
API secret is never part of a snippet: it is shown once, and snippets read it from the
`SAAS_TRACKER_API_SECRET` environment variable, so a snippet can be shown, logged or pasted
into a ticket safely.

IMPORTANT: the base URL and app UUID are written into source code that users paste into a
shell or a program. They are validated (an http(s) URL of RFC 3986 characters, a UUID) and
then quoted for each language, so that a hostile value (e.g. from a spoofed Host header)
cannot turn a snippet into a command.
"""

from __future__ import annotations

import json
import shlex
import string
import uuid
from urllib.parse import urlsplit

PRIVACY_NOTE = (
    "Privacy by design. SaaS Tracker tracks AI usage, cost and value metadata — not your "
    "prompts or generated content by default. Do not send prompt, messages, completion, "
    "output, response_text or any chat transcripts. They are not part of the schema and will "
    "be ignored."
)
APP_UUID_PLACEHOLDER = "YOUR_APP_UUID"
SECRET_ENV_VAR = "SAAS_TRACKER_API_SECRET"
LANGUAGES = ("python", "curl", "javascript")

_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")

# The example event: the seed's ai_call_completed, metadata only.
_PROPERTIES = {
    "feature": "support_reply_generator",
    "provider": "openai",
    "model": "gpt-5.4-mini",
    "request_type": "generate",
    "input_tokens": 1200,
    "output_tokens": 350,
    "latency_ms": 1420,
}
_USER_ID = "user-42"
_EXAMPLE_USER_HASH = "a1b2c3d4e5f6789012345678901234567890123456789012345678901234abcd"


def ingest_url(base_url: str) -> str:
    """`{base_url}/v1/ingest`, or ValueError when `base_url` is not a plain http(s) URL."""
    base = base_url.strip().rstrip("/")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or not _URL_CHARACTERS.issuperset(base)
    ):
        raise ValueError("base_url must be an http(s) URL without query or fragment.")
    return f"{base}/v1/ingest"


def _app_uuid_text(app_uuid: str | None) -> str:
    return APP_UUID_PLACEHOLDER if app_uuid is None else str(uuid.UUID(str(app_uuid)))


def _python(url: str, app_uuid: str) -> str:
    # Keywords: every key of the example properties is a Python identifier.
    properties = "\n".join(
        f"        {key}={json.dumps(value)}," for key, value in _PROPERTIES.items()
    )
    # The base URL (not the ingest URL) is what Tracker takes.
    base = url.removesuffix("/v1/ingest")
    return f'''# Send AI usage events from Python with the SaaS Tracker SDK (httpx only):
#   pip install saas-tracker-client    (from the server's checkout: pip install ./clients/python)
# It signs each body, sends in the background in batches, retries safely, never sends
# prompts and never raises into your code.
import hashlib
import os
import uuid

from saas_tracker_client import Tracker

tracker = Tracker(
    {json.dumps(base)},
    {json.dumps(app_uuid)},
    os.environ["{SECRET_ENV_VAR}"],  # server-side only, never in a browser
)

# Who the calls are for: set once per request, applied to every event tracked inside.
user_hash = hashlib.sha256({json.dumps(_USER_ID)}.encode()).hexdigest()
with tracker.context(customer_org_id="acme-corp", user_hash=user_hash):
    # After each AI call: usage and cost metadata only, never the prompt or the output.
    event_id = tracker.track(
        "ai_call_completed",
{properties}
        ai_call_id=str(uuid.uuid4()),
    )

# Events are sent in the background every second and at exit; flush() sends them now.
tracker.flush()
print("tracked", event_id)
'''


def _curl(url: str, app_uuid: str) -> str:
    body = json.dumps(
        {
            "event": "ai_call_completed",
            "user_hash": _EXAMPLE_USER_HASH,
            "customer_org_id": "acme-corp",
            "properties": {**_PROPERTIES, "ai_call_id": "call_0001"},
        },
        separators=(",", ":"),
    )
    return f"""# Send one AI usage event with curl and openssl (bash).
# Build the body once, sign that exact string, send that exact string (--data-binary).
INGEST_URL={shlex.quote(url)}
APP_UUID={shlex.quote(app_uuid)}
: "${{{SECRET_ENV_VAR}:?set {SECRET_ENV_VAR} to the API secret of the app}}"

BODY={shlex.quote(body)}
TIMESTAMP=$(date +%s)
SIGNATURE=$(printf '%s.%s' "$TIMESTAMP" "$BODY" \\
  | openssl dgst -sha256 -hmac "${SECRET_ENV_VAR}" -r | cut -d' ' -f1)

curl -sS --fail-with-body "$INGEST_URL" \\
  -H 'content-type: application/json' \\
  -H "x-app-uuid: $APP_UUID" \\
  -H "x-timestamp: $TIMESTAMP" \\
  -H "x-signature: $SIGNATURE" \\
  --data-binary "$BODY"
"""


def _javascript(url: str, app_uuid: str) -> str:
    properties = ",\n".join(f"    {key}: {json.dumps(value)}" for key, value in _PROPERTIES.items())
    return f"""// Send AI usage events from Node.js 18+ (built-in crypto and fetch), on a server.
const crypto = require("node:crypto");

const INGEST_URL = {json.dumps(url)};
const APP_UUID = {json.dumps(app_uuid)};
const API_SECRET = process.env.{SECRET_ENV_VAR}; // never ship it to a browser

// HMAC-SHA256 (hex) over `${{timestamp}}.${{body}}`: the exact string that is sent.
function signBody(secret, body, timestamp) {{
  return crypto.createHmac("sha256", secret).update(`${{timestamp}}.${{body}}`).digest("hex");
}}

async function track(event) {{
  if (!API_SECRET) throw new Error("set {SECRET_ENV_VAR} to the API secret of the app");
  const body = JSON.stringify(event); // build the body once...
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const response = await fetch(INGEST_URL, {{
    method: "POST",
    headers: {{
      "content-type": "application/json",
      "x-app-uuid": APP_UUID,
      "x-timestamp": timestamp,
      "x-signature": signBody(API_SECRET, body, timestamp),
    }},
    body, // ...and send that exact string
  }});
  if (response.status !== 202) {{
    throw new Error(`SaaS Tracker ingest: ${{response.status}} ${{await response.text()}}`);
  }}
  return (await response.json()).event_ids;
}}

// After each AI call: usage and cost metadata only, never the prompt or the output.
track({{
  event: "ai_call_completed",
  user_hash: crypto.createHash("sha256").update({json.dumps(_USER_ID)}).digest("hex"),
  customer_org_id: "acme-corp",
  properties: {{
{properties},
    ai_call_id: crypto.randomUUID(),
  }},
  event_id: crypto.randomUUID(), // idempotency key: resending it never stores twice
}})
  .then((eventIds) => console.log("accepted", eventIds))
  .catch((error) => {{
    console.error(error);
    process.exitCode = 1;
  }});
"""


def tracking_snippets(base_url: str, app_uuid: str | None) -> dict[str, str]:
    """The snippets by language (`python`, `curl`, `javascript`) for this server and app.

    Without `app_uuid` the snippets hold the placeholder `YOUR_APP_UUID`. Raises ValueError
    for a base URL that is not a plain http(s) URL or an app UUID that is not a UUID.
    """
    url = ingest_url(base_url)
    app = _app_uuid_text(app_uuid)
    return {
        "python": _python(url, app),
        "curl": _curl(url, app),
        "javascript": _javascript(url, app),
    }
