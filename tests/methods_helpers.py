"""Shared by tests/test_methods_*.py: a small MNIST (or synthetic) classifier and a fresh-process decode check."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from nwcodec.codec.digest import tensor_digest
from nwcodec.methods.common import accuracy, train
from nwcodec.train.mnist import load_mnist_npz, synthetic_digits
from nwcodec.train.models import LeNet300100

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


def loaders(n_train: int = 6000, n_test: int = 2000) -> tuple[DataLoader, DataLoader, np.ndarray, np.ndarray]:
    if MNIST.is_file():
        tr, te = load_mnist_npz(MNIST)
    else:
        tr, te = synthetic_digits(n_train, n_test)
    x = lambda s, n: torch.from_numpy(s.images[:n, None].astype(np.float32) / 255)   # noqa: E731
    g = torch.Generator().manual_seed(0)
    trl = DataLoader(TensorDataset(x(tr, n_train), torch.from_numpy(tr.labels[:n_train])), batch_size=100,
                     shuffle=True, generator=g)
    tel = DataLoader(TensorDataset(x(te, n_test), torch.from_numpy(te.labels[:n_test])), batch_size=1000)
    return trl, tel, te.images[:n_test], te.labels[:n_test]


def trained_lenet300(trl: DataLoader, epochs: float = 2.0) -> LeNet300100:
    torch.manual_seed(0)
    m = LeNet300100()
    train(m, trl, epochs, 2e-3)
    return m


CHILD = r"""
import json, sys
import numpy as np
from nwcodec import decode
from nwcodec.codec.digest import tensor_digest
data = open(sys.argv[1], "rb").read()
a = decode(data)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
x = np.load(sys.argv[2])["x"].reshape(-1, 784).astype(np.float32) / 255
y = np.load(sys.argv[2])["y"]
h = (x - 0.1307) / 0.3081
for i in (1, 2, 3):
    h = h @ a[f"fc{i}.weight"].T + a[f"fc{i}.bias"]
    if i < 3:
        h = np.maximum(h, 0)
print(json.dumps({"digest": tensor_digest(a), "acc": float((h.argmax(1) == y).mean()), "torch": loaded}))
"""


def fresh_decode_lenet300(data: bytes, images: np.ndarray, labels: np.ndarray, tmp: Path) -> dict:
    """Decode ``data`` in a new interpreter (numpy + constriction only) and score it there with a numpy forward."""
    (tmp / "s.nwc").write_bytes(data)
    np.savez(tmp / "t.npz", x=images, y=labels)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "s.nwc"), str(tmp / "t.npz")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def check_method(model, data: bytes, tel, images, labels, tmp: Path, base_acc: float, max_drop: float) -> float:
    """The receiver in a fresh process decodes exactly the sender's weights, at the sender's accuracy."""
    here = accuracy(model, tel)
    child = fresh_decode_lenet300(data, images, labels, tmp)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    assert child["torch"] == []
    assert child["digest"] == tensor_digest(state)
    assert abs(child["acc"] - here) < 1e-3       # numpy forward vs torch forward on the same weights
    assert here >= base_acc - max_drop, (here, base_acc)
    return here
