import json
import sys
import textwrap

import pytest

import disbench
from disbench.error import (
    DeprecatedTask,
    InvalidTaskId,
    NameNotFound,
    NamespaceNotFound,
    RegistrationError,
    UnregisteredTask,
    VersionNotFound,
)
from disbench.registry import TaskSpec, parse_task_id, registry


@pytest.fixture
def scratch_registry():
    """Register test tasks without leaking them into other tests."""
    before = dict(registry)
    yield registry
    registry.clear()
    registry.update(before)


@pytest.mark.parametrize(
    "task_id, parts",
    [
        ("xysquares-mse", (None, "xysquares-mse", None)),
        ("xysquares-mse-v0", (None, "xysquares-mse", 0)),
        ("lab/xysquares-mse-v12", ("lab", "xysquares-mse", 12)),
        ("a.b_c", (None, "a.b_c", None)),
    ],
)
def test_parse_task_id(task_id, parts):
    assert parse_task_id(task_id) == parts


@pytest.mark.parametrize("bad", ["", "two/slashes/x", "spaces are bad", "/x", "x/", 3])
def test_malformed_ids_are_clear_value_errors(bad):
    with pytest.raises(InvalidTaskId, match="task id"):
        parse_task_id(bad)
    assert issubclass(InvalidTaskId, ValueError)


def test_make_resolves_latest_version_and_records_full_id(scratch_registry):
    disbench.register("demo-v0", kwargs={"dataset": "xcolumns", "loss": "mse"})
    disbench.register("demo-v2", kwargs={"dataset": "xcolumns", "loss": "l1"})
    task = disbench.make("demo")
    assert task.spec.id == "demo-v2" and task.loss.name == "l1"
    assert disbench.make("demo-v0").loss.name == "mse"
    assert disbench.make("xysquares-mse").spec.id == "xysquares-mse-v0"


def test_errors_suggest_fixes(scratch_registry):
    with pytest.raises(NameNotFound, match="Did you mean 'xysquares-mse'"):
        disbench.make("xysqares-mse")
    with pytest.raises(VersionNotFound, match="xysquares-mse-v0"):
        disbench.make("xysquares-mse-v3")
    with pytest.raises(NamespaceNotFound):
        disbench.make("nolab/xysquares-mse")
    disbench.register("old-v0", kwargs={"dataset": "xcolumns"}, deprecated="new-v1")
    disbench.register("old-v1", kwargs={"dataset": "xcolumns"})
    with pytest.raises(DeprecatedTask, match="new-v1"):
        disbench.make("old-v0")
    assert disbench.make("old").spec.id == "old-v1"
    for error in (NameNotFound, VersionNotFound, DeprecatedTask, NamespaceNotFound):
        assert issubclass(error, UnregisteredTask)


def test_reregistering_identical_is_silent_and_different_warns(scratch_registry, recwarn):
    disbench.register("twice-v0", kwargs={"dataset": "xcolumns"})
    disbench.register("twice-v0", kwargs={"dataset": "xcolumns"})
    assert len(recwarn) == 0
    with pytest.warns(UserWarning, match="Overriding"):
        disbench.register("twice-v0", kwargs={"dataset": "xyblocks"})


def test_kwargs_override_marks_off_protocol_but_runtime_kwargs_do_not():
    task = disbench.make("xysquares-mse", grid_spacing=4)
    assert task.off_protocol and task.spec.kwargs["grid_spacing"] == 4 and task.data.grid_spacing == 4
    assert disbench.registry["xysquares-mse-v0"].kwargs["grid_spacing"] == 8
    same = disbench.make("xysquares-mse", grid_spacing=8)
    assert not same.off_protocol
    with pytest.raises(disbench.error.DataError, match="generated on the fly"):
        disbench.make("xysquares-mse", download=True)


def test_spec_json_round_trip_rebuilds_the_task():
    spec = disbench.spec("xysquares-s3-mse")
    text = spec.to_json()
    again = TaskSpec.from_json(text)
    assert again.to_dict() == spec.to_dict() == json.loads(text)
    task = disbench.make(again)
    assert task.data.grid_spacing == 3 and task.spec.id == "xysquares-s3-mse-v0"
    assert again.protocols["standard"].hash() == spec.protocols["standard"].hash()


def test_make_imports_module_before_resolving(tmp_path, monkeypatch, scratch_registry):
    package = tmp_path / "mytasks.py"
    package.write_text(textwrap.dedent('''
        import disbench
        from disbench.task import Task
        from disbench.data.xysquares import XYSquares

        def make_task(spacing):
            return Task(XYSquares(grid_spacing=spacing), "l1")

        disbench.register("lab/custom-v0", entry_point="mytasks:make_task", kwargs={"spacing": 2})
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    task = disbench.make("mytasks:lab/custom")
    assert task.spec.id == "lab/custom-v0" and task.data.grid_spacing == 2 and task.loss.name == "l1"
    sys.modules.pop("mytasks", None)


def test_bad_entry_points_are_registration_errors(scratch_registry):
    disbench.register("broken-v0", entry_point="no_such_module:fn")
    with pytest.raises(RegistrationError, match="no_such_module"):
        disbench.make("broken")
    disbench.register("wrongtype-v0", entry_point="builtins:dict")
    with pytest.raises(RegistrationError, match="expected a disbench.Task"):
        disbench.make("wrongtype")


def test_protocol_tiers_and_hash():
    spec = disbench.spec("xysquares-mse")
    standard, quick, smoke = (spec.protocols[t] for t in ("standard", "quick", "smoke"))
    assert (standard.steps, standard.batch_size, standard.lr, standard.optimizer) == (57_600, 256, 1e-3, "adam")
    assert standard.seeds == (0, 1, 2, 3, 4) and standard.metric_suite == "standard"
    assert quick.steps < standard.steps and smoke.steps < quick.steps
    assert len({standard.hash(), quick.hash(), smoke.hash()}) == 3
    assert standard.hash() == disbench.spec("xysquares-mse-v0").protocols["standard"].hash()


def test_pprint_registry_has_adversarial_column():
    text = disbench.pprint_registry(print_output=False)
    assert "adversarial" in text.splitlines()[0]
    line = next(line for line in text.splitlines() if line.startswith("xysquares-mse-v0"))
    assert " yes " in line
