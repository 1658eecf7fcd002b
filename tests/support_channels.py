"""A subscriber adapter for testing the fan-out machinery without a real medium."""

import threading

from copps.channels.base import Adapter, ChannelError


class CountingAdapter(Adapter):
    """Records every copy it 'sends'; ``fail`` maps subscription address -> ChannelError."""

    kind = "email"
    rendition = "email"
    subscribers = True
    medium = "email"
    sent: list[tuple[int, str]] = []
    fail: dict[str, ChannelError] = {}
    crash_after: int | None = None  # raise a non-ChannelError (a crash) after this many copies
    lock = threading.Lock()

    def check(self) -> str:
        return "ok"

    def send_batch(self, delivery, recipients):
        results = {}
        for r in recipients:
            address = r.subscription.address
            if address in self.fail:
                results[r.pk] = self.fail[address]
                continue
            with self.lock:
                if self.crash_after is not None and len(self.sent) >= self.crash_after:
                    raise RuntimeError("simulated crash")
                self.sent.append((delivery.pk, address))
            results[r.pk] = ""
        return results


def install(monkeypatch):
    from copps.channels import registry

    CountingAdapter.sent = []
    CountingAdapter.fail = {}
    CountingAdapter.crash_after = None
    monkeypatch.setitem(registry.ADAPTERS, "email", "tests.support_channels.CountingAdapter")
    return CountingAdapter
