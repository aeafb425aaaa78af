import json
import re
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
from disbench.protocol import TIERS
from disbench.registration import TaskSpec, parse_task_id, unregistered_hint


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
    with pytest.warns(UserWarning, match="not the latest"):
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


def test_module_id_finds_a_module_in_the_current_folder_that_shadows_nothing(tmp_path, monkeypatch, scratch_registry):
    """What the installed ``disbench`` script needs (its path lacks the current folder): 'module:id'
    imports ./module.py, with the folder appended to the search for that import only, so an
    installed module of the same name as a file there still wins, and the path is left as it was.
    The tasks it registers remember the module, which is how a record finds them again."""
    installed, here = tmp_path / "site-packages", tmp_path / "work"
    installed.mkdir()
    here.mkdir()
    (installed / "shadowme.py").write_text("WHERE = 'installed'\n")
    (here / "shadowme.py").write_text("raise ImportError('the current folder shadowed an installed module')\n")
    (here / "heretasks.py").write_text(textwrap.dedent('''
        import disbench
        import shadowme

        SHADOWME = shadowme.WHERE
        disbench.register("lab/here-v0", kwargs={"dataset": "xysquares", "loss": "l1", "grid_spacing": 2})
        disbench.register("lab/built-v0", entry_point="herebuild:build", kwargs={"spacing": 4})
    '''))
    (here / "herebuild.py").write_text("import disbench\n\ndef build(spacing):\n    return disbench.task.build_task('xysquares', grid_spacing=spacing)\n")
    (here / "badtasks.py").write_text("import disbench\nraise disbench.error.DataError('bars cannot be registered as a task: ...')\n")
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.chdir(here)
    path = list(sys.path)
    try:
        task = disbench.make("heretasks:lab/here-v0")
        assert sys.path == path and task.data.grid_spacing == 2 and sys.modules["heretasks"].SHADOWME == "installed"
        assert task.spec.module == "heretasks" and "pass --task heretasks:lab/here-v0," in unregistered_hint(task.spec.to_dict())
        assert disbench.make("lab/built").data.grid_spacing == 4 and sys.path == path  # an entry point in the folder is found too
        assert TaskSpec.from_json(task.spec.to_json()).module == "heretasks" and "module" not in disbench.spec("xysquares-mse").to_dict()
        with pytest.raises(RegistrationError, match=re.escape(f"No module named 'heretask' (looked among the installed packages and in the current "
                                                              f"folder {here}, where only a heretask.py file or a heretask/ package with an __init__.py counts). Did you mean 'heretasks'?")):
            disbench.make("heretask:lab/here")
        with pytest.raises(InvalidTaskId, match=re.escape("'./heretasks.py' is a file; name its module instead, without the folder and '.py': "
                                                          "'heretasks:lab/here'")):
            disbench.make("./heretasks.py:lab/here")
        with pytest.raises(disbench.error.DataError, match=re.escape("bars cannot be registered as a task: ... (importing 'badtasks' for 'bars-mse')")):
            disbench.make("badtasks:bars-mse")  # a check of disbench's in the module is the error shown, not "could not import"
        assert sys.path == path
    finally:
        for name in ("heretasks", "herebuild", "badtasks", "shadowme"):
            sys.modules.pop(name, None)


def test_bad_entry_points_are_registration_errors(scratch_registry):
    disbench.register("broken-v0", entry_point="no_such_module:fn")
    with pytest.raises(RegistrationError, match="no_such_module"):
        disbench.make("broken")
    disbench.register("wrongtype-v0", entry_point="builtins:dict")
    with pytest.raises(RegistrationError, match="expected a disbench.Task"):
        disbench.make("wrongtype")


def test_protocol_tiers_and_hash():
    spec = disbench.spec("xysquares-mse")
    assert tuple(spec.protocols) == TIERS == ("standard", "extended", "quick", "smoke")
    standard, extended, quick, smoke = (spec.protocols[t] for t in TIERS)
    assert (standard.steps, standard.batch_size, standard.lr, standard.optimizer) == (57_600, 256, 1e-3, "adam")
    assert standard.seeds == (0, 1, 2, 3, 4) and standard.metric_suite == "standard"
    assert smoke.steps < quick.steps < extended.steps < standard.steps
    # extended is quick made 5x longer: the same batch and suite, its own curve and seeds, and its own hash
    assert (extended.steps, extended.batch_size, extended.metric_suite, extended.seeds) == (10_000, 64, "fast", (0, 1, 2, 3, 4))
    assert dict(extended.curve) == {"mig": 500, "dci": 1_000}
    assert len({standard.hash(), extended.hash(), quick.hash(), smoke.hash()}) == 4
    # the committed quick records' hash: adding a tier (or DCI's gate) leaves the others' hashes alone
    assert quick.hash() == "950d4a3b42de982b732f0e2b1c0f2d5cee4e271a27e899eeab4770ab7ff6acf4"
    assert standard.hash() == disbench.spec("xysquares-mse-v0").protocols["standard"].hash()


def test_pprint_registry_groups_by_namespace_with_an_adversarial_column(scratch_registry):
    disbench.register("lab/thing-v0", kwargs={"dataset": "xcolumns", "loss": "mse"})
    text = disbench.pprint_registry(print_output=False)
    lines = text.splitlines()
    assert lines[0].startswith("== disbench (built-in): ") and "adversarial" in lines[1] and "ranked by" in lines[1]
    line = next(line for line in lines if line.startswith("xysquares-mse-v0"))
    assert " yes " in line and line.split()[-1] == "mig"
    section = text.index("== lab: 1 tasks ==")
    assert text.index("lab/thing-v0") > section > text.index("xysquares-mse-v0")


def test_list_has_no_empty_column(scratch_registry):
    disbench.register("lab/old-v0", kwargs={"dataset": "xcolumns", "loss": "mse"}, deprecated="lab/new-v1")
    disbench.register("lab/new-v1", kwargs={"dataset": "xcolumns", "loss": "mse"})
    sections = disbench.pprint_registry(print_output=False).strip().split("\n\n")
    for section in sections:
        title, header, rule, *rows = section.splitlines()
        spans = [m.span() for m in re.finditer(r"-+", rule)]
        columns = [[line[a:b].strip() for line in rows] for a, b in spans]
        empty = [header[a:b].strip() or f"column {i}" for i, (a, b) in enumerate(spans) if not any(columns[i])]
        assert not empty, f"{title}: empty columns {empty}"
    built_in, lab = sections
    assert "deprecated" not in built_in and "twin" in built_in  # no built-in task is deprecated
    assert "twin" not in lab and re.search(r"lab/old-v0 .* use lab/new-v1", lab)


def test_a_name_is_versioned_or_not_never_both(scratch_registry):
    disbench.register("demo-v0", kwargs={"dataset": "xcolumns"})
    with pytest.raises(RegistrationError, match="'demo' next to 'demo-v0'.*register it as 'demo-v0'"):
        disbench.register("demo", kwargs={"dataset": "xcolumns"})
    disbench.register("plain", kwargs={"dataset": "xcolumns"})
    with pytest.raises(RegistrationError, match="'plain-v1' next to 'plain'"):
        disbench.register("plain-v1", kwargs={"dataset": "xcolumns"})


def test_pinning_an_older_version_warns_and_names_the_latest(scratch_registry, recwarn):
    disbench.register("pinned-v0", kwargs={"dataset": "xcolumns"})
    disbench.register("pinned-v1", kwargs={"dataset": "xcolumns"})
    with pytest.warns(UserWarning, match="'pinned-v0' is not the latest version of this task; 'pinned-v1' is"):
        disbench.make("pinned-v0")
    recwarn.clear()
    disbench.make("pinned-v1")
    disbench.make("pinned")
    assert len(recwarn) == 0


def test_make_gives_each_task_its_own_copy_of_the_spec():
    task = disbench.make("xysquares-mse")
    task.spec.protocols["standard"] = task.spec.protocols["smoke"]
    task.spec.kwargs["grid_spacing"] = 1
    registered = disbench.registry["xysquares-mse-v0"]
    assert registered.protocols["standard"].steps == 57_600 and registered.kwargs["grid_spacing"] == 8
    assert disbench.make("xysquares-mse").protocol.steps == 57_600


def _install_plugin(root, dist, group_lines, modules):
    """A fake installed distribution: a .dist-info with entry points, and its modules, on sys.path."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[disbench.tasks]\n" + "\n".join(group_lines) + "\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


def test_plugins_register_under_their_namespace_and_a_broken_one_only_warns(tmp_path, monkeypatch, scratch_registry):
    from disbench import registration

    _install_plugin(tmp_path, "goodlab_tasks", ["goodlab = goodlab_tasks:register_all"], {"goodlab_tasks": """
        import disbench

        def register_all():
            disbench.register("squares-v0", kwargs={"dataset": "xysquares", "grid_spacing": 2, "loss": "mse"})
    """})
    _install_plugin(tmp_path, "badlab_tasks", ["badlab = badlab_tasks"], {"badlab_tasks": "raise RuntimeError('boom')\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registration, "_plugins_loaded", False)
    with pytest.warns(RuntimeWarning, match="plugin 'badlab' .* failed to load and was skipped: RuntimeError: boom"):
        task = disbench.make("goodlab/squares")
    assert task.spec.id == "goodlab/squares-v0" and task.data.grid_spacing == 2
    assert disbench.make("xysquares-mse").spec.id == "xysquares-mse-v0"  # the broken plugin broke nothing else
    assert registration.load_plugins() == []  # loaded once
    for name in ("goodlab_tasks", "badlab_tasks"):
        sys.modules.pop(name, None)
