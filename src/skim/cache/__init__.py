"""The on-disk caches of skim (embeddings, GGUF conversions): what they hold, clearing and
compacting them (``skim cache info|clear|compact``)."""

from skim.cache.manage import cache_info, clear_cache, compact_cache

__all__ = ["cache_info", "clear_cache", "compact_cache"]
