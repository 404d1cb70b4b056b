"""Connecting to a Ray cluster: one address, one-sentence errors, actor-pool sizes.

``address`` follows ``ray.init``: None starts (or joins) a Ray instance on this machine,
``"auto"`` joins the cluster started here with ``ray start``, ``"HOST:PORT"`` joins a head node
and ``"ray://HOST:PORT"`` goes through Ray Client.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass

from skim.errors import SkimError, Unreachable

LOCAL = "local"
"""The address that means: start (or join) a Ray instance on this machine."""
PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a stage runs on Ray.

    Parameters
    ----------
    address
        :data:`LOCAL`, ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"``.
    actors
        Workers in the actor pool; None: one per CPU (or per GPU with ``gpus_per_actor``).
    gpus_per_actor
        GPUs each actor reserves (0 on CPUs; 1 to encode or generate on a GPU each).
    cpus_per_actor
        CPUs each actor reserves; its encoder and index search use as many threads.
    """

    address: str = LOCAL
    actors: int | None = None
    gpus_per_actor: float | None = None
    cpus_per_actor: float = 1

    def pool(self, wants_gpu: bool = False, blocks: int | None = None) -> dict:
        """``map_batches`` arguments of the actor pool: size and resources per actor.

        ``gpus_per_actor`` None: one GPU per actor for a stage that ``wants_gpu`` (a model)
        when the cluster has GPUs, else none. No more actors than ``blocks`` of work.
        """
        import ray
        import ray.data

        gpus = self.gpus_per_actor
        if gpus is None:
            gpus = 1 if wants_gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
        size = self.actors or pool_size(self.cpus_per_actor, gpus)
        size = max(1, min(size, blocks)) if blocks else size
        return {
            "compute": ray.data.ActorPoolStrategy(size=size),
            "num_cpus": self.cpus_per_actor,
            "num_gpus": gpus,
        }


def import_ray():
    """The ``ray`` module, or a one-sentence error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise SkimError('running on Ray needs the ray extra: pip install "skim-xc[ray]"') from None
    return ray


def connect(address: str | None = LOCAL):
    """Join (or start) the Ray cluster at ``address`` unless this process already has one.

    A cluster that cannot be reached raises a one-sentence :class:`SkimError` within
    :data:`PROBE_SECONDS` rather than Ray's own minute of retries.
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray
    address = None if address in (None, "", LOCAL) else str(address)
    if address not in (None, "auto"):
        _probe(address)
    try:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False)  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unreachable(
            f"cannot reach the Ray cluster at {address or 'this machine'}: {first}"
        ) from None
    return ray


def _probe(address: str) -> None:
    """A TCP connection to ``HOST:PORT`` (or ``ray://HOST:PORT``), or a one-sentence error."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SkimError(
            f"Ray address {address!r} is not HOST:PORT, ray://HOST:PORT, 'auto' or 'local'"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_SECONDS):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise Unreachable(f"cannot reach the Ray cluster at {address} ({reason})") from None


def pool_size(cpus_per_actor: float = 1, gpus_per_actor: float = 0) -> int:
    """Actors that fit the cluster at once: by GPUs when each takes one, else by CPUs."""
    import ray

    resources = ray.cluster_resources()
    if gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) // gpus_per_actor))
    return max(1, int(resources.get("CPU", os.cpu_count() or 1) // max(cpus_per_actor, 1e-9)))


def quiet_data_context(ray) -> None:
    """Ray Data without its own progress bars and banners: skim reports progress itself."""
    with warnings.catch_warnings():  # Ray's own deprecated settings warn on first use
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    import logging

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no banner per run, no notices


def add_ray_argument(parser) -> None:
    """``--ray [ADDRESS]`` on a command: run its heavy step on a Ray cluster."""
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run on Ray: alone, a Ray instance on this machine; 'auto', HOST:PORT or "
        "ray://HOST:PORT, a running cluster (pip install 'skim-xc[ray]')",
    )


def ray_options(address: str | None) -> RayOptions | None:
    """The options of ``--ray ADDRESS``, with the cluster joined now so that an unreachable
    one fails before any work; None (no address): one process. (The config's ``[ray]`` table
    also sets ``actors`` and ``cpus_per_actor``: see :class:`RayOptions`.)"""
    if address is None:
        return None
    connect(address)
    return RayOptions(address=address)
