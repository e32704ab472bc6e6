"""Runs that fail quietly are said to: a model that learnt nothing gets a warning beside its status."""

from __future__ import annotations

import math

from helpers import make_config

from tui_trainer.engine.health import label_stats, not_learning
from tui_trainer.engine.task import Classification, LanguageModelling


def test_label_statistics_are_the_entropy_and_the_majority_share():
    import torch

    entropy, chance = label_stats(torch.tensor([0, 1, 2, 3] * 5), 4)
    assert entropy == __import__("pytest").approx(math.log(4)) and chance == 0.25
    entropy, chance = label_stats(torch.tensor([0, 0, 0, 1]), 3)
    assert chance == 0.75 and entropy < math.log(2)


def test_chance_accuracy_or_a_loss_at_the_labels_entropy_is_a_warning_and_learning_is_not(small_data):
    stuck = {"status": "completed", "best_val_loss": 2.31, "best_val_accuracy": 0.11}
    [warning] = not_learning(Classification(), stuck, small_data)
    assert "the model did not learn" in warning and "chance level" in warning and "entropy of the labels" in warning
    assert "lr-find" in warning
    assert not_learning(Classification(), {"status": "completed", "best_val_loss": 0.4, "best_val_accuracy": 0.88},
                        small_data) == []
    assert not_learning(Classification(), {**stuck, "status": "diverged"}, small_data) == []  # it says so already
    text = {"status": "completed", "best_val_loss": 3.0, "best_val_metrics": {"val_bits_per_char": 4.7},
            "baselines": {"unigram": {"val_bits_per_char": 4.6}}}
    assert "no better than the unigram baseline" in not_learning(LanguageModelling(), text, small_data)[0]
    text["best_val_metrics"]["val_bits_per_char"] = 2.1
    assert not_learning(LanguageModelling(), text, small_data) == []


def test_adam_at_lr_10_completes_with_a_warning_in_its_summary_and_events(small_data, tmp_path):
    from tui_trainer.engine.events import RunWarning
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.catalog import load_run, show_text

    config = make_config({"train.epochs": 2, "train.lr": 10.0, "train.batch_size": 32})
    result = Trainer(config, data=small_data, run_folder=RunFolder.create(tmp_path, "lr10"), keep_events=True).run()
    assert result.status == "completed" and result.summary["warnings"][0].startswith("the model did not learn")
    assert [e.message for e in result.events if isinstance(e, RunWarning)] == result.summary["warnings"]
    assert "warning the model did not learn" in show_text(load_run(result.run_dir))
    fine = Trainer(make_config({"train.epochs": 2}), data=small_data).run()
    assert "warnings" not in fine.summary


def test_train_flush_denormal_flushes_subnormal_floats_to_zero_on_the_cpu(small_data):
    import torch

    from tui_trainer.engine.trainer import Trainer

    try:
        Trainer(make_config({"train.flush_denormal": False}), data=small_data).prepare()
        tiny = torch.tensor([1e-39])  # a subnormal float32
        assert (tiny * 2.0).item() > 0.0
        Trainer(make_config({"train.flush_denormal": True}), data=small_data).prepare()
        assert (tiny * 2.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)


def test_system_load_is_sampled_off_the_training_thread_and_the_peak_memory_kept(small_data, tmp_path, monkeypatch):
    import threading

    import torch

    from tui_trainer.display import load_text, peak_text
    from tui_trainer.engine import system
    from tui_trainer.engine.events import SystemStats
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.catalog import load_run, show_text

    sampler = system.SystemSampler(torch.device("cpu"), 0.01)
    sample = sampler.sample(150.0, 2.0)
    assert sample.cpu_percent == 150.0 and sample.rss_mb > 10 and sample.gpu_mb is None
    assert sampler.peaks()["rss_mb"] >= sample.rss_mb and "gpu_mb" not in sampler.peaks()
    assert load_text(98.4, 412.0) == "CPU 98%  RAM 412 MB"
    assert load_text(100, 2048, 87, 3174.4) == "CPU 100%  RAM 2.0 GB  GPU 87% 3.1 GB"
    assert peak_text({"rss_mb": 733.0, "gpu_mb": 1536.0}) == "RAM 733 MB, GPU 1.5 GB"

    monkeypatch.setattr(system, "INTERVAL", 0.02)
    threads = []
    original = system.SystemSampler._loop
    monkeypatch.setattr(system.SystemSampler, "_loop",
                        lambda self: (threads.append(threading.current_thread()), original(self)))
    config = make_config({"train.epochs": 3, "train.batch_size": 16, "train.stats_every": 4})
    result = Trainer(config, data=small_data, run_folder=RunFolder.create(tmp_path, "load"), keep_events=True).run()
    loads = [e for e in result.events if isinstance(e, SystemStats)]
    assert loads and all(e.rss_mb > 10 and e.cpu_percent >= 0 for e in loads)
    assert threads and threads[0] is not threading.current_thread()  # sampled by a thread of its own
    assert result.summary["peak_memory"]["rss_mb"] >= max(e.rss_mb for e in loads)
    assert "memory  peak RAM" in show_text(load_run(result.run_dir))
