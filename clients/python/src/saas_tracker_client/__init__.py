"""SaaS Tracker's Python SDK: signed AI-usage events to `POST /v1/ingest` (CONTRACT §8).

Standard library and httpx only: it imports nothing of the server.

    from saas_tracker_client import Tracker

    tracker = Tracker()  # SAAS_TRACKER_URL, SAAS_TRACKER_APP_UUID, SAAS_TRACKER_API_SECRET
    tracker.track("ai_call_completed", customer_org_id="acme-corp", model="gpt-5.4-mini", ...)
    client = tracker.wrap(openai.OpenAI())  # or AsyncOpenAI, anthropic.Anthropic, AsyncAnthropic

`Tracker` queues and sends in the background and never raises; `TrackerClient` is the
synchronous layer under it, which answers (or raises) per call.
"""

from saas_tracker_client._version import __version__
from saas_tracker_client.client import (
    BufferedTracker,
    BufferFull,
    EventTooLarge,
    IngestRejected,
    IngestUnavailable,
    TrackerClient,
    TrackerError,
    encode_event,
    parse_retry_after,
    prepare_event,
)
from saas_tracker_client.providers import TrackedAsyncStream, TrackedStream
from saas_tracker_client.signature import sign, sign_headers
from saas_tracker_client.tracker import Tracker

__all__ = [
    "BufferFull",
    "BufferedTracker",
    "EventTooLarge",
    "IngestRejected",
    "IngestUnavailable",
    "TrackedAsyncStream",
    "TrackedStream",
    "Tracker",
    "TrackerClient",
    "TrackerError",
    "__version__",
    "encode_event",
    "parse_retry_after",
    "prepare_event",
    "sign",
    "sign_headers",
]
