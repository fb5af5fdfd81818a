"""An agency's back-channel logout endpoint on a real local port (OpenID Connect Back-Channel
Logout 1.0 §2.5), for tests: it records every POST and answers with the statuses it is given."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from .live import free_port, serving


@dataclass
class LogoutReceiver:
    url: str = ""
    #: Statuses to answer with, in order; 200 once they run out. A (status, location) pair redirects.
    statuses: list = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append(
            {
                "method": request.method,
                "content_type": request.content_type,
                "form": request.form.to_dict(flat=False),
                "path": request.path,
            }
        )
        self.arrived.set()
        answer = self.statuses.pop(0) if self.statuses else 200
        if isinstance(answer, tuple):
            response = Response("", status=answer[0], headers={"Location": answer[1]})
        else:
            response = Response("", status=answer, headers={"Cache-Control": "no-store"})
        return response(environ, start_response)

    @property
    def tokens(self) -> list[str]:
        return [r["form"]["logout_token"][0] for r in self.received]

    def wait(self, count: int = 1, seconds: float = 10.0) -> list[str]:
        """The logout tokens once ``count`` have arrived (a background delivery), or fail."""
        deadline = threading.Event()
        for _ in range(int(seconds * 20)):
            if len(self.received) >= count:
                return self.tokens
            deadline.wait(0.05)
        raise AssertionError(f"{len(self.received)} of {count} logout token(s) arrived")


@contextmanager
def logout_receiver(statuses=None):
    receiver = LogoutReceiver(statuses=list(statuses or []))
    port = free_port()
    with serving(receiver, port) as base:
        receiver.url = f"{base}/backchannel-logout"
        yield receiver
