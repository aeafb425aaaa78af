"""The GitHub workflows, read as data: where the Hub token may be, what runs before publishing, and
that every ``disbench`` command they run parses with this disbench's command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from disbench.cli import build_parser

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SECRET = re.compile(r"\$\{\{\s*secrets\.")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def places(node, where: str = ""):
    """Every string in a parsed workflow, with its path (``jobs.x.steps[3].env.HF_TOKEN``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from places(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node


def secret_places(workflow: dict) -> list[str]:
    return [where for where, text in places(workflow) if SECRET.search(text)]


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_the_hub_token_is_in_the_env_of_the_publish_step_only():
    workflow = load("leaderboard.yml")
    all_steps = steps(workflow)
    publish = [i for i, step in enumerate(all_steps) if "HF_TOKEN" in step.get("env", {})]
    assert len(publish) == 1
    assert secret_places(workflow) == [f"jobs.build-and-publish.steps[{publish[0]}].env.HF_TOKEN"]
    assert all_steps[publish[0]]["env"] == {"HF_TOKEN": "${{ secrets.HF_TOKEN }}"}
    assert "HF_TOKEN" not in workflow["jobs"]["build-and-publish"].get("env", {})
    assert publish[0] == len(all_steps) - 1  # after every check and build


def test_the_publish_job_checks_signatures_before_building_and_never_signs():
    runs = [step.get("run", "") for step in steps(load("leaderboard.yml"))]
    first = next(i for i, run in enumerate(runs) if "disbench leaderboard signatures" in run)
    assert first < min(i for i, run in enumerate(runs) if "disbench leaderboard build" in run or "disbench publish" in run)
    text = (WORKFLOWS / "leaderboard.yml").read_text()
    assert "disbench sign " not in text and "DISBENCH_RUNNER_KEY" not in text and "--require-signed" not in text


@pytest.mark.parametrize("name", ["check-submission-policy.yml", "validate-submission.yml"])
def test_pull_request_workflows_use_no_secret_and_a_read_only_token(name):
    workflow = load(name)
    assert secret_places(workflow) == [] and workflow["permissions"] == {"contents": "read"}


def test_the_policy_check_gets_githubs_author_association():
    workflow = load("check-submission-policy.yml")
    assert workflow["jobs"]["policy"]["env"]["AUTHOR_ASSOCIATION"] == "${{ github.event.pull_request.author_association }}"
    assert '--author-association "$AUTHOR_ASSOCIATION" --no-validate' in steps(workflow)[-1]["run"]


def disbench_commands(run: str) -> list[list[str]]:
    """``disbench`` commands of a step's script, shell variables replaced by a placeholder repo id."""
    commands = []
    for match in re.finditer(r"\bdisbench ([^;\n]+)", run):
        text = re.sub(r'"\$\{?\w+(:-[^}]*)?\}?"', "org/name", match[1])
        commands.append(shlex.split(text.removesuffix(" fi").strip()))
    return commands


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_disbench_command_in_a_workflow_parses(name):
    commands = [c for step in steps(load(name)) for c in disbench_commands(step.get("run", ""))]
    assert commands
    for argv in commands:
        build_parser().parse_args(argv)  # exits (SystemExit) on an unknown command or option
