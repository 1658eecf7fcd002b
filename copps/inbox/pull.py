"""Pulling replies and mentions from the channels (filled in by the channel-replies part of issue 5)."""


def pull_due(now) -> int:
    return 0
