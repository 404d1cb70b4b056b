"""``skim run``: chain simulate / teach / distill / generate / map / train / predict / evaluate.

Every stage goes through :func:`skim.pipeline.stages.run_stage`, so a stage whose outputs are
complete and whose inputs and settings are unchanged is skipped: rerunning after a crash
continues where the run stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skim._floats import flush_denormals
from skim._io import write_json_atomic
from skim._redact import redact_values
from skim.data import Dataset, load_dataset, load_matrix, resolve_matrix, save_matrix
from skim.errors import SkimError
from skim.generate.ray_run import RAY_GENERATORS
from skim.map import manifest_path, matrix_fingerprint
from skim.pipeline.stages import run_stage
from skim.scale.cluster import ray_options

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
        label = "UDAPDR (no metadata)" if gen == "udapdr" else f"SKIM ({gen})"
        rows.append({"name": label, "labels": f"skim-{gen}", "method": "none"})
    oracle = config["train"]["oracle"] or "oracle" in methods
    if oracle and dataset.trn_X_Y_unbiased is not None:
        rows.append({"name": "oracle (complete labels)", "labels": "unbiased", "method": "none"})
    return rows


def _seed_rows(out: Path, direction: str) -> list[int] | None:
    """Train rows whose complete labels the gold teacher added (None when not known)."""
    manifest = out / "demos.manifest.json"
    if direction != "queries-to-labels" or not manifest.exists():
        return None
    info = json.loads(manifest.read_text(encoding="utf-8"))
    return info.get("seed_items") if info.get("teacher") == "gold" else None


def _mar_stage(config: dict[str, Any], out: Path, ds_dir: Path, base: Path, log: Log) -> Path:
    """Figure 3's control: a uniform random sample of the true train pairs, as many as observed,
    plus the same seed rows as every other method."""
    from skim.simulate import simulate_bias

    target = out / "trn_X_Y_mar.npz"

    def make() -> None:
        dataset = load_dataset(ds_dir)
        fraction = dataset.trn_X_Y.nnz / max(dataset.trn_X_Y_unbiased.nnz, 1)
        mar = simulate_bias(dataset, mar_fraction=fraction, seed=config["run"]["seed"]).trn_X_Y
        seed_matrix = load_matrix(base)
        seed_rows = _seed_rows(out, config["generate"]["direction"])
        if seed_rows is None:  # no list of the seed: the rows where it changed the clicks
            seed_rows = np.flatnonzero(np.diff((seed_matrix != dataset.trn_X_Y).tocsr().indptr))
        mar = mar.tolil()
        mar[seed_rows] = seed_matrix[seed_rows]
        save_matrix(target, mar.tocsr())

    run_stage(out, "mar", make, [target], [ds_dir, base], {"seed": config["run"]["seed"]}, log)
    return target


def _dataset_stage(config: dict[str, Any], out: Path, log: Log) -> Path:
    ds_conf = config["dataset"]
    if ds_conf["path"] is not None:
        src = Path(ds_conf["path"])
    else:
        from skim.simulate import build_wordnet_dataset

        src = out / "dataset"
        settings = {
            **{k: v for k, v in ds_conf.items() if k != "path"},
            "seed": config["run"]["seed"],
        }
        run_stage(
            out,
            "dataset",
            lambda: build_wordnet_dataset(
                src,
                depth=ds_conf["depth"],
                exposure_topk=ds_conf["exposure_topk"],
                source=ds_conf["source"],
                lexfiles=ds_conf["lexfiles"],
                encoder=ds_conf["encoder"],
                seed=config["run"]["seed"],
            ),
            outputs=[src / "dataset.json"],
            settings=settings,
            log=log,
        )
    if not config["_present"]["simulate"]:
        return src
    from skim.simulate import simulate_bias
    from skim.simulate.output import save_dataset_dir

    sim = config["simulate"]
    dst = out / "simulated"

    def simulate() -> None:
        save_dataset_dir(
            simulate_bias(
                load_dataset(src),
                exposure_topk=sim["exposure_topk"],
                encoder=sim["encoder"],
                click_model=sim["click_model"],
                temperature=sim["temperature"],
                mar_fraction=sim["mar_fraction"],
                seed=config["run"]["seed"],
            ),
            dst,
        )

    run_stage(out, "simulate", simulate, [dst / "dataset.json"], [src], sim, log)
    return dst


def _teach_stage(config: dict[str, Any], out: Path, ds_dir: Path, log: Log) -> tuple[Path, Path]:
    """Demonstrations and the base train matrix every method trains on."""
    teach = config["teach"]
    direction = config["generate"]["direction"]
    demos = out / "demos.jsonl"
    if teach["teacher"] == "gold":
        from skim.teach import gold_teacher

        seed = out / "demos.seed.npz"
        run_stage(
            out,
            "teach",
            lambda: gold_teacher(
                load_dataset(ds_dir),
                demos,
                direction,
                teach["seed_fraction"],
                seed=config["run"]["seed"],
            ),
            [demos, seed],
            [ds_dir],
            {**teach, "direction": direction, "seed": config["run"]["seed"]},
            log,
        )
        return demos, seed
    from skim.teach import teach as ask_teacher

    run_stage(
        out,
        "teach",
        lambda: ask_teacher(
            load_dataset(ds_dir),
            demos,
            direction,
            endpoint=teach["endpoint"],
            model=teach["model"],
            n=teach["n"],
            concurrency=teach["concurrency"],
            max_rpm=teach["max_rpm"],
            sample=teach["sample"],
            seed=config["run"]["seed"],
        ),
        [demos],
        [ds_dir],
        {**teach, "direction": direction},
        log,
    )
    return demos, ds_dir / "trn_X_Y.npz"


def _sample_items(ds_dir: Path, direction: str, count: int, seed: int) -> list[int]:
    """A fixed random sample of source items, so a model generator's cost stays bounded."""
    dataset = load_dataset(ds_dir)
    total = dataset.n_trn if direction == "queries-to-labels" else dataset.n_labels
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(total, size=min(count, total), replace=False))


def _generate_stages(
    config: dict[str, Any], out: Path, ds_dir: Path, demos: Path, base: Path, log: Log
) -> dict[str, Path]:
    gen_conf = config["generate"]
    direction = gen_conf["direction"]
    seed = config["run"]["seed"]
    needs_slm = any(g in ("slm", "vllm", "udapdr") for g in gen_conf["generators"])
    slm_dir = out / "slm"
    if needs_slm and gen_conf["model"] is None:
        from skim.distill import distill
        from skim.distill.demos import observed_pairs

        dist = config["distill"]

        def train_slm() -> None:
            dataset = load_dataset(ds_dir)
            with_seed = dataset.replace(trn_X_Y=load_matrix(base))
            extra = observed_pairs(with_seed, direction, dist["observed_demos"], seed)
            distill(
                demos,
                slm_dir,
                base=dist["base"],
                from_scratch=dist["from_scratch"] and dist["base"] is None,
                lora_r=dist["lora_r"],
                epochs=dist["epochs"],
                extra_pairs=extra or None,
                max_steps=dist["max_steps"],
                seed=seed,
                hidden_size=dist["hidden_size"],
                num_layers=dist["num_layers"],
            )

        run_stage(
            out, "distill", train_slm, [slm_dir / "skim_distill.json"], [demos, base], dist, log
        )
    model = gen_conf["model"] or str(slm_dir)
    sampled = None  # the same sample for every model generator
    if needs_slm and gen_conf["model_items"] is not None:
        sampled = _sample_items(ds_dir, direction, gen_conf["model_items"], seed)
    outputs: dict[str, Path] = {}
    ray = ray_options(**config["ray"])
    for gen in gen_conf["generators"]:
        from skim.generate import generate

        path = out / f"synthetic-{gen}.jsonl"
        kwargs: dict[str, Any] = {"generator": gen, "num_return": gen_conf["num_return"]}
        inputs: list[Path] = [ds_dir]
        if gen in ("slm", "udapdr", "vllm") and sampled is not None:
            kwargs["items"] = sampled
        if gen in ("slm", "udapdr"):
            kwargs.update(generator="hf", model=model, no_metadata=gen == "udapdr")
            inputs.append(Path(model))
        elif gen == "vllm":
            kwargs.update(model=model)
            inputs.append(Path(model))
        elif gen == "openai":
            kwargs.update(model=config["teach"]["model"], endpoint=config["teach"]["endpoint"])
        elif gen_conf["no_metadata"]:
            kwargs.update(no_metadata=True)

        def run_generator(path: Path = path, kwargs: dict[str, Any] = kwargs) -> None:
            on_ray = ray if kwargs["generator"] in RAY_GENERATORS else None  # same output
            summary = generate(load_dataset(ds_dir), path, direction, seed=seed, ray=on_ray,
                               **kwargs)  # fmt: skip
            if summary.get("failed"):  # not a finished stage: a rerun asks for them again
                raise SkimError(
                    f"{summary['failed']} items failed after the last retry (listed in "
                    f"{summary['failed_path']}); rerun to ask them again"
                )

        run_stage(
            out,
            f"generate-{gen}",
            run_generator,
            [path],
            inputs,
            {**kwargs, "direction": direction, "seed": seed},
            log,
        )
        outputs[gen] = path
    return outputs


def _map_encoder(
    config: dict[str, Any], out: Path, ds_dir: Path, base: Path, log: Log
) -> str | None:
    """The mapping encoder; ``"dual"`` = the dual learner trained on this run's base labels."""
    spec = config["map"]["encoder"]
    if spec != "dual":
        return spec
    return _base_model(config, out, ds_dir, base, "dual", log)


def _base_model(
    config: dict[str, Any], out: Path, ds_dir: Path, base: Path, learner: str, log: Log
) -> str:
    """The folder of ``learner`` trained on this run's base labels (the baseline row's model)."""
    row = {"labels": "base", "method": "none"}
    return str(_train_model(config, out, ds_dir, row, base, learner, log))


def _map_stages(
    config: dict[str, Any],
    out: Path,
    ds_dir: Path,
    base: Path,
    synthetic: dict[str, Path],
    log: Log,
) -> dict[str, Path]:
    from skim.map import map_synthetic, write_mapping
    from skim.map.tau import TauUnreachable

    conf = config["map"]
    direction = config["generate"]["direction"]
    encoder = _map_encoder(config, out, ds_dir, base, log) if synthetic else None
    agree = None
    if synthetic and conf["agree_learner"]:
        agree = _base_model(config, out, ds_dir, base, conf["agree_learner"], log)
    results = {}
    for gen, path in synthetic.items():
        target = out / f"trn_X_Y_skim-{gen}.npz"

        def do_map(path: Path = path, target: Path = target, gen: str = gen) -> None:
            try:
                matrix, manifest = map_synthetic(
                    load_dataset(ds_dir),
                    path,
                    direction,
                    observed=load_matrix(base),
                    encoder=encoder,
                    index=conf["index"],
                    topk=conf["topk"],
                    tau=conf["tau"],
                    target_precision=conf["target_precision"],
                    known=base,
                    known_rows=_seed_rows(out, direction),
                    min_votes=conf["min_votes"],
                    agree_with=agree,
                    agree_topk=conf["agree_topk"],
                    calibrated=conf["calibrated"],
                    ray=ray_options(**config["ray"]),
                )
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

        inputs = [ds_dir, base, path] + [
            Path(model) for model in (encoder, agree) if model and Path(model).is_dir()
        ]
        run_stage(out, f"map-{gen}", do_map, [target], inputs, conf, log)
        results[gen] = target
    return results


def _label_files(ds_dir: Path, base: Path, mapped: dict[str, Path]) -> dict[str, Path]:
    files = {"base": base}
    unbiased = resolve_matrix(ds_dir, "trn_X_Y_unbiased")
    if unbiased is not None:
        files["unbiased"] = unbiased
    files.update({f"skim-{gen}": path for gen, path in mapped.items()})
    return files


def _epochs(setting: int | dict[str, int] | None, learner: str) -> dict[str, int]:
    """``train``'s epochs argument: one number for every learner, or one per learner."""
    value = setting.get(learner) if isinstance(setting, dict) else setting
    return {"epochs": value} if value else {}


def _train_model(
    config: dict[str, Any],
    out: Path,
    ds_dir: Path,
    row: dict[str, Any],
    labels: Path,
    learner: str,
    log: Log,
) -> Path:
    """Train one learner on one labels file (skipped when already trained); return its folder."""
    from skim.learners import train

    conf = config["train"]
    slug = f"{row['labels']}-{row['method']}-{learner}"
    model_dir = out / "models" / slug
    # only what changes this model: adding a method to the comparison retrains nothing else
    settings = {
        "learner": learner,
        "method": row["method"],
        "seed": config["run"]["seed"],
        "encoder": conf["encoder"],
        "with_metadata": conf["with_metadata"],
        **_epochs(conf["epochs"], learner),
    }
    run_stage(
        out,
        f"train-{slug}",
        lambda: train(
            load_dataset(ds_dir),
            model_dir,
            learner=learner,
            labels=labels,
            method=row["method"],
            with_metadata=conf["with_metadata"],
            seed=config["run"]["seed"],
            encoder=conf["encoder"],
            **_epochs(conf["epochs"], learner),
        ),
        [model_dir / "skim_model.json"],
        [ds_dir, labels],
        settings,
        log,
    )
    return model_dir


def _train_and_score(
    config: dict[str, Any],
    out: Path,
    ds_dir: Path,
    dataset: Dataset,
    rows: list[dict[str, Any]],
    files: dict[str, Path],
    log: Log,
) -> list[dict[str, Any]]:
    from skim.evaluate import evaluate_predictions
    from skim.learners import predict

    ks = sorted(set(config["evaluate"]["k"]) | set(CURVE_K))
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
            model_dir = _train_model(config, out, ds_dir, row, files[row["labels"]], learner, log)
            pred_path = out / "predictions" / f"{model_dir.name}.npz"
            run_stage(
                out,
                f"predict-{model_dir.name}",
                lambda model_dir=model_dir, pred_path=pred_path: save_matrix(
                    pred_path, predict(dataset, model_dir, k=max(ks))
                ),
                [pred_path],
                [ds_dir, model_dir],
                {"k": max(ks)},
                log,
            )
            metrics = evaluate_predictions(dataset, load_matrix(pred_path), ks)
            results.append({"method": row["name"], "learner": learner, "metrics": metrics})
            trained[same] = results[-1]
    return results


CURVE_K = (1, 2, 3, 5, 10, 25, 50, 100)


@flush_denormals()
def run_pipeline(config: dict[str, Any], log: Log = print) -> Path:
    """Run every configured stage under ``[run] out`` and write ``report.md``; return its path.

    Subnormal floats are flushed to zero from the start (see :func:`skim._floats.flush_denormals`).
    """
    from skim.evaluate.report import write_report

    out = Path(config["run"]["out"])
    out.mkdir(parents=True, exist_ok=True)
    saved = {k: v for k, v in config.items() if not k.startswith("_")}
    write_json_atomic(out / "config.json", redact_values(saved))  # no endpoint password
    ds_dir = _dataset_stage(config, out, log)
    demos, base = _teach_stage(config, out, ds_dir, log)
    synthetic = _generate_stages(config, out, ds_dir, demos, base, log)
    mapped = _map_stages(config, out, ds_dir, base, synthetic, log)
    dataset = load_dataset(ds_dir)
    rows = _method_rows(config, dataset, seeded=config["teach"]["teacher"] == "gold")
    files = _label_files(ds_dir, base, mapped)
    if any(row["labels"] == "mar" for row in rows):
        files["mar"] = _mar_stage(config, out, ds_dir, base, log)
    results = _train_and_score(config, out, ds_dir, dataset, rows, files, log)
    write_json_atomic(out / "metrics.json", results)
    manifests = {
        gen: json.loads(manifest_path(path).read_text(encoding="utf-8"))
        for gen, path in mapped.items()
        if manifest_path(path).exists()
    }
    return write_report(out, dataset, results, manifests, synthetic, mapped, load_matrix(base))
