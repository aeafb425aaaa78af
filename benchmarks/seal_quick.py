"""Sealed evaluation on the quick tier (docs/trust.md): a lookup oracle and an honest learner, each
on the public task and on the runner's secret variant, same seeds.

The oracle is the test's (tests/harness/test_seal.py: exact lookup of the public renderer's
images) with a training loss that touches one parameter only, so its 2,000 steps cost seconds.
The honest learner is the beta-vae baseline on xysquares-s1-mse, where it learns something.

    python seal_quick.py            # ~45 min on a 2-core CPU; writes results/seal_quick.json
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import write_results

from disbench.harness.run import run_submission
from tests.harness.test_seal import ORACLE

ROOT = Path(__file__).resolve().parents[1]
CHEAP = '''
    def loss(self, batch, recon_loss):
        """Training touches nothing the codes depend on: the oracle needs no data."""
        return {"loss": sum(p.sum() for p in self.parameters()) * 0.0}
'''
SHOWN = ("mig", "dci.disentanglement", "dci.informativeness_test", "sap")


def oracle_folder(root: Path) -> Path:
    folder = root / "oracle"
    shutil.copytree(ROOT / "submissions" / "beta-vae", folder)
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "beta-vae"', 'name = "oracle"'))
    header = "import torch\nfrom disbench.methods import BetaVAE\n"
    build = "\n\ndef build(task_info, latent_dim=9, beta=0.001, **extra):\n    return Model(task_info.obs_shape, latent_dim, beta=beta)\n"
    (folder / "model.py").write_text(header + ORACLE + CHEAP + build)
    return folder


def one(folder: Path, task: str, seed: int, seal: bool | None, runs: Path) -> dict:
    record = run_submission(folder, task, seed=seed, protocol="quick", device="cpu", results_dir=None, runs_dir=runs / ("sealed" if seal else "public"),
                            progress=False, seal=seal)
    row = {"task": task, "submission": record.submission.name, "seed": seed, "sealed": seal is True, "status": record.status,
           "final_loss": record.training.final_loss, **{k: record.metrics.get(k) for k in SHOWN}}
    print(row, flush=True)
    return row


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        oracle = oracle_folder(runs)
        for seed in (0, 1):
            for seal in (None, True):
                rows.append(one(oracle, "xysquares-mse", seed, seal, runs))
        for seed in (0, 1):
            for seal in (None, True):
                rows.append(one(ROOT / "submissions" / "beta-vae", "xysquares-s1-mse", seed, seal, runs))
    write_results("seal_quick", {"runs": rows})


if __name__ == "__main__":
    main()
