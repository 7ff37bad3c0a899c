"""
The Redis-backed rate limiter, to share one quota across processes and hosts.

Needs the `redis` extra: `pip install 'aelyst-async[redis]'`.
"""

from ._redis_limiter import RedisLimiterStats, RedisRateLimiter

__all__ = ["RedisLimiterStats", "RedisRateLimiter"]
