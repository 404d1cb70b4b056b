"""The pipeline end to end on the smallest WordNet subset, with the real bundled encoder."""

import json

import pytest

from skim.demo import demo_config
from skim.pipeline import check_config, run_pipeline


@pytest.fixture
def tiny_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "cache"))
    raw = demo_config(tmp_path / "run", quick=True)
    raw["dataset"]["lexfiles"] = ["noun.motive", "noun.Tops"]  # 93 synsets
    raw["teach"]["seed_fraction"] = 0.25
    raw["train"]["epochs"] = 1
    raw["train"]["methods"] = ["none", "mar"]
    return check_config(raw, "test")


def test_tiny_demo_runs_end_to_end_and_a_rerun_skips_every_stage(tiny_demo):
    logs: list[str] = []
    report = run_pipeline(tiny_demo, log=logs.append)
    out = report.parent
    text = report.read_text()
    rows = ("observed + seed", "MAR control (same pair count)", "SKIM (extractive)")
    for row in (*rows, "oracle (complete labels)"):
        assert f"| {row} | ova |" in text and f"| {row} | dual |" in text
    assert (out / "recall.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((out / "metrics.json").read_text())
    assert len(results) == 8 and all("unbiased" in r["metrics"] for r in results)
    assert all(r["empty_rows"] == "skip" for r in results) and "empty_rows = skip" in text
    assert all(0 <= v <= 1 for r in results for v in r["metrics"]["unbiased"].values())
    manifest = json.loads((out / "trn_X_Y_skim-extractive.manifest.json").read_text())
    assert manifest["counts"]["new_pairs"] >= 0
    assert any(line.startswith("[train-base-none-dual] running") for line in logs)

    again: list[str] = []
    run_pipeline(tiny_demo, log=again.append)
    ran = [line for line in again if line.endswith("running")]
    assert ran == [], ran
    assert json.loads((out / "metrics.json").read_text()) == results


def test_a_changed_setting_reruns_only_the_stages_it_reaches(tiny_demo):
    run_pipeline(tiny_demo, log=lambda m: None)
    tiny_demo["train"]["learners"] = ["ova"]
    tiny_demo["map"]["topk"] = 5
    logs: list[str] = []
    run_pipeline(tiny_demo, log=logs.append)
    ran = {line.split("]")[0][1:] for line in logs if line.endswith("running")}
    assert "dataset" not in ran and "teach" not in ran and "generate-extractive" not in ran
    assert "map-extractive" in ran


def test_udapdr_row_generates_without_metadata_from_the_distilled_student(tiny_demo):
    tiny_demo["generate"]["generators"] = ["udapdr"]
    tiny_demo["generate"]["model_items"] = 20
    tiny_demo["distill"].update(max_steps=4, hidden_size=32, num_layers=1, observed_demos=20)
    tiny_demo["train"]["learners"] = ["ova"]
    tiny_demo["train"]["methods"] = ["none"]
    report = run_pipeline(tiny_demo, log=lambda m: None)
    out = report.parent
    assert "| UDAPDR (no metadata) | ova |" in report.read_text()
    records = [json.loads(line) for line in (out / "synthetic-udapdr.jsonl").open()]
    assert len(records) <= 20 and all(r["settings"]["no_metadata"] for r in records)
    assert (out / "slm" / "skim_distill.json").exists()


def test_map_levers_from_the_config(tiny_demo):
    # top-100 of 93 labels: the agreement keeps every pair, so the seed rows get new pairs at
    # tau 0.5 and the calibration has something to fit
    tiny_demo["map"].update(
        tau=0.5, target_precision=None, agree_learner="dual", agree_topk=100, calibrated=True
    )
    tiny_demo["train"]["learners"] = ["ova"]
    tiny_demo["train"]["methods"] = ["none"]
    report = run_pipeline(tiny_demo, log=lambda m: None)
    manifest = json.loads((report.parent / "trn_X_Y_skim-extractive.manifest.json").read_text())
    settings = manifest["settings"]
    assert settings["calibrated"] and settings["agree_topk"] == 100
    assert settings["agree_with"].endswith("models/base-none-dual")
    assert manifest["counts"]["removed_by_agreement"] == 0
    steps = manifest["calibration"]["steps"]
    assert steps and all(0 <= value <= 1 for _, value in steps)


def test_demo_whatif_puts_simulated_points_and_the_measured_skim_point_on_one_curve(tiny_demo):
    from skim.demo import WHATIF_PRECISIONS, run_whatif

    tiny_demo["train"]["methods"] = ["none"]
    tiny_demo["train"]["learners"] = ["ova"]
    report = run_pipeline(tiny_demo, log=lambda m: None)
    table = run_whatif(report.parent, tiny_demo, log=lambda m: None)
    rows = json.loads(table.with_suffix(".json").read_text())
    kinds = [r["kind"] for r in rows]
    assert kinds == ["baseline"] + ["simulated"] * len(WHATIF_PRECISIONS) + ["measured"]
    assert rows[-1]["name"] == "SKIM (extractive)"
    assert rows[0]["ova"]["gain"] == 0
    # the measured point's gain is the report's: same labels, same learner, same seed
    metrics = json.loads((report.parent / "metrics.json").read_text())
    r100 = {r["method"]: r["metrics"]["unbiased"]["R@100"] for r in metrics}
    assert rows[-1]["ova"]["gain"] == pytest.approx(
        r100["SKIM (extractive)"] - r100["observed + seed"], abs=1e-6
    )
    assert "| real: SKIM (extractive) |" in table.read_text()
    assert table.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_report_examples_are_never_empty_even_when_the_filters_keep_nothing(tiny_demo):
    # no pair has 1,000 votes: every proposed pair is removed, so the report says so
    tiny_demo["map"].update(tau=0.5, target_precision=None, min_votes=1000)
    tiny_demo["train"]["learners"] = ["ova"]
    tiny_demo["train"]["methods"] = ["none"]
    report = run_pipeline(tiny_demo, log=lambda m: None)
    text = report.read_text()
    counts = json.loads((report.parent / "trn_X_Y_skim-extractive.manifest.json").read_text())[
        "counts"
    ]
    assert counts["pairs_kept"] == 0 and counts["removed_by_votes"] > 0
    section = text.split("## Examples: extractive")[1]
    assert (
        f"No pair was added: {counts['pairs_proposed']:,} neighbours scored at least tau = 0.5, "
        f"but the filters left none ({counts['removed_by_votes']:,} removed by votes)." in section
    )
    assert "-> at tau: " in section and "generated *" in section
    assert "- **extractive**: 0 pairs added at tau 0.5" in text.split("## ")[0]


def test_a_fixed_tau_with_seed_rows_draws_the_tau_sweep_with_the_tau_used(tiny_demo):
    # skim run's default mapping: tau 0.8, no lever, the gold seed rows known
    tiny_demo["map"].update(tau=0.8, target_precision=None, min_votes=1, agree_learner=None)
    tiny_demo["train"]["learners"] = ["ova"]
    tiny_demo["train"]["methods"] = ["none"]
    report = run_pipeline(tiny_demo, log=lambda m: None)
    manifest = json.loads((report.parent / "trn_X_Y_skim-extractive.manifest.json").read_text())
    taus = [r["tau"] for r in manifest["tau_table"]]
    assert taus[0] == 0.5 and taus[-1] == 0.99 and 0.8 in taus
    assert manifest["settings"]["tau"] == 0.8 and manifest["tau_estimate"]["tau"] == 0.8
    assert (report.parent / "tau-extractive.png").read_bytes()[:4] == b"\x89PNG"
    assert "![tau sweep: extractive](tau-extractive.png)" in report.read_text()
