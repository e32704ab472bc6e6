import numpy as np
import pytest
import torch

from tui_trainer.config import config_from_dict
from tui_trainer.config.schema import DataConfig
from tui_trainer.data import DatasetError, load_data
from tui_trainer.data import mnist1d as m1d


def test_mnist1d_splits_and_shapes(mnist1d):
    assert mnist1d.spec.input_shape == (1, 40) and mnist1d.spec.num_classes == 10
    assert len(mnist1d.train) + len(mnist1d.val) == 4000 and len(mnist1d.test) == 1000
    assert len(mnist1d.val) == 400
    assert mnist1d.train.x.dtype == torch.float32 and mnist1d.train.y.dtype == torch.int64
    assert set(mnist1d.train.y.unique().tolist()) == set(range(10))


def test_the_generated_cache_is_plain_npz(mnist1d):
    path = m1d.cache_path()
    assert path.exists() and path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(m1d.ARRAYS)


def test_validation_split_is_fixed_by_split_seed_and_disjoint(mnist1d):
    again = load_data(DataConfig())
    assert torch.equal(again.val.x, mnist1d.val.x)
    other = load_data(DataConfig(split_seed=1))
    assert not torch.equal(other.val.x, mnist1d.val.x)
    train_rows = {tuple(r) for r in mnist1d.train.x.reshape(len(mnist1d.train), -1).tolist()}
    assert not any(tuple(r) in train_rows for r in mnist1d.val.x.reshape(len(mnist1d.val), -1).tolist())


def test_loader_reads_a_small_cache_file_in_the_real_format(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    arrays = {
        "x": rng.standard_normal((50, 40)).astype(np.float32),
        "y": rng.integers(0, 10, 50),
        "x_test": rng.standard_normal((20, 40)).astype(np.float32),
        "y_test": rng.integers(0, 10, 20),
    }
    np.savez(m1d.cache_path(), **arrays)
    data = load_data(DataConfig(val_fraction=0.2))
    assert len(data.train) == 40 and len(data.val) == 10 and len(data.test) == 20
    assert torch.equal(data.test.x.reshape(20, 40), torch.from_numpy(arrays["x_test"]))


def test_a_broken_cache_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(tmp_path))
    m1d.cache_path().write_bytes(b"not an npz file")
    with pytest.raises(DatasetError, match="delete it to regenerate"):
        load_data(DataConfig())
    np.savez(m1d.cache_path(), x=np.zeros((3, 40)))
    with pytest.raises(DatasetError, match="missing y"):
        load_data(DataConfig())


def test_unknown_dataset_is_refused_by_the_config():
    from tui_trainer.config import ConfigError

    with pytest.raises(ConfigError, match="data.dataset: unknown choice 'cifar'"):
        config_from_dict({"data": {"dataset": "cifar"}})


def test_train_limit_keeps_the_first_training_samples_of_the_same_split(mnist1d):
    from tui_trainer.config.schema import DataConfig
    from tui_trainer.data import load_data

    small = load_data(DataConfig(train_limit=100))
    assert len(small.train) == 100 and len(small.val) == len(mnist1d.val) and len(small.test) == len(mnist1d.test)
    assert torch.equal(small.train.x, mnist1d.train.x[:100]) and torch.equal(small.val.x, mnist1d.val.x)
