"""Strategies: one device, MirroredStrategy on logical CPU devices, two workers on localhost.

Logical devices must be made before TensorFlow starts, so these run in fresh processes.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from morphlib.model.devices import read_tf_config
from morphlib.errors import ParameterError

from .conftest import TINY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN = """
import json, sys
from morphlib.config import AnalysisSettings
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
settings = AnalysisSettings(**json.loads(sys.argv[1]))
loops = load_folder(sys.argv[2], settings, progress=False, cache=False)
for model_dir, strategy, epochs in json.loads(sys.argv[3]):
    m = train(loops, model_dir, epochs=epochs, preset="tiny", recipe="tutorial", precision="float32",
              strategy=strategy, seed=int(sys.argv[4]), progress=False)
print(json.dumps([r["loss"] for r in m.history]))
"""


def _run(args, env=None, timeout=600):
    return subprocess.Popen([sys.executable, "-c", TRAIN, json.dumps(TINY.to_dict()), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})


def _losses(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), out


@pytest.mark.slow
def test_mirrored_on_two_cpu_devices_follows_one_device_and_resumes(tiny_folder, tmp_path):
    one = _run([tiny_folder, json.dumps([[str(tmp_path / "one"), "default", 12]]), 0])
    one_losses, _ = _losses(one)
    runs = [[str(tmp_path / "two"), "mirrored", 6], [str(tmp_path / "two"), "mirrored", 12]]  # the second resumes
    two = _run([tiny_folder, json.dumps(runs), 0], env={"MORPHLIB_CPU_DEVICES": "2"})
    two_losses, out = _losses(two)
    assert "MirroredStrategy on 2 replicas" in out and "global batch 8" in out and "resuming" in out
    assert len(two_losses) == 12
    # The same global batches; only the posterior's random draws differ between the two,
    # so the curves agree within what another seed changes (stated tolerance: 25 %).
    for a, b in zip(one_losses[3:], two_losses[3:]):
        assert abs(a - b) <= 0.25 * a
    assert two_losses[-1] < 0.85 * two_losses[0]  # and it learns


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_one_model_and_agree(tiny_folder, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    model_dir = tmp_path / "shared"
    procs = [
        _run([tiny_folder, json.dumps([[str(model_dir), "multiworker", 3]]), 0],
             env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    (first, out), (second, _) = [_losses(p, timeout=600) for p in procs]
    assert "MultiWorkerMirroredStrategy on 2 replicas" in out
    assert first == pytest.approx(second, rel=1e-5)  # one model, trained together
    assert {"morphlib.json", "model.keras", "checkpoint"} <= set(os.listdir(model_dir))  # written by worker 0


@pytest.mark.parametrize("text, match", [
    ("", "needs TF_CONFIG"),
    ("{cluster: 1}", "not valid JSON"),
    ('{"cluster": {}}', "with 'cluster' and 'task'"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty 'worker' list"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "index': 0..0"),
])
def test_a_bad_tf_config_says_what_is_wrong(text, match):
    with pytest.raises(ParameterError, match=match):
        read_tf_config(text)


def test_a_good_tf_config_is_read():
    config = read_tf_config('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}')
    assert config["task"]["index"] == 1


@pytest.mark.slow
def test_bad_cpu_device_count_is_named(tiny_folder, tmp_path):
    proc = _run([tiny_folder, json.dumps([[str(tmp_path / "m"), "mirrored", 1]]), 0], env={"MORPHLIB_CPU_DEVICES": "two"})
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0 and "MORPHLIB_CPU_DEVICES must be a whole number >= 1, got 'two'" in err


@pytest.mark.slow
def test_the_command_line_trains_on_two_cpu_devices_and_resumes(tiny_folder, tmp_path):
    """As the README documents it: MORPHLIB_CPU_DEVICES set before Python starts reaches the CLI,
    which analyses the folder (TensorFlow's first use) before it picks the strategy."""
    model_dir = str(tmp_path / "m")
    outs = []
    for epochs in (2, 3):
        out = subprocess.run(
            [sys.executable, "-m", "morphlib", "train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", str(epochs),
             "--strategy", "mirrored", "--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-frames", "16"],
            capture_output=True, text=True, timeout=300, env={**os.environ, "MORPHLIB_CPU_DEVICES": "2"})
        assert out.returncode == 0, out.stderr[-2000:]
        outs.append(out.stdout)
    assert all("MirroredStrategy on 2 replicas" in o for o in outs)
    assert f"resuming {model_dir} after epoch 2" in outs[1] and "done: 3 epochs" in outs[1]


BANK = """
import dataclasses, json, sys
from morphlib.config import AnalysisSettings, get_preset
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
loops = load_folder(sys.argv[2], AnalysisSettings(**json.loads(sys.argv[1])), progress=False, cache=False)
preset = dataclasses.replace(get_preset("tiny"), name="tiny-bank", detail_slots=4, detail_moments="factored")
for epochs in (2, 4):  # the second resumes
    m = train(loops, sys.argv[3], epochs=epochs, preset=preset, strategy="mirrored", progress=False)
print(json.dumps([r["loss"] for r in m.history]))
"""


@pytest.mark.slow
def test_factored_bank_moments_train_and_resume_mirrored(tiny_folder, tmp_path):
    proc = subprocess.run([sys.executable, "-c", BANK, json.dumps(TINY.to_dict()), tiny_folder, str(tmp_path / "m")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": ROOT, "MORPHLIB_CPU_DEVICES": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "MirroredStrategy on 2 replicas" in proc.stdout and "resuming" in proc.stdout
    assert len(losses) == 4 and all(l == l for l in losses)  # finite, not NaN
