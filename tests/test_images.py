"""Image data in each real on-disk format, written by the tests: CIFAR-10's python batches and
archive, MNIST's IDX files, a folder of PNGs, an npz file. Nothing downloads: the one download
test fetches a file:// URL."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch
from helpers import cifar_batches, png

from tui_trainer.config.schema import DataConfig
from tui_trainer.data import DatasetError, load_data
from tui_trainer.data import image_folder as image_folder_module

RNG = np.random.default_rng(0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- CIFAR-10 -------------------------------------------------------------------------------


def cifar_archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, payload in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def test_cifar10_reads_the_python_batches(cache, no_batch_checksums):
    folder = cache / "torchvision" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    files = cifar_batches()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    data = load_data(DataConfig(dataset="cifar10", val_fraction=0.1))
    assert data.spec.input_shape == (3, 32, 32) and data.spec.classes[0] == "airplane"
    assert len(data.train) + len(data.val) == 100 and len(data.test) == 20
    assert data.train.x.dtype == torch.uint8
    first = pickle.loads(files["test_batch"])["data"][0].reshape(3, 32, 32)
    assert torch.equal(data.test.x[0], torch.from_numpy(first))  # planes become channels, in order
    assert (cache / "arrays" / "cifar10" / "x.npy").exists()  # later runs map the cache


def test_cifar10_archive_is_checked_then_unpacked(cache, no_batch_checksums, monkeypatch):
    import torchvision.datasets as tvd

    archive = cifar_archive(cifar_batches())
    monkeypatch.setattr(tvd.CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    root = cache / "torchvision"
    root.mkdir(parents=True)
    (root / "cifar-10-python.tar.gz").write_bytes(archive[: len(archive) // 2])  # truncated
    with pytest.raises(DatasetError, match=r"cifar-10-python.tar.gz is damaged .*delete it and run again"):
        load_data(DataConfig(dataset="cifar10"))
    assert not (root / "cifar-10-batches-py").exists() and not (cache / "arrays").exists()
    (root / "cifar-10-python.tar.gz").write_bytes(archive)
    assert len(load_data(DataConfig(dataset="cifar10")).test) == 20


def test_cifar10_download_with_progress_and_offline_message(cache, no_batch_checksums, monkeypatch, tmp_path):
    import torchvision.datasets as tvd

    archive = cifar_archive(cifar_batches())
    source = tmp_path / "mirror.tar.gz"
    source.write_bytes(archive)
    monkeypatch.setattr(tvd.CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    target = cache / "torchvision" / "cifar-10-python.tar.gz"

    with pytest.raises(DatasetError, match=r"data.download is off; put .* at .*cifar-10-python.tar.gz"):
        load_data(DataConfig(dataset="cifar10", download=False))
    monkeypatch.setattr(tvd.CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # nothing listens there
    with pytest.raises(DatasetError) as failed:
        load_data(DataConfig(dataset="cifar10"))
    assert "could not download cifar-10-python.tar.gz" in str(failed.value) and str(target) in str(failed.value)
    assert "\n" not in str(failed.value) and not list(target.parent.glob("*.part")) and not target.exists()

    monkeypatch.setattr(tvd.CIFAR10, "url", source.as_uri())
    seen = []
    data = load_data(DataConfig(dataset="cifar10"), progress=lambda label, done,
                     total: seen.append((label, done, total)))
    assert len(data.test) == 20 and target.exists()
    assert ("downloading cifar-10-python.tar.gz", len(archive), len(archive)) in seen


# -- MNIST and Fashion-MNIST ---------------------------------------------------------------------


def idx_images(images: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, *images.shape) + images.tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_reads_idx_files(cache, name, folder):
    raw = cache / "torchvision" / folder / "raw"
    raw.mkdir(parents=True)
    train, test = RNG.integers(0, 256, (30, 28, 28), dtype=np.uint8), RNG.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    (raw / "train-images-idx3-ubyte").write_bytes(idx_images(train))
    (raw / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.arange(30) % 10))
    (raw / "t10k-images-idx3-ubyte").write_bytes(idx_images(test))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx_labels(np.arange(10)))
    data = load_data(DataConfig(dataset=name, val_fraction=0.2))
    assert data.spec.input_shape == (1, 28, 28) and len(data.train) == 24 and len(data.test) == 10
    assert torch.equal(data.test.x[:, 0], torch.from_numpy(test)) and data.test.y.tolist() == list(range(10))
    assert bool(data.spec.no_flip) == (name == "mnist")


def test_mnist_packed_idx_files_are_checked_and_unpacked(cache, monkeypatch):
    import torchvision.datasets as tvd

    raw = cache / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    payloads = {
        "train-images-idx3-ubyte.gz": idx_images(RNG.integers(0, 256, (20, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": idx_labels(np.arange(20) % 10),
        "t10k-images-idx3-ubyte.gz": idx_images(RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx_labels(np.arange(5)),
    }
    resources = []
    for filename, payload in payloads.items():
        packed = gzip.compress(payload)
        (raw / filename).write_bytes(packed)
        resources.append((filename, hashlib.md5(packed).hexdigest()))
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    assert len(load_data(DataConfig(dataset="mnist")).test) == 5
    assert (raw / "t10k-images-idx3-ubyte").exists()


# -- the user's own images ----------------------------------------------------------------------


@pytest.fixture
def pictures(tmp_path):
    root = tmp_path / "pictures"
    for name, color in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
        (root / name).mkdir(parents=True)
        for i in range(6):
            (root / name / f"{i}.png").write_bytes(png(color))
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG not really")
    return root


def test_image_folder_decodes_once_skips_the_corrupt_file_and_notices_changes(cache, pictures, monkeypatch):
    config = DataConfig(dataset="image_folder", path=str(pictures), image_size=8, val_fraction=0.2, test_fraction=0.2)
    data = load_data(config)
    assert data.spec.classes == ("cats", "dogs") and data.spec.input_shape == (3, 8, 8)
    assert len(data.train) + len(data.val) + len(data.test) == 12
    assert len(data.notes) == 1 and "broken.png" in data.notes[0]
    cats = data.train.x[data.train.y == 0]
    assert cats[:, 0].eq(200).all() and cats[:, 2].eq(30).all()
    calls = []
    real = image_folder_module._decode
    monkeypatch.setattr(image_folder_module, "_decode", lambda *a: calls.append(a) or real(*a))
    load_data(config)
    assert calls == []  # the cache answered
    (pictures / "cats" / "new.png").write_bytes(png((0, 255, 0)))
    assert len(load_data(config).notes) == 1 and len(calls) == 14  # a changed folder is decoded again
    gray = load_data(DataConfig(dataset="image_folder", path=str(pictures), image_size=6, color="grayscale"))
    assert gray.spec.input_shape == (1, 6, 6)


def test_image_folder_mistakes_get_one_line(cache, tmp_path):
    def fails(path, match):
        with pytest.raises(DatasetError, match=match) as error:
            load_data(DataConfig(dataset="image_folder", path=str(path)))
        assert "\n" not in str(error.value)

    fails(tmp_path / "nowhere", "does not exist")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "has no images in sub-folders")
    (tmp_path / "one" / "cats").mkdir(parents=True)
    (tmp_path / "one" / "cats" / "a.png").write_bytes(png((1, 2, 3)))
    fails(tmp_path / "one", r"has one class \(cats\)")
    for name in ("a", "b"):
        (tmp_path / "bad" / name).mkdir(parents=True)
        (tmp_path / "bad" / name / "x.png").write_bytes(b"nope")
    fails(tmp_path / "bad", "no two classes with an image that can be decoded")
    assert not any((cache / "arrays").glob(".*tmp")) if (cache / "arrays").exists() else True


def test_npz_arrays_in_either_channel_order(cache, tmp_path):
    x = RNG.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "hwc.npz", x=x, y=np.arange(40) % 4, x_test=x[:10], y_test=np.arange(10) % 4)
    data = load_data(DataConfig(dataset="npz", path=str(tmp_path / "hwc.npz"), val_fraction=0.25))
    assert data.spec.input_shape == (3, 16, 16) and data.spec.num_classes == 4 and len(data.test) == 10
    assert torch.equal(data.test.x[0], torch.from_numpy(x[0].transpose(2, 0, 1).copy()))
    np.savez(tmp_path / "gray.npz", x=RNG.random((30, 8, 8)), y=np.arange(30) % 3)
    gray = load_data(DataConfig(dataset="npz", path=str(tmp_path / "gray.npz")))
    assert gray.spec.input_shape == (1, 8, 8) and gray.train.x.dtype == torch.float32 and len(gray.test) == 6


def test_npz_mistakes_get_one_line(cache, tmp_path):
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    np.savez(tmp_path / "no_y.npz", x=np.zeros((4, 8, 8)))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for name, match in (("pickled.npz", "cannot be read"), ("no_y.npz", "has no array y"),
                        ("junk.npz", "not a readable .npz"), ("missing.npz", "does not exist")):
        with pytest.raises(DatasetError, match=match):
            load_data(DataConfig(dataset="npz", path=str(tmp_path / name)))


# -- the digits, the pipeline and the streamed mode ----------------------------------------------


def test_digits_ship_with_the_package_and_normalise_with_training_statistics():
    data = load_data(DataConfig(dataset="digits"))
    assert len(data.train) + len(data.val) + len(data.test) == 1797 and data.spec.input_shape == (1, 8, 8)
    mean, std = data.stats
    train = data.train.x.double()
    assert mean.item() == pytest.approx(train.mean().item(),
                                        rel=1e-5) and std.item() == pytest.approx(train.std().item(), rel=1e-3)
    batch = data.pipeline().prepare(data.train.x)
    assert batch.dtype == torch.float32
    assert abs(batch.mean().item()) < 1e-4
    assert batch.std().item() == pytest.approx(1, rel=1e-3)


def test_augmentation_crops_and_flips_the_whole_batch_on_the_device():
    from tui_trainer.data import InputPipeline

    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.uint8).reshape(2, 3, 4, 5)
    pipe = InputPipeline(None, None, crop_padding=2, flip=True)
    centre = (torch.tensor([2, 2]), torch.tensor([2, 2]), torch.tensor([False, True]))
    out = pipe.prepare(x, centre)
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], x[1].flip(2))
    shifted = pipe.prepare(x, (torch.tensor([0, 4]), torch.tensor([1, 2]), torch.tensor([False, False])))
    # down 2, right 1, zero padding
    assert torch.equal(shifted[0, :, 2:, 1:], x[0, :, :2, :4]) and shifted[0, :, :2].eq(0).all()
    assert torch.equal(shifted[1, :, :2], x[1, :, 2:]) and shifted[1, :, 2:].eq(0).all()
    drawn = pipe.draw(7, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert drawn[0].shape == (7,) and int(drawn[0].max()) <= 4


def test_a_streamed_dataset_trains_exactly_like_a_resident_one(cache, pictures):
    """From the memory-mapped cache, DataLoader workers (started by a fork server) read the
    batches in the same order a resident split uses: the same run, to the last digit."""
    from tests.helpers import make_config
    from tui_trainer.engine import Trainer

    def run(budget):
        config = make_config({"data.dataset": "image_folder", "data.path": str(pictures), "data.image_size": 8,
                              "data.val_fraction": 0.2, "data.test_fraction": 0.2, "data.memory_budget_mb": budget,
                              "train.epochs": 2, "train.batch_size": 4, "model.cnn.channels": [4],
                              "model.cnn.kernel_size": 3, "model.cnn.fc_hidden": 8, "tricks.augment.enabled": True,
                              "tricks.augment.crop_padding": 1})
        trainer = Trainer(config, keep_events=True)
        return trainer, trainer.run()

    resident, r = run(0.0)
    streamed, s = run(0.0001)
    assert resident.data.mode == "resident" and streamed.data.mode == "streamed"
    assert r.summary["test_loss"] == pytest.approx(s.summary["test_loss"], abs=1e-6)
    started = next(e for e in s.events if type(e).__name__ == "RunStarted")
    assert started.data_mode == "streamed" and "by 2 DataLoader workers" in started.data_detail


def test_samples_in_memory_stream_without_workers():
    from tui_trainer.data import load_data

    data = load_data(DataConfig(dataset="digits", memory_budget_mb=0.01))
    assert data.mode == "streamed" and data.train.workers == 0 and "kept in host memory" in data.mode_detail
    x, y = next(data.train.batches(16))
    assert x.shape == (16, 1, 8, 8) and x.dtype == torch.uint8 and len(y) == 16


def test_the_info_panel_knows_the_mode_before_loading():
    import torch

    from tui_trainer.data import dataset_spec, planned_mode

    config = DataConfig(dataset="cifar10")
    assert planned_mode(config, dataset_spec(config), torch.device("cpu")) == "data resident"
    small = DataConfig(dataset="cifar10", memory_budget_mb=100)
    assert planned_mode(small, dataset_spec(small), torch.device("cpu")) == "data streamed (176 MB > 100 MB budget)"


def test_normalising_a_float_batch_leaves_the_data_alone():
    from tui_trainer.data import InputPipeline

    data = torch.full((2, 1, 3, 3), 10.0)
    out = InputPipeline(torch.tensor([4.0]), torch.tensor([2.0])).prepare(data[:1])
    assert out.eq(3.0).all() and data.eq(10.0).all()


def test_the_loader_workers_start_from_a_fork_server_and_map_the_file_again(tmp_path, monkeypatch):
    """Forking a process that has threads (the trainer's, the app's) can deadlock (Python 3.12+
    warns): workers start from a fork server, and get the cache's path, not a copy of its data."""
    import pickle

    import numpy as np
    import torch

    from tui_trainer.data import splits

    path = tmp_path / "cache.npy"
    np.save(path, np.arange(4000 * 64, dtype=np.uint8).reshape(4000, 64))
    source = np.load(path, mmap_mode="r")
    batches = splits._Batches(source, np.arange(4000), torch.zeros(4000, dtype=torch.long), 100)
    sent = pickle.dumps(batches)
    assert len(sent) < 100_000  # the path and the rows, not the 256 KB of samples
    again = pickle.loads(sent)
    assert isinstance(again.source, np.memmap) and torch.equal(again[3][0], batches[3][0])

    seen = {}
    real = splits.DataLoader

    def recording(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(splits, "DataLoader", recording)
    split = splits.StreamedSplit(source, np.arange(4000), torch.arange(4000) % 10, torch.device("cpu"))
    got = torch.cat([x for x, _ in split.batches(500)])
    assert torch.equal(got, torch.from_numpy(np.array(source)))  # every row, in order, from the workers
    assert seen["num_workers"] >= 1 and seen["multiprocessing_context"].get_start_method() == "forkserver"
