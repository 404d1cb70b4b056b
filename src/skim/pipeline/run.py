"""``skim run``: chain simulate / teach / distill / generate / map / train / predict / evaluate.

Every stage goes through :func:`skim.stage.run_stage`, so a stage whose outputs are
complete and whose inputs and settings are unchanged is skipped: rerunning after a crash
continues where the run stopped.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skim._floats import flush_denormals
from skim._io import write_json_atomic
from skim._redact import redact_values
from skim.data import Dataset, load_dataset, load_matrix, resolve_matrix, save_matrix
from skim.direction import source_count
from skim.errors import SkimError
from skim.evaluate.fit import score_model, train_model
from skim.generate.params import GenerateParams
from skim.generate.ray_run import RAY_GENERATORS
from skim.generate.registry import RUNS
from skim.learners.params import TrainParams
from skim.map import manifest_path, matrix_fingerprint
from skim.pipeline.config import GENERATOR_OPTIONS
from skim.pipeline.params import RunParams, run_params
from skim.scale.cluster import connect
from skim.stage import run_stage

Log = Callable[[str], None]


LABEL_METHODS = ("oracle", "mar")  # controls that change the labels, not the learner


def _method_rows(config: dict[str, Any], dataset: Dataset, seeded: bool) -> list[dict[str, Any]]:
    """The rows of the comparison: a name, the labels file key and the training method."""
    base = "observed + seed" if seeded else "observed"
    rows = [{"name": base, "labels": "base", "method": "none"}]
    methods = config["train"]["methods"]
    for method in methods:
        if method not in ("none", *LABEL_METHODS):
            rows.append({"name": f"{base}, {method}", "labels": "base", "method": method})
    if "mar" in methods and dataset.trn_X_Y_unbiased is not None:
        rows.append({"name": "MAR control (same pair count)", "labels": "mar", "method": "none"})
    for gen in config["generate"]["generators"]:
        label = RUNS[gen].label or f"SKIM ({gen})"
        rows.append({"name": label, "labels": f"skim-{gen}", "method": "none"})
    oracle = config["train"]["oracle"] or "oracle" in methods
    if oracle and dataset.trn_X_Y_unbiased is not None:
        rows.append({"name": "oracle (complete labels)", "labels": "unbiased", "method": "none"})
    return rows


def _seed_rows(out: Path, direction: str) -> list[int] | None:
    """Train rows whose complete labels the gold teacher added (None when not known)."""
    manifest = manifest_path(out / "demos.jsonl")
    if direction != "queries-to-labels" or not manifest.exists():
        return None
    info = json.loads(manifest.read_text(encoding="utf-8"))
    return info.get("seed_items") if info.get("teacher") == "gold" else None


def _mar_stage(run: RunParams, out: Path, dataset: Dataset, base: Path, log: Log) -> Path:
    """Figure 3's control: a uniform random sample of the true train pairs, as many as observed,
    plus the same seed rows as every other method."""
    from skim.simulate import simulate_bias

    target = out / "trn_X_Y_mar.npz"

    def make() -> None:
        fraction = dataset.trn_X_Y.nnz / max(dataset.trn_X_Y_unbiased.nnz, 1)
        mar = simulate_bias(dataset, mar_fraction=fraction, seed=run.seed).trn_X_Y
        seed_matrix = load_matrix(base)
        seed_rows = _seed_rows(out, run.direction)
        if seed_rows is None:  # no list of the seed: the rows where it changed the clicks
            seed_rows = np.flatnonzero(np.diff((seed_matrix != dataset.trn_X_Y).tocsr().indptr))
        mar = mar.tolil()
        mar[seed_rows] = seed_matrix[seed_rows]
        save_matrix(target, mar.tocsr())

    run_stage(out, "mar", make, [target], [Path(dataset.path), base], {"seed": run.seed}, log)
    return target


def _dataset_stage(config: dict[str, Any], run: RunParams, out: Path, log: Log) -> Path:
    """The dataset folder: the configured one, or the builder's; then the simulation, if any
    (both encode on ``run.ray``'s cluster when there is one)."""
    seed = run.seed
    ds_conf = config["dataset"]
    if ds_conf["path"] is not None:
        src = Path(ds_conf["path"])
    else:
        from skim.registry import load
        from skim.simulate.builders import BUILDERS

        build = load(BUILDERS.lookup(ds_conf["builder"]).build)
        src = out / "dataset"
        settings = {**{k: v for k, v in ds_conf.items() if k != "path"}, "seed": seed}
        run_stage(
            out,
            "dataset",
            lambda: build(src, {**ds_conf, "ray": run.ray}, seed),  # ray: not in the stamp
            outputs=[src / "dataset.json"],
            settings=settings,
            log=log,
        )
    if not config["_present"]["simulate"]:
        return src
    from skim.data.output import save_dataset_dir
    from skim.simulate import simulate_bias

    sim = config["simulate"]
    dst = out / "simulated"

    def simulate() -> None:
        biased = simulate_bias(
            load_dataset(src), **{k: sim[k] for k in _SIMULATE}, seed=seed, ray=run.ray
        )
        save_dataset_dir(biased, dst)

    run_stage(out, "simulate", simulate, [dst / "dataset.json"], [src], sim, log)
    return dst


_SIMULATE = ("exposure_topk", "encoder", "click_model", "temperature", "mar_fraction")


def _teach_stage(
    config: dict[str, Any], run: RunParams, out: Path, dataset: Dataset, log: Log
) -> tuple[Path, Path]:
    """Demonstrations and the base train matrix every method trains on."""
    ds_dir = Path(dataset.path)
    teach = config["teach"]
    demos = out / "demos.jsonl"
    if teach["teacher"] == "gold":
        from skim.teach import gold_teacher

        seed = out / "demos.seed.npz"
        run_stage(
            out,
            "teach",
            lambda: gold_teacher(
                dataset, demos, run.direction, teach["seed_fraction"], seed=run.seed
            ),
            [demos, seed],
            [ds_dir],
            {**teach, "direction": run.direction, "seed": run.seed},
            log,
        )
        return demos, seed
    from skim.teach import teach as ask_teacher

    run_stage(
        out,
        "teach",
        lambda: ask_teacher(dataset, demos, run.direction, params=run.teach),
        [demos],
        [ds_dir],
        {"teacher": "endpoint", "direction": run.direction, **run.teach.to_dict()},
        log,
    )
    return demos, ds_dir / "trn_X_Y.npz"


def _sample_items(dataset: Dataset, direction: str, count: int, seed: int) -> list[int]:
    """A fixed random sample of source items, so a model generator's cost stays bounded."""
    total = source_count(dataset, direction)
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(total, size=min(count, total), replace=False))


def _distill_stage(
    config: dict[str, Any],
    run: RunParams,
    out: Path,
    dataset: Dataset,
    demos: Path,
    base: Path,
    log: Log,
) -> str:
    """The student the model generators run: ``[generate] student``, or one distilled here."""
    if config["generate"]["student"] is not None:
        return config["generate"]["student"]
    from skim.distill import distill
    from skim.distill.demos import observed_pairs

    slm_dir = out / "slm"
    n_observed = config["distill"]["observed_demos"]

    def train_slm() -> None:
        with_seed = dataset.replace(trn_X_Y=load_matrix(base))
        extra = observed_pairs(with_seed, run.direction, n_observed, run.seed)
        distill(demos, slm_dir, params=run.distill, extra_pairs=extra or None)

    settings = {**run.distill.to_dict(), "observed_demos": n_observed}
    run_stage(
        out, "distill", train_slm, [slm_dir / "skim_distill.json"], [demos, base], settings, log
    )
    return str(slm_dir)


def _generator_params(
    config: dict[str, Any], run: RunParams, gen: str, model: str | None
) -> tuple[GenerateParams, list[Path]]:
    """The parameters of generator run ``gen`` (see :data:`skim.generate.registry.RUNS`) and
    the inputs it reads: the ``[generate]`` settings of :data:`GENERATOR_OPTIONS` that are set
    and that its generator takes are its options."""
    entry = RUNS[gen]
    gen_conf = config["generate"]
    options = {
        key: gen_conf[key]
        for key, (_, takers) in GENERATOR_OPTIONS.items()
        if gen_conf[key] is not None and entry.generator in takers
    }
    p = dataclasses.replace(run.generate, generator=entry.generator, options=options)
    inputs: list[Path] = []
    if entry.student:
        p = dataclasses.replace(p, model=model)
        if entry.no_metadata is not None:
            p = dataclasses.replace(p, no_metadata=entry.no_metadata)
        inputs.append(Path(model))
    elif entry.endpoint:  # [generate] model, else the teacher's
        options = {"endpoint": run.teach.endpoint, **options}
        p = dataclasses.replace(p, model=gen_conf["model"] or run.teach.model, options=options)
    elif entry.no_metadata or (entry.no_metadata is None and gen_conf["no_metadata"]):
        p = dataclasses.replace(p, no_metadata=True)
    if entry.generator in RAY_GENERATORS:  # the others stay in this process ([ray] says so)
        p = dataclasses.replace(p, ray=run.ray)
    return p, inputs


def _generate_stages(
    config: dict[str, Any],
    run: RunParams,
    out: Path,
    dataset: Dataset,
    demos: Path,
    base: Path,
    log: Log,
) -> dict[str, Path]:
    from skim.generate import generate

    ds_dir = Path(dataset.path)
    gen_conf = config["generate"]
    needs_model = any(RUNS[g].student for g in gen_conf["generators"])
    model = _distill_stage(config, run, out, dataset, demos, base, log) if needs_model else None
    sampled = None  # the same sample for every model generator
    if needs_model and gen_conf["model_items"] is not None:
        sampled = _sample_items(dataset, run.direction, gen_conf["model_items"], run.seed)
    outputs: dict[str, Path] = {}
    for gen in gen_conf["generators"]:
        path = out / f"synthetic-{gen}.jsonl"
        params, inputs = _generator_params(config, run, gen, model)
        items = sampled if RUNS[gen].student else None

        def run_generator(path: Path = path, params=params, items=items) -> None:
            summary = generate(dataset, path, run.direction, params=params, items=items)
            if summary.get("failed"):  # not a finished stage: a rerun asks for them again
                raise SkimError(
                    f"{summary['failed']} items failed after the last retry (listed in "
                    f"{summary['failed_path']}); rerun to ask them again"
                )

        settings = {**params.to_dict(), "direction": run.direction}
        if items is not None:
            settings["items"] = items
        run_stage(out, f"generate-{gen}", run_generator, [path], [ds_dir, *inputs], settings, log)
        outputs[gen] = path
    return outputs


def _base_model(
    run: RunParams, out: Path, dataset: Dataset, base: Path, learner: str, log: Log
) -> str:
    """The folder of ``learner`` trained on this run's base labels (the baseline row's model)."""
    row = {"labels": "base", "method": "none"}
    return str(_train_model(run, out, dataset, row, base, learner, log))


def _map_stages(
    config: dict[str, Any],
    run: RunParams,
    out: Path,
    dataset: Dataset,
    base: Path,
    synthetic: dict[str, Path],
    log: Log,
) -> dict[str, Path]:
    from skim.map import map_synthetic, write_mapping
    from skim.map.tau import TauUnreachable

    if not synthetic:
        return {}
    ds_dir = Path(dataset.path)
    conf = config["map"]
    params = run.map
    if params.encoder == "dual":  # the dual learner trained on this run's base labels
        params = dataclasses.replace(
            params, encoder=_base_model(run, out, dataset, base, "dual", log)
        )
    agree = None
    if conf["agree_learner"]:
        agree = _base_model(run, out, dataset, base, conf["agree_learner"], log)
    known_rows = _seed_rows(out, run.direction)
    results = {}
    for gen, path in synthetic.items():
        target = out / f"trn_X_Y_skim-{gen}.npz"

        def do_map(path: Path = path, target: Path = target, gen: str = gen) -> None:
            try:
                matrix, manifest = map_synthetic(
                    dataset, path, run.direction, params, observed=load_matrix(base), known=base,
                    known_rows=known_rows, agree_with=agree,
                )  # fmt: skip
            except TauUnreachable as exc:
                # the calibration guard: pairs that cannot be trusted are not added at all
                log(f"[map-{gen}] adds no pairs: {exc}")
                matrix = load_matrix(base)
                manifest = {
                    "tau": None,
                    "added_nothing": str(exc),
                    "counts": {"new_pairs": 0},
                    "tau_table": exc.table,
                }
            write_mapping(target, matrix, manifest)

        models = [Path(m) for m in (params.encoder, agree) if m and Path(m).is_dir()]
        settings = {**params.to_dict(), "agree_learner": conf["agree_learner"]}
        run_stage(out, f"map-{gen}", do_map, [target], [ds_dir, base, path, *models], settings, log)
        results[gen] = target
    return results


def _label_files(ds_dir: Path, base: Path, mapped: dict[str, Path]) -> dict[str, Path]:
    files = {"base": base}
    unbiased = resolve_matrix(ds_dir, "trn_X_Y_unbiased")
    if unbiased is not None:
        files["unbiased"] = unbiased
    files.update({f"skim-{gen}": path for gen, path in mapped.items()})
    return files


def _train_model(
    run: RunParams,
    out: Path,
    dataset: Dataset,
    row: dict[str, Any],
    labels: Path,
    learner: str,
    log: Log,
) -> Path:
    """Train one learner on one labels file (skipped when already trained); return its folder.

    Its stamp holds only what changes this model: adding a method to the comparison retrains
    nothing else.
    """
    epochs = run.epochs.get(learner) if isinstance(run.epochs, dict) else run.epochs
    settings: dict[str, Any] = {"learner": learner, "method": row["method"]}
    if epochs:
        settings["epochs"] = epochs
    params = TrainParams.build(run.train, "train", **settings)
    slug = f"{row['labels']}-{row['method']}-{learner}"
    return train_model(out, dataset, labels, params, slug, log)


def _train_and_score(
    config: dict[str, Any],
    run: RunParams,
    out: Path,
    dataset: Dataset,
    rows: list[dict[str, Any]],
    files: dict[str, Path],
    log: Log,
) -> list[dict[str, Any]]:
    evaluate = dataclasses.replace(run.evaluate, k=sorted(set(run.evaluate.k) | set(CURVE_K)))
    results = []
    trained: dict[tuple[str, str, str], dict[str, Any]] = {}
    names = {row["labels"] for row in rows}
    content = {name: matrix_fingerprint(load_matrix(files[name])) for name in names}
    for row in rows:
        for learner in config["train"]["learners"]:
            # identical labels (e.g. a mapping that added nothing) give the identical model
            same = (content[row["labels"]], row["method"], learner)
            if same in trained:
                log(f"[{row['name']} / {learner}] same labels as an earlier row: results reused")
                results.append({**trained[same], "method": row["name"]})
                continue
            model_dir = _train_model(run, out, dataset, row, files[row["labels"]], learner, log)
            metrics = score_model(out, dataset, model_dir, evaluate, log, ray=run.ray)
            result = {"method": row["name"], "learner": learner, "metrics": metrics}
            results.append({**result, "empty_rows": evaluate.empty_rows})
            trained[same] = results[-1]
    return results


CURVE_K = (1, 2, 3, 5, 10, 25, 50, 100)


@flush_denormals()
def run_pipeline(config: dict[str, Any], log: Log = print) -> Path:
    """Run every configured stage under ``[run] out`` and write ``report.md``; return its path.

    Subnormal floats are flushed to zero from the start (see :func:`skim._floats.flush_denormals`).
    """
    from skim.evaluate.report import write_report

    run = run_params(config)
    if run.ray is not None:  # an unreachable cluster fails now, before any stage
        connect(run.ray.address)
    out = Path(config["run"]["out"])
    out.mkdir(parents=True, exist_ok=True)
    saved = {k: v for k, v in config.items() if not k.startswith("_")}
    write_json_atomic(out / "config.json", redact_values(saved))  # no endpoint password
    ds_dir = _dataset_stage(config, run, out, log)
    dataset = load_dataset(ds_dir)  # once: every stage below reads this one
    demos, base = _teach_stage(config, run, out, dataset, log)
    synthetic = _generate_stages(config, run, out, dataset, demos, base, log)
    mapped = _map_stages(config, run, out, dataset, base, synthetic, log)
    rows = _method_rows(config, dataset, seeded=config["teach"]["teacher"] == "gold")
    files = _label_files(ds_dir, base, mapped)
    if any(row["labels"] == "mar" for row in rows):
        files["mar"] = _mar_stage(run, out, dataset, base, log)
    results = _train_and_score(config, run, out, dataset, rows, files, log)
    write_json_atomic(out / "metrics.json", results)
    manifests = {
        gen: json.loads(manifest_path(path).read_text(encoding="utf-8"))
        for gen, path in mapped.items()
        if manifest_path(path).exists()
    }
    return write_report(out, dataset, results, manifests, synthetic, mapped, load_matrix(base))
