"""A checked ``skim run`` config becomes one parameters object per stage."""

from pathlib import Path

from skim.demo import demo_config
from skim.distill import DistillParams
from skim.pipeline import check_config
from skim.pipeline.params import run_params


def test_the_run_seed_and_the_tables_reach_every_stage_once():
    raw = demo_config("o", quick=True)
    raw["run"]["seed"] = 7
    raw["map"]["topk"] = 4
    raw["distill"] = {"base": "gemma3-270m", "lora_r": 8}
    run = run_params(check_config(raw))
    stages = (run.teach, run.distill, run.generate, run.train)
    assert run.seed == 7 and all(p.seed == 7 for p in stages)
    assert run.map.topk == 4 and run.map.encoder == "dual"
    assert (run.distill.base, run.distill.from_scratch, run.distill.lora_r) == (
        "gemma3-270m",
        False,
        8,
    )
    assert run.epochs == raw["train"]["epochs"]
    assert run.evaluate.k == check_config(raw)["evaluate"]["k"]


def test_the_batch_api_reaches_the_teacher_not_its_stamp():
    raw = {"dataset": {"path": "d"}, "teach": {"teacher": "llm", "endpoint": "http://h/v1",
                                               "model": "m", "batch_api": True}}  # fmt: skip
    run = run_params(check_config(raw))
    assert run.teach.batch_api is True and run.teach.wait is True  # the run waits for them
    assert "batch_api" not in run.teach.to_dict()  # same answers: a switch reruns nothing


def test_a_default_of_the_config_is_the_stage_dataclass_default():
    config = check_config({"dataset": {"path": "d"}})
    assert config["distill"]["lora_r"] == DistillParams().lora_r
    assert config["distill"]["from_scratch"] is True  # the run's own default: offline


def test_ray_reaches_the_mapping_and_the_generators_that_run_on_it_not_the_stamps():
    from skim.pipeline.run import _generator_params
    from skim.scale.cluster import RayOptions

    raw = {"dataset": {"path": "d"}, "ray": {"address": "auto", "actors": 3}}
    raw["teach"] = {"endpoint": "http://localhost:1/v1", "model": "m"}
    config = check_config(raw)
    run = run_params(config)  # builds the options only: no cluster is joined here
    assert run.ray == RayOptions(address="auto", actors=3, cpus_per_actor=1)
    assert run.map.ray is run.ray and "ray" not in run.map.to_dict()
    extractive, _ = _generator_params(config, run, "extractive", None)
    openai, _ = _generator_params(config, run, "openai", None)
    assert (extractive.ray, openai.ray) == (run.ray, None)  # openai keeps its own concurrency
    assert "ray" not in extractive.to_dict()
    assert run.train.ray is run.ray and "ray" not in run.train.to_dict()
    assert run_params(check_config({"dataset": {"path": "d"}})).map.ray is None


def test_ray_reaches_the_dataset_builder_and_the_simulation_not_their_stamps(tmp_path, monkeypatch):
    import skim.simulate
    from skim.data import save_dataset
    from skim.pipeline.run import _dataset_stage
    from skim.simulate.builders import BUILDERS, BuilderEntry
    from skim.stage import STAMP_DIR

    from ..distill.helpers import toy_dataset

    seen = {}

    def build(out_dir, settings, seed):
        seen["builder"] = settings["ray"]
        return save_dataset(toy_dataset().replace(info={"name": "toy"}), out_dir)

    def simulate_bias(dataset, **settings):
        seen["simulate"] = settings["ray"]
        return dataset

    monkeypatch.setattr(skim.simulate, "simulate_bias", simulate_bias)
    BUILDERS.register("toy", BuilderEntry(build, "a toy"))
    try:
        raw = {"dataset": {"builder": "toy"}, "simulate": {}, "ray": {"address": "auto"}}
        config = check_config(raw)
        run = run_params(config)
        _dataset_stage(config, run, tmp_path, lambda line: None)
    finally:
        BUILDERS.unregister("toy")
    assert seen == {"builder": run.ray, "simulate": run.ray}
    stamps = [p.read_text() for p in (tmp_path / STAMP_DIR).glob("*.json")]
    assert len(stamps) == 2 and not any("auto" in text for text in stamps)


def test_gpu_student_settings_in_the_config_reach_the_vllm_engine(tmp_path, monkeypatch):
    from skim.data import load_dataset, save_dataset
    from skim.pipeline.run import _generate_stages

    from ..distill.helpers import save_tiny_base, toy_dataset
    from ..generate.helpers import fake_vllm

    seen = fake_vllm(monkeypatch)
    data = save_dataset(toy_dataset(), tmp_path / "data")
    student = save_tiny_base(tmp_path / "student")
    gpu = {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.5, "max_model_len": 64}
    sampling = {"max_new_tokens": 32, "temperature": 0.5}
    generate = {"generators": ["vllm"], "student": str(student), "num_return": 1}
    raw = {"dataset": {"path": str(data)}, "generate": {**generate, **gpu, **sampling}}
    config = check_config(raw)
    out = tmp_path / "run"
    dataset = load_dataset(data)
    made = _generate_stages(config, run_params(config), out, dataset, out, out, lambda m: None)
    assert made["vllm"].read_text().count("canine") == len(toy_dataset().trn_texts)
    (engine,) = seen["engines"]
    assert {key: engine[key] for key in gpu} == gpu
    (used,) = seen["sampling"]
    assert (used["max_tokens"], used["temperature"]) == (32, 0.5)


def test_gpu_distill_settings_in_the_config_reach_distill(tmp_path, monkeypatch):
    import json

    from skim.data import load_dataset, save_dataset
    from skim.pipeline.run import _distill_stage

    from ..distill.helpers import toy_dataset, write_demos

    handed = []

    def distill(demos, out_dir, params, extra_pairs=None):
        handed.append(params)
        out_dir.mkdir(parents=True)
        (out_dir / "skim_distill.json").write_text(json.dumps({"settings": {}}))

    monkeypatch.setattr("skim.distill.distill", distill)
    data = save_dataset(toy_dataset(), tmp_path / "data")
    gpu = {"gradient_checkpointing": True, "precision": "bf16", "learning_rate": 3e-4}
    config = check_config({"dataset": {"path": str(data)}, "distill": {"base": "b", **gpu}})
    demos = write_demos(tmp_path / "demos.jsonl")
    out = tmp_path / "run"
    student = _distill_stage(
        config, run_params(config), out, load_dataset(data), demos, data / "trn_X_Y.npz",
        lambda m: None,
    )  # fmt: skip
    assert student == str(out / "slm")
    (params,) = handed
    assert {key: getattr(params, key) for key in gpu} == gpu
    assert params.base == "b" and not params.from_scratch


def test_generate_model_is_the_openai_model_and_student_the_distilled_folder(tmp_path):
    from skim.pipeline.run import _distill_stage, _generator_params

    teach = {"endpoint": "http://localhost:1/v1", "model": "teacher-m"}
    raw = {"dataset": {"path": "d"}, "teach": teach, "generate": {"generators": ["openai"]}}
    config = check_config(raw)
    openai, _ = _generator_params(config, run_params(config), "openai", None)
    assert openai.model == "teacher-m"  # unset: [teach] model
    raw["generate"]["model"] = "gpt-4o-mini"
    config = check_config(raw)
    openai, _ = _generator_params(config, run_params(config), "openai", None)
    assert (openai.model, openai.options["endpoint"]) == ("gpt-4o-mini", teach["endpoint"])

    raw["generate"] = {"generators": ["openai", "slm"], "model": "gpt-4o-mini", "student": "s"}
    config = check_config(raw)
    run = run_params(config)
    assert _distill_stage(config, run, tmp_path, tmp_path, tmp_path, tmp_path, print) == "s"
    slm, inputs = _generator_params(config, run, "slm", "s")
    assert slm.model == "s" and inputs == [Path("s")]
