"""The benchmark's quick mode still runs end to end and reports every figure."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_benchmark_runs(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--quick", "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["n_params"]["baseline"] == 5_943_449  # the baseline really is the tutorial's model
    for key in ("train_speedup", "morph_latency_median_ms", "reload_speedup"):
        assert report[key] > 0
    assert set(report["morph_latency"]) == {"morphlib", "librosa_griffinlim_32"}
    assert set(report["targets"]) >= {"train_speedup", "time_to_baseline_quality", "morph_latency_median_ms", "reload_speedup"}
    assert "TF_ENABLE_ONEDNN_OPTS=0" in report["baseline_note"]
    assert "training s/epoch" in result.stdout
