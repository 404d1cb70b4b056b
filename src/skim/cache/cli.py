"""``skim cache info|clear|compact``: the embedding cache and the GGUF conversions on disk."""

from __future__ import annotations

import argparse

from skim._print import add_json_flag, print_result
from skim.argtypes import non_negative_float

CACHE_DIR_HELP = "the cache folder (default: $SKIM_CACHE_DIR or ~/.cache/skim)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cache",
        help="what the embedding cache holds; clear or compact it",
        description="The embedding cache (one folder per encoder, one shard per call that "
        "encoded new texts) and the GGUF conversions of the distillation stage.",
        epilog="Examples:\n  skim cache info\n  skim cache compact\n"
        "  skim cache clear --older-than 30",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    info = actions.add_parser(
        "info",
        help="where the cache is; per encoder its texts, shards and bytes",
        epilog="Example:\n  skim cache info --json",
    )
    info.add_argument("--cache-dir", help=CACHE_DIR_HELP)
    add_json_flag(info, "the cache's contents")
    info.set_defaults(func=_info)

    clear = actions.add_parser(
        "clear",
        help="remove cached embeddings (one encoder, shards older than N days, or all)",
        description="Remove what the scope names, without asking, and print what was removed. "
        "One scope is required, so that nothing is cleared by omission.",
        epilog="Examples:\n  skim cache clear --older-than 30\n"
        "  skim cache clear --encoder 3f0c9a1d2b4e5f6a7b8c9d0e\n  skim cache clear --all",
    )
    clear.add_argument("--cache-dir", help=CACHE_DIR_HELP)
    clear.add_argument(
        "--encoder", help="only this encoder: its id or its folder, as `skim cache info` lists"
    )
    clear.add_argument(
        "--older-than",
        type=non_negative_float,
        metavar="DAYS",
        help="only shards last written more than DAYS days ago",
    )
    clear.add_argument(
        "--all",
        dest="everything",
        action="store_true",
        help="every embedding and every GGUF conversion",
    )
    add_json_flag(clear, "what was removed")
    clear.set_defaults(func=_clear)

    compact = actions.add_parser(
        "compact",
        help="merge each encoder's shards into one (the same vectors, fewer files)",
        description="Lookups read every shard of an encoder, and a long pipeline writes one "
        "per call that encoded new texts; compacting merges them into one, keeping every "
        "vector.",
        epilog="Example:\n  skim cache compact --encoder 3f0c9a1d2b4e5f6a7b8c9d0e",
    )
    compact.add_argument("--cache-dir", help=CACHE_DIR_HELP)
    compact.add_argument("--encoder", help="only this encoder: its id or its folder")
    add_json_flag(compact, "what was merged")
    compact.set_defaults(func=_compact)


def _info(args: argparse.Namespace) -> int:
    from skim.cache import cache_info

    info = cache_info(args.cache_dir)
    print_result(info, args.json, _info_text)
    return 0


def _info_text(info: dict) -> str:
    lines = [f"cache: {info['cache_dir']}"]
    for e in info["encoders"]:
        lines.append(
            f"  {e['folder']}  {e['texts']} texts in {e['shards']} shards, {_mib(e['bytes'])}"
            f"  {e['id'] or '(id not recorded)'}"
        )
    lines.append(f"embeddings: {_mib(info['embedding_bytes'])}")
    lines.append(f"GGUF conversions: {info['gguf_conversions']}, {_mib(info['gguf_bytes'])}")
    lines.append(f"total: {_mib(info['total_bytes'])}")
    return "\n".join(lines)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _clear(args: argparse.Namespace) -> int:
    from skim.cache import clear_cache

    removed = clear_cache(args.cache_dir, args.encoder, args.older_than, args.everything)
    print_result(removed, args.json, _clear_text)
    return 0


def _clear_text(removed: dict) -> str:
    return "\n".join(
        [
            f"cache: {removed['cache_dir']}",
            f"removed: {removed['texts']} texts in {removed['shards']} shards, "
            f"{_mib(removed['bytes'])} in all",
            f"encoders removed: {', '.join(removed['encoders']) or 'none'}",
            f"GGUF conversions removed: {removed['gguf_conversions']}",
        ]
    )


def _compact(args: argparse.Namespace) -> int:
    from skim.cache import compact_cache

    print_result(compact_cache(args.cache_dir, args.encoder), args.json, _compact_text)
    return 0


def _compact_text(done: dict) -> str:
    lines = [f"cache: {done['cache_dir']}"]
    for e in done["encoders"]:
        lines.append(
            f"  {e['folder']}  {e['texts']} texts, {e['shards_before']} shards -> "
            f"{e['shards_after']}, {_mib(e['bytes_saved'])} saved  {e['id'] or '(id not recorded)'}"
        )
    if not done["encoders"]:
        lines.append("nothing to compact: no encoder has more than one shard")
    return "\n".join(lines)
