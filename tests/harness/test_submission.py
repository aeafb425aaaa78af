import shutil
from pathlib import Path

import pytest

import disbench
from disbench.error import SubmissionError
from disbench.harness.submission import Submission
from disbench.methods import TaskInfo

ROOT = Path(__file__).resolve().parents[2]
# The shipped baselines, named explicitly: users keep their own folders in submissions/ too
# (README: "Add your model"), and the tests must not depend on them.
BASELINES = ["ada-gvae", "ada-mlvae", "ae", "beta-tcvae", "beta-vae", "dip-vae-i", "dip-vae-ii", "vae"]


@pytest.fixture
def beta_vae(tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder)
    return folder


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_is_shipped(name):
    folder = ROOT / "submissions" / name
    assert (folder / "submission.toml").is_file() and (folder / "model.py").is_file() and (folder / "README.md").is_file()


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_parses_and_builds(name, xysquares):
    submission = Submission(ROOT / "submissions" / name)
    method = submission.build(TaskInfo.from_task(xysquares))
    assert isinstance(method, disbench.Method) and method.supervision == submission.config.supervision
    assert (ROOT / "submissions" / name / "README.md").exists()


def test_hyperparameters_merge_default_and_task_tables():
    submission = Submission(ROOT / "submissions" / "beta-vae")
    assert submission.hyperparameters("xysquares-mse-v0") == {"latent_dim": 9, "beta": 0.001}
    assert submission.hyperparameters("xysquares-s1-mse-v0") == {"latent_dim": 9, "beta": 0.00316}


def edit(folder: Path, old: str, new: str) -> None:
    toml = folder / "submission.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ('supervision = "unsupervised"', 'supervision = "semi"', "supervision: Input should be 'unsupervised' or 'weak-pairs' (got 'semi')"),
        ('name = "beta-vae"', 'name = "Beta VAE"', "name: String should match pattern"),
        ('authors = ["disbench maintainers"]', "authors = []", "authors: List should have at least 1 item"),
        ('licence = "MIT"\n', "", "licence: Field required (missing)"),
        ('version = "1.0.0"', 'version = "1.0.0"\ncolour = "red"', "colour: Extra inputs are not permitted (got 'red')"),
        ('[hyperparameters."xysquares-s1-mse"]', '[hyperparameters."xysqares-s1-mse"]', "Did you mean 'xysquares-s1-mse'"),
        ('entry_point = "model:build"', 'entry_point = "model.build"', "entry_point: String should match pattern"),
    ],
)
def test_schema_errors_name_the_field_the_value_and_what_is_allowed(beta_vae, old, new, expected):
    edit(beta_vae, old, new)
    with pytest.raises(SubmissionError) as e:
        Submission(beta_vae)
    assert expected in str(e.value)


def test_missing_files_and_bad_models(beta_vae, tmp_path, xysquares):
    with pytest.raises(SubmissionError, match="No submission.toml"):
        Submission(tmp_path)
    with pytest.raises(SubmissionError, match=r"model.py is a file; give the submission's folder \(.+, if it holds submission.toml\)"):
        Submission(beta_vae / "model.py")  # the file a user has open, not its folder
    with pytest.raises(SubmissionError, match=r"No submission folder at .*nope; give the folder that holds submission.toml"):
        Submission(tmp_path / "nope")
    info = TaskInfo.from_task(xysquares)
    (beta_vae / "model.py").write_text("def build(task_info, **hp):\n    return 42\n")
    with pytest.raises(SubmissionError, match="must return a disbench.Method"):
        Submission(beta_vae).build(info)
    (beta_vae / "model.py").write_text("import not_a_module\n")
    with pytest.raises(SubmissionError, match="Importing .* failed"):
        Submission(beta_vae).build(info)
    (beta_vae / "model.py").write_text("from disbench.methods import AdaVAE\ndef build(task_info, **hp):\n    return AdaVAE(task_info.obs_shape, 9)\n")
    with pytest.raises(SubmissionError, match="supervision"):
        Submission(beta_vae).build(info)


def test_content_hash_covers_every_file_and_bytecode_is_refused(beta_vae):
    first = Submission(beta_vae).content_hash()
    (beta_vae / "notes.txt").write_text("more\n")
    assert Submission(beta_vae).content_hash() != first
    (beta_vae / "__pycache__").mkdir(exist_ok=True)
    (beta_vae / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0junk")
    with pytest.raises(SubmissionError, match="__pycache__/ is compiled bytecode"):
        Submission(beta_vae)


def test_a_table_for_another_task_that_build_cannot_take_fails_validate(beta_vae, capsys):
    """A per-task table breaks only that task's runs; validate builds for one task, so it checks
    every table's names against build()'s signature."""
    edit(beta_vae, '[hyperparameters."xysquares-s1-mse"]', '[hyperparameters."xysquares-s1-mse"]\ndropout = 0.3')
    submission = Submission(beta_vae)
    assert submission.unknown_hyperparameters() == [
        "[hyperparameters.xysquares-s1-mse] sets dropout, which build() does not take; remove it or add it to build()"]
    from disbench.cli import main

    assert main(["validate", str(beta_vae), "--no-smoke"]) == 1
    assert "[FAIL] hyperparameters: [hyperparameters.xysquares-s1-mse] sets dropout" in capsys.readouterr().out


def test_validate_asks_for_the_readme_the_docs_require(beta_vae, capsys):
    from disbench.cli import main

    (beta_vae / "README.md").unlink()
    assert main(["validate", str(beta_vae), "--no-smoke"]) == 1
    assert "[FAIL] README.md: missing: write README.md saying what the model is and how to cite it" in capsys.readouterr().out
    (beta_vae / "README.md").write_text("\n")
    assert main(["validate", str(beta_vae), "--no-smoke"]) == 1
    assert "[FAIL] README.md: empty: write README.md" in capsys.readouterr().out


def test_tier_is_another_name_for_protocol(tmp_path):
    from disbench.cli import build_parser

    for command in (["run", "submissions/beta-vae", "--task", "xysquares-mse"], ["eval", "checkpoint.pt"], ["sweep"]):
        assert build_parser().parse_args([*command, "--tier", "smoke"]).protocol == "smoke"
