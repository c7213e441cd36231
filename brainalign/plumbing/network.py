"""Whether a server answers, asked up front with a short timeout, so that an unreachable hub or W&B costs
seconds, not a client's minutes of retries."""

import logging
import os
import socket
import threading
import urllib.parse

log = logging.getLogger(__name__)


def reachable(url: str, timeout_s: float = 3.0) -> bool:
    """Whether `url`'s host accepts a TCP connection within `timeout_s` (DNS included; run in a thread, so a
    resolver that hangs cannot hold the job)."""
    parts = urllib.parse.urlparse(url)
    port = parts.port or (80 if parts.scheme == "http" else 443)
    ok = []

    def probe():
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout_s)
    return bool(ok)


def wandb_mode(mode: str) -> str:
    """tracking.mode to use here: online becomes offline, with one warning, when W&B does not answer."""
    url = os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"
    if mode != "online" or reachable(url):
        return mode
    log.warning("W&B unreachable (%s); tracking=offline keeps the run: `wandb sync` it later", url)
    return "offline"
