import os

from hypothesis import HealthCheck, settings

# CI runs more examples; a local run stays quick.
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config, items):
    """BPL_SHARD=K/N keeps every N-th collected test from the K-th (1-based), so that N
    processes run the suite between them (scripts/sanitize.sh does, under ASan, where one
    process takes minutes); the rest are deselected, as -k would."""
    shard = os.environ.get("BPL_SHARD")
    if not shard:
        return
    k, n = (int(x) for x in shard.split("/"))
    if not 1 <= k <= n:
        raise ValueError(f"BPL_SHARD={shard!r}: want K/N with 1 <= K <= N")
    config.hook.pytest_deselected(items=[t for i, t in enumerate(items) if i % n != k - 1])
    items[:] = [t for i, t in enumerate(items) if i % n == k - 1]
