"""MLflow 3 webhook signatures: `X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TOLERANCE_S = 300  # a delivery older (or newer) than this is refused: a replay, or a clock far off


class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason
        super().__init__(reason)


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    payload = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


def verify(secret: str, headers, body: bytes, now: float | None = None) -> str:
    """The delivery id of a delivery signed with `secret`; Rejected(401) for a missing or wrong signature,
    Rejected(400) for a missing or stale timestamp. Checked on the raw body, in constant time."""
    delivery, stamp, signature = (
        headers.get("X-MLflow-Delivery-Id"),
        headers.get("X-MLflow-Timestamp"),
        headers.get("X-MLflow-Signature"),
    )
    if not delivery or not signature:
        raise Rejected(401, "no X-MLflow-Delivery-Id or X-MLflow-Signature header")
    try:
        sent = int(stamp)
    except (TypeError, ValueError):
        raise Rejected(400, "no valid X-MLflow-Timestamp header") from None
    if not hmac.compare_digest(sign(secret, delivery, stamp, body), signature):
        raise Rejected(401, "the signature does not match")
    if abs((now or time.time()) - sent) > TOLERANCE_S:
        raise Rejected(400, f"the timestamp is more than {TOLERANCE_S} s off: a replayed or delayed delivery")
    return delivery
