"""Two runs never silently share one model folder: the second stops, naming the first; a dead run's lease is taken over."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from morphlib.errors import ModelFolderError
from morphlib.training.lease import LEASE, FolderLease
from morphlib.training.trainer import train


def _plant(model_dir, **fields):
    os.makedirs(model_dir, exist_ok=True)
    record = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time(), "stale_after": 240.0, "token": "other", **fields}
    with open(os.path.join(model_dir, LEASE), "w") as f:
        json.dump(record, f)


@pytest.fixture
def other_process():
    """A live process on this machine that is not this one."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_second_run_stops_naming_the_first(tiny_loops, tmp_path, other_process):
    model_dir = str(tmp_path / "m")
    _plant(model_dir, pid=other_process)
    with pytest.raises(ModelFolderError) as err:
        train(tiny_loops, model_dir, preset="tiny", epochs=2, progress=False, verbose=False)
    message = str(err.value)
    assert f"process {other_process}" in message and socket.gethostname() in message and "since" in message
    assert "\n" not in message and "another folder" in message
    assert os.listdir(model_dir) == [LEASE]  # nothing else was written


def test_a_run_on_another_machine_is_waited_for_until_two_intervals_pass(tiny_loops, tmp_path, capsys):
    model_dir = str(tmp_path / "m")
    _plant(model_dir, host="colab-vm-1", pid=12345, since=time.time() - 100, stale_after=240.0)
    with pytest.raises(ModelFolderError, match="host colab-vm-1, process 12345"):
        train(tiny_loops, model_dir, preset="tiny", epochs=2, progress=False, verbose=False)
    _plant(model_dir, host="colab-vm-1", pid=12345, since=time.time() - 300, stale_after=240.0)
    model = train(tiny_loops, model_dir, preset="tiny", epochs=2, progress=False)
    said = capsys.readouterr().out
    assert "has written no checkpoint for" in said and "taking the folder over" in said
    assert len(model.history) == 2 and not os.path.exists(os.path.join(model_dir, LEASE))  # given back at the end


def test_a_dead_process_on_this_machine_is_taken_over_at_once(tiny_loops, tmp_path, capsys):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    model_dir = str(tmp_path / "m")
    _plant(model_dir, pid=proc.pid)
    train(tiny_loops, model_dir, preset="tiny", epochs=2, progress=False)
    assert f"process {proc.pid} on this machine) has ended" in capsys.readouterr().out


def test_the_lease_is_held_while_training_and_given_back_after(tiny_loops, tmp_path):
    from morphlib.training.trainer import TrainingListener

    seen = []

    class Look(TrainingListener):
        def on_epoch_end(self, epoch, logs=None):
            with open(os.path.join(model_dir, LEASE)) as f:
                seen.append(json.load(f)["pid"])

    model_dir = str(tmp_path / "m")
    train(tiny_loops, model_dir, preset="tiny", epochs=2, progress=False, verbose=False, callbacks=[Look()])
    assert seen == [os.getpid(), os.getpid()] and not os.path.exists(os.path.join(model_dir, LEASE))


def test_a_lease_taken_over_by_another_run_is_not_removed_by_the_first(tmp_path):
    lease = FolderLease(tmp_path, stale_after=1.0)
    lease.acquire()
    _plant(str(tmp_path), host="elsewhere", token="theirs")
    lease.release()
    with open(tmp_path / LEASE) as f:
        assert json.load(f)["token"] == "theirs"


def test_adding_loops_holds_the_folder_too(tiny_model_dir, tiny_folder, tmp_path, other_process):
    import shutil

    from morphlib.training.newloops import add_loops
    from tests.conftest import write_loops

    model_dir = str(tmp_path / "m")
    shutil.copytree(tiny_model_dir, model_dir)
    data = tmp_path / "data"
    shutil.copytree(tiny_folder, data)
    write_loops(data / "new", 2, )
    _plant(model_dir, pid=other_process)
    with pytest.raises(ModelFolderError, match="being written by another run"):
        add_loops(str(data), model_dir, seconds=1, progress=False, verbose=False)
