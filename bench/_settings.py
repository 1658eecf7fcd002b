"""Settings for the benchmarks and the crash-injection test: copps' own settings, plus the
knobs they shorten that copps reads with a default (``getattr(settings, ...)``).

Used as ``DJANGO_SETTINGS_MODULE=bench._settings`` (the process runs from the repository root).
"""

import os

from copps.settings import *  # noqa: F403

if os.environ.get("BENCH_DRY_ADAPTERS"):
    # bench/fanout.py --dry-run: throwaway subscriber adapters (bench/_dry.py), not product code.
    from copps.channels import registry

    registry.ADAPTERS.update(
        email="_dry.DryEmailAdapter",
        webpush="_dry.DryPushAdapter",
        sms_kannel="_dry.DrySmsAdapter",
    )
