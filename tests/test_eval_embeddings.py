"""``nwcodec eval --sentences``: sentence-embedding cosine of a decoded BERT model against the original.

The torch forward is checked against a separate numpy BERT written here (no shared code), the tokenizer against
hand-worked token ids, and the command on encoded copies of a tiny random BERT directory."""
from __future__ import annotations

import json
from math import erf
from pathlib import Path

import numpy as np
import pytest

from nwcodec.cli import main
from nwcodec.errors import InputError
from nwcodec.formats import write_safetensors
from nwcodec.formats.bert_embed import SentenceEmbedder, read_bert_config
from nwcodec.formats.sentences import BUILTIN, read_sentences
from nwcodec.formats.wordpiece import WordPieceTokenizer, read_vocab

torch = pytest.importorskip("torch")

# ids 0..: [PAD] [UNK] [CLS] [SEP] [MASK], then these
WORDS = ["the", "cat", "sat", "on", "mat", ".", ",", "!", "?", "'", "-", "un", "##believ", "##able", "##s", "dog",
         "run", "##ning", "a", "hello", "world", "cafe", "naive", "is", "it", "s", "##a", "b", "##b", "c", "d", "e",
         "i", "love", "data", "code", "fast", "slow", "big", "small", "red", "blue", "green", "sun", "moon", "sky",
         "tree", "book", "(", ")", "2", "##0", "0", "1", "3", "%", "new"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
CFG = {"model_type": "bert", "vocab_size": len(VOCAB), "hidden_size": 32, "num_hidden_layers": 2,
       "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 40, "type_vocab_size": 2,
       "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
SENTENCES = ["The cat sat on the mat.", "Unbelievable! A dog's running?", "hello world", "I love data, code (2020)",
             "Café naïve: the sun is big & red.", "The moon, the sky and a tree.", "new book", "3 % c d e"]


def tiny_bert(rng: np.random.Generator, prefix: str = "") -> dict[str, np.ndarray]:
    h, f, v = CFG["hidden_size"], CFG["intermediate_size"], CFG["vocab_size"]
    w = {"embeddings.word_embeddings.weight": (v, h), "embeddings.position_embeddings.weight": (40, h),
         "embeddings.token_type_embeddings.weight": (2, h)}
    a = {prefix + k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in w.items()}
    a[prefix + "embeddings.LayerNorm.weight"] = (1 + rng.normal(0, 0.1, h)).astype(np.float32)
    a[prefix + "embeddings.LayerNorm.bias"] = rng.normal(0, 0.1, h).astype(np.float32)
    for i in range(CFG["num_hidden_layers"]):
        p = f"{prefix}encoder.layer.{i}."
        for n, (o, inp) in {"attention.self.query": (h, h), "attention.self.key": (h, h),
                            "attention.self.value": (h, h), "attention.output.dense": (h, h),
                            "intermediate.dense": (f, h), "output.dense": (h, f)}.items():
            a[p + n + ".weight"] = rng.normal(0, 1 / np.sqrt(inp), (o, inp)).astype(np.float32)
            a[p + n + ".bias"] = rng.normal(0, 0.1, o).astype(np.float32)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            a[p + n + ".weight"] = (1 + rng.normal(0, 0.1, h)).astype(np.float32)
            a[p + n + ".bias"] = rng.normal(0, 0.1, h).astype(np.float32)
    a[prefix + "pooler.dense.weight"] = rng.normal(0, 0.2, (h, h)).astype(np.float32)
    a[prefix + "pooler.dense.bias"] = np.zeros(h, np.float32)
    return a


def write_bert_dir(d: Path, arrays: dict[str, np.ndarray], cfg: dict | None = None) -> Path:
    d.mkdir()
    (d / "config.json").write_text(json.dumps(cfg or CFG))
    (d / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    write_safetensors(d / "model.safetensors", arrays)
    return d


@pytest.fixture()
def bert_dir(tmp_path: Path) -> Path:
    return write_bert_dir(tmp_path / "bert", tiny_bert(np.random.default_rng(0)))


# ---- an independent numpy BERT (float64) ----

def np_layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def np_sentence_embedding(a: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """One sentence at a time, no padding: mean of the last layer's rows, divided by its length."""
    W = {k: v.astype(np.float64) for k, v in a.items()}
    gelu = np.vectorize(lambda t: 0.5 * t * (1 + erf(t / np.sqrt(2))))
    n, h, nh = len(ids), CFG["hidden_size"], CFG["num_attention_heads"]
    d = h // nh
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:n] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = np_layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], 1e-12)
    for i in range(CFG["num_hidden_layers"]):
        L = lambda name, t: t @ W[f"encoder.layer.{i}.{name}.weight"].T + W[f"encoder.layer.{i}.{name}.bias"]  # noqa
        q, k, v = L("attention.self.query", x), L("attention.self.key", x), L("attention.self.value", x)
        ctx = np.zeros_like(x)
        for hh in range(nh):
            s = slice(hh * d, (hh + 1) * d)
            sc = q[:, s] @ k[:, s].T / np.sqrt(d)
            p = np.exp(sc - sc.max(1, keepdims=True))
            ctx[:, s] = (p / p.sum(1, keepdims=True)) @ v[:, s]
        ln1, ln2 = f"encoder.layer.{i}.attention.output.LayerNorm", f"encoder.layer.{i}.output.LayerNorm"
        x = np_layer_norm(x + L("attention.output.dense", ctx), W[ln1 + ".weight"], W[ln1 + ".bias"], 1e-12)
        x = np_layer_norm(x + L("output.dense", gelu(L("intermediate.dense", x))), W[ln2 + ".weight"],
                          W[ln2 + ".bias"], 1e-12)
    e = x.mean(0)
    return e / np.linalg.norm(e)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_forward_matches_independent_numpy(bert_dir: Path, dtype: str) -> None:
    arrays = tiny_bert(np.random.default_rng(0))
    emb = SentenceEmbedder(bert_dir, arrays, dtype=getattr(torch, dtype))
    got = emb.embed(SENTENCES)              # one padded batch: sentences of different lengths
    want = np.stack([np_sentence_embedding(arrays, emb.tokenizer(s)) for s in SENTENCES])
    assert got.shape == (len(SENTENCES), 32)
    assert np.max(np.abs(got - want)) < (1e-5 if dtype == "float32" else 1e-12)
    assert len({len(emb.tokenizer(s)) for s in SENTENCES}) > 3           # padding was exercised


def test_bert_prefix_and_gamma_beta_names_are_accepted(bert_dir: Path) -> None:
    arrays = tiny_bert(np.random.default_rng(0))
    old = {("bert." + k).replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
           for k, v in arrays.items()}
    a = SentenceEmbedder(bert_dir, arrays).embed(SENTENCES[:3])
    b = SentenceEmbedder(bert_dir, old).embed(SENTENCES[:3])
    assert np.array_equal(a, b)


# ---- tokenizer: hand-worked ids ----

def ids_of(*tokens: str) -> list[int]:
    return [VOCAB.index(t) for t in tokens]


@pytest.mark.parametrize("text, tokens", [
    ("The cat sat on the mat.", ["the", "cat", "sat", "on", "the", "mat", "."]),
    ("Unbelievable! A dog's running?", ["un", "##believ", "##able", "!", "a", "dog", "'", "s", "run", "##ning", "?"]),
    ("Unbelievables", ["un", "##believ", "##able", "##s"]),
    ("Café NAÏVE", ["cafe", "naive"]),                                   # lower-cased, accents stripped
    ("zebra cat", ["[UNK]", "cat"]),                                     # no cover -> [UNK] for the whole word
    ("unbeliev unbelievx", ["un", "##believ", "[UNK]"]),                 # "##x" is missing: the whole word is [UNK]
    ("(2000)", ["(", "2", "##0", "##0", "##0", ")"]),
    ("a-b,c\td\u00a0e\x00", ["a", "-", "b", ",", "c", "d", "e"]),         # tab, no-break space, NUL
    ("  ", []),
])
def test_tokenizer_known_answers(text: str, tokens: list[str]) -> None:
    vocab = {t: i for i, t in enumerate(VOCAB)}
    tok = WordPieceTokenizer(vocab, lower_case=True, max_length=64)
    assert tok(text) == [2] + ids_of(*tokens) + [3]


def test_tokenizer_hand_computed_ids() -> None:
    tok = WordPieceTokenizer({t: i for i, t in enumerate(VOCAB)})
    # [CLS]=2, un=16, ##believ=17, ##able=18, !=12, the=5, cat=6, [UNK]=1, .=10, [SEP]=3
    assert tok("Unbelievable! The cat zzz.") == [2, 16, 17, 18, 12, 5, 6, 1, 10, 3]


def test_tokenizer_cased_and_cut() -> None:
    vocab = {t: i for i, t in enumerate(VOCAB)}
    assert WordPieceTokenizer(vocab, lower_case=False)("The cat") == [2, 1, 6, 3]
    assert WordPieceTokenizer(vocab, max_length=4)("the cat sat on") == [2, 5, 6, 3]


def test_casing_follows_the_tokenizer_config(bert_dir: Path) -> None:
    """all-MiniLM-L6-v2 has ``do_lower_case: false`` in ``sentence_bert_config.json``: it stays uncased."""
    arrays = tiny_bert(np.random.default_rng(0))
    (bert_dir / "sentence_bert_config.json").write_text('{"max_seq_length": 5, "do_lower_case": false}')
    assert SentenceEmbedder(bert_dir, arrays).tokenizer("The cat sat") == [2, 5, 6, 7, 3]
    (bert_dir / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    assert SentenceEmbedder(bert_dir, arrays).tokenizer("The cat sat") == [2, 1, 6, 7, 3]


def test_vocab_needs_special_tokens(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nthe\n")
    with pytest.raises(InputError, match=r"lacks \[CLS\], \[SEP\]"):
        read_vocab(tmp_path / "vocab.txt")


# ---- the command ----

def eval_row(tmp_path: Path, stream: Path, ref: Path, sentences: str, capsys) -> dict:
    assert main(["eval", str(stream), "--reference", str(ref), "--sentences", sentences, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_embedding_cosine(bert_dir: Path, tmp_path: Path, capsys) -> None:
    sent = tmp_path / "s.txt"
    sent.write_text("\n".join(SENTENCES) + "\n\n")
    rows = {}
    for name, opts in {"lossless": ["--lossless"], "high": ["--quality", "90"], "low": ["--quality", "20"]}.items():
        out = tmp_path / f"{name}.nwc"
        assert main(["encode", str(bert_dir), str(out), *opts]) == 0
        capsys.readouterr()
        rows[name] = eval_row(tmp_path, out, bert_dir, str(sent), capsys)
    assert rows["lossless"]["embedding_cosine"] == 1.0 and rows["lossless"]["embedding_cosine_min"] == 1.0
    assert rows["lossless"]["sentences"] == len(SENTENCES)
    hi, lo = rows["high"], rows["low"]
    assert 0.99 < hi["embedding_cosine"] < 1.0 and hi["embedding_cosine_min"] <= hi["embedding_cosine"]
    assert lo["embedding_cosine"] < hi["embedding_cosine"]
    assert "cosine" in hi and hi["cosine"] < 1.0                              # weight cosine beside it
    assert main(["eval", str(tmp_path / "high.nwc"), "--reference", str(bert_dir), "--sentences", "builtin"]) == 0
    line = capsys.readouterr().out
    assert "embedding cosine 0.99" in line and "50 sentences)" in line and "SNR" in line


def test_builtin_sentences_ship_with_the_package() -> None:
    s = read_sentences("builtin")
    assert len(s) == 50 and len(set(s)) == 50 and BUILTIN.parent.name == "formats"
    assert "formats/eval_sentences.txt" in (Path(__file__).parents[1] / "pyproject.toml").read_text()


def test_bad_inputs_are_one_line_errors(bert_dir: Path, tmp_path: Path, capsys) -> None:
    stream = tmp_path / "m.nwc"
    assert main(["encode", str(bert_dir), str(stream), "--lossless"]) == 0
    capsys.readouterr()

    def err(*args: str) -> str:
        assert main(["eval", str(stream), *args]) == 1
        e = capsys.readouterr().err.strip().splitlines()
        assert e[-1].startswith("nwcodec: error: ")
        return e[-1]

    long = tmp_path / "long.txt"
    long.write_text("ok\n" + "x" * 2001 + "\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert "line is longer than 2000" in err("--reference", str(bert_dir), "--sentences", str(long))
    assert "long.txt:2:" in err("--reference", str(bert_dir), "--sentences", str(long))
    assert "no sentences" in err("--reference", str(bert_dir), "--sentences", str(empty))
    assert "no such sentences file" in err("--reference", str(bert_dir), "--sentences", str(tmp_path / "no.txt"))
    assert "needs --reference ORIGINAL_DIR" in err("--reference", str(bert_dir / "model.safetensors"),
                                                    "--sentences", "builtin")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in err("--reference", str(bert_dir), "--sentences", str(tmp_path / "bin.txt"))

    gpt = write_bert_dir(tmp_path / "gpt", tiny_bert(np.random.default_rng(0)), dict(CFG, model_type="gpt2"))
    assert "model_type 'gpt2' is not 'bert'" in err("--reference", str(gpt), "--sentences", "builtin")
    act = write_bert_dir(tmp_path / "act", tiny_bert(np.random.default_rng(0)), dict(CFG, hidden_act="relu"))
    assert "hidden_act 'relu' is not supported" in err("--reference", str(act), "--sentences", "builtin")
    big = write_bert_dir(tmp_path / "big", tiny_bert(np.random.default_rng(0)), dict(CFG, hidden_size=64))
    assert "does not fit config.json" in err("--reference", str(big), "--sentences", "builtin")

    part = tiny_bert(np.random.default_rng(0))
    del part["encoder.layer.1.output.dense.bias"]
    cut = write_bert_dir(tmp_path / "cut", part)
    part_stream = tmp_path / "cut.nwc"
    assert main(["encode", str(cut), str(part_stream), "--lossless"]) == 0
    capsys.readouterr()
    assert main(["eval", str(part_stream), "--reference", str(cut), "--sentences", "builtin"]) == 1
    assert "lack BERT tensor 'encoder.layer.1.output.dense.bias'" in capsys.readouterr().err

    novocab = write_bert_dir(tmp_path / "nv", tiny_bert(np.random.default_rng(0)))
    (novocab / "vocab.txt").unlink()
    assert "no vocab.txt" in err("--reference", str(novocab), "--sentences", "builtin")


def test_config_lacking_a_size(tmp_path: Path) -> None:
    d = write_bert_dir(tmp_path / "b", tiny_bert(np.random.default_rng(0)),
                       {k: v for k, v in CFG.items() if k != "num_attention_heads"})
    with pytest.raises(InputError, match="lacks 'num_attention_heads'"):
        read_bert_config(d)
