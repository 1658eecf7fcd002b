"""copps: a police force's social media strategy, end to end."""

__version__ = "0.1.0"
