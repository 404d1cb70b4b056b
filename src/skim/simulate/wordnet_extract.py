"""Regenerate the WordNet extract shipped with skim from an original ``data.noun``.

``python -m skim.simulate.wordnet_extract [--source /usr/share/wordnet]`` rewrites
``wordnet-3.0-data.noun.gz`` and ``WORDNET_LICENSE.txt`` beside this module. The extract keeps
WordNet's own line format (so one parser reads both) but only the fields the dataset builder
uses: offset, lexicographer file, lemmas, hypernym and instance-hypernym pointers, gloss.
The license header of ``data.noun`` is kept at the top of the extract, as WordNet requires.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

from skim._io import atomic_path, write_text_atomic
from skim.simulate.wordnet import (
    HYPERNYM,
    INSTANCE_HYPERNYM,
    LICENSE_FILE,
    PACKAGED_SOURCE,
    _read_lines,
    iter_synset_lines,
    parse_data_line,
    resolve_source,
)

DEFAULT_SOURCE = "/usr/share/wordnet"


def extract_line(line: str) -> str:
    """A ``data.noun`` line reduced to lemmas, noun hypernym pointers and gloss."""
    s = parse_data_line(line)
    words = " ".join(f"{lemma} 0" for lemma in s.lemmas)
    ptrs = [(HYPERNYM, o) for o in s.hypernyms] + [
        (INSTANCE_HYPERNYM, o) for o in s.instance_hypernyms
    ]
    pointers = "".join(f" {sym} {o:08d} n 0000" for sym, o in ptrs)
    return (
        f"{s.offset:08d} {s.lexfile:02d} n {len(s.lemmas):02x} {words} {len(ptrs):03d}{pointers}"
        f" | {s.gloss}"
    )


def license_text(lines: list[str]) -> str:
    """WordNet's license, from the numbered header lines of ``data.noun``."""
    text = []
    for line in lines:
        if not line.startswith(" "):
            break
        _, _, rest = line.strip().partition(" ")
        text.append(rest.rstrip() if rest.strip() else "")
    return "\n".join(text).strip() + "\n"


def extract(source: str | Path = DEFAULT_SOURCE, out_dir: str | Path | None = None) -> Path:
    """Write the compressed extract and the license text; return the extract's path."""
    lines = _read_lines(resolve_source(source))
    out_dir = Path(out_dir or Path(__file__).parent)
    header = [line for line in lines if line.startswith(" ")]
    body = [extract_line(line) for _, line in iter_synset_lines(lines)]
    out = out_dir / PACKAGED_SOURCE
    with atomic_path(out, suffix=".gz") as tmp:
        # mtime=0 keeps the file byte-identical across regenerations.
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(("\n".join(header + body) + "\n").encode("utf-8"))
    write_text_atomic(out_dir / LICENSE_FILE, license_text(lines))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="WordNet dict folder or data.noun")
    parser.add_argument("--out-dir", default=None, help="where to write (default: this package)")
    args = parser.parse_args(argv)
    out = extract(args.source, args.out_dir)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
