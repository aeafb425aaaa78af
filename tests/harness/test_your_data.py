"""A task registered from your own files trains and is scored through the real harness path
(``run_submission`` -> the sandboxed child), and its factors stay out of the child's reach."""

from disbench.data import from_files
from disbench.harness.child.sandbox import isolation
from disbench.harness.record import load_record
from disbench.harness.run import run_submission
from disbench.protocol import Protocol, default_protocols
from disbench.registration import register
from tests.data.own_data import xysquares_folder
from tests.harness.test_trust import submission


def test_a_registered_file_dataset_trains_through_the_harness_and_its_factors_stay_with_it(tmp_path, scratch_registry):
    """The child never re-creates the task: it gets observations through shared memory. So the data
    folder is not bound into its sandbox, and the CSV of factors next to the images is out of its
    reach (where the machine has the sandbox's namespaces; elsewhere the child is unwalled, as for
    any dataset)."""
    folder, _ = xysquares_folder(tmp_path / "data", grid_spacing=8, grid_size=4)  # 16 images, one square
    data = from_files(folder)
    tiny = Protocol("smoke", steps=4, batch_size=8, latent_dim=9, metric_suite="smoke", seeds=(0,))
    register("mysquares-mse-v0", kwargs=data.task_kwargs("mse"), protocols={"standard": default_protocols()["standard"], "smoke": tiny})
    spy = submission(tmp_path, "spy", f"""
        try:
            print("READ", Path({str(folder / "factors.csv")!r}).read_text().splitlines()[0])
        except OSError as e:
            print("BLOCKED", type(e).__name__)

        class Model(BetaVAE):
            pass
    """)
    results = tmp_path / "runs" / "results"
    record = run_submission(spy, "mysquares-mse", seed=0, protocol="smoke", device="cpu", runs_dir=tmp_path / "runs", results_dir=results,
                            progress=False, evaluate=True)
    assert record.status == "completed" and record.training.steps == 4 and 0 <= record.metrics["mig"] <= 1 and len(record.metrics) > 50
    assert record.task.spec["kwargs"]["sha256"] == data.fingerprint and record.task.spec["kwargs"]["path"] == str(folder)
    assert load_record(results / "mysquares-mse-v0" / "spy" / "smoke" / "seed-0.json").metrics == record.metrics
    log = (tmp_path / "runs" / "mysquares-mse-v0" / "spy" / "smoke" / "seed-0" / "child.log").read_text()
    if isolation().namespaces:
        assert "BLOCKED FileNotFoundError" in log and "READ" not in log
    else:
        assert "READ file," in log
