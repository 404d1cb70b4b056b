"""The torch device a stage runs on: the fastest one here, or the one named, checked."""

from __future__ import annotations

from skim.errors import SkimError


def resolve_device(device: str | None = None) -> str:
    """``device`` if this machine's torch can use it; None: ``cuda`` where there is a GPU, else
    ``cpu``.

    Raises :class:`SkimError` in one sentence for a device that is not here (``cuda`` on a
    CPU-only torch, ``cuda:3`` on a two-GPU machine, ``mps`` off a Mac) or not a device at all,
    instead of torch's failure at the first tensor moved there.
    """
    import torch

    if device is None or device == "":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device)
    except (RuntimeError, TypeError):
        raise SkimError(
            f"device {device!r} is not a torch device; use cpu, cuda, cuda:N or mps"
        ) from None
    if kind.type == "cuda":
        if not torch.cuda.is_available():
            raise SkimError(
                f"device {device!r} needs a GPU and a CUDA build of torch, and this torch "
                f"({torch.__version__}) sees none; use --device cpu"
            )
        count = torch.cuda.device_count()
        if kind.index is not None and kind.index >= count:
            raise SkimError(f"device {device!r} is not here: this machine has {count} GPU(s)")
    elif kind.type == "mps" and not torch.backends.mps.is_available():
        raise SkimError(f"device {device!r} is not available on this machine; use --device cpu")
    return str(device)
