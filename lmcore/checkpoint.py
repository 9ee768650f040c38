"""Checkpoints that are Hugging Face checkpoints (chapter 9).

A checkpoint is a folder in the layout of Hugging Face ``transformers``:

* ``config.json`` -- the architecture (``"architectures": ["BertForPreTraining"]``, the sizes
  under Hugging Face's names: ``hidden_size``, ``num_hidden_layers``, ``n_embd``, ...);
* ``model.safetensors`` -- every weight under Hugging Face's name, written and read with the
  ``safetensors`` library (a JSON header of names, dtypes, shapes and offsets, then the raw
  bytes; chapter 6 reads one by hand);
* the tokenizer's files: ``vocab.txt`` for WordPiece (one token per line, the id is the line
  number), ``vocab.json`` + ``merges.txt`` for byte-level BPE, and ``tokenizer_config.json``.

================================  ===========================  =============================
lmcore model                      Hugging Face class           names
================================  ===========================  =============================
BertForPretraining                BertForPreTraining           ``bert.*``, ``cls.*``
BertEncoder                       BertModel                    ``embeddings.*``, ``encoder.*``
BertForSequenceClassification     (same name)                  ``bert.*``, ``classifier.*``
BertForTokenClassification        (same name)                  ``bert.*``, ``classifier.*``
GPTDecoder (learned positions)    GPT2LMHeadModel              ``transformer.*`` (Conv1D)
================================  ===========================  =============================

:func:`save_pretrained` writes such a folder, :func:`load_pretrained` reads one (written by
lmcore or by ``transformers``) into the matching lmcore model. Every load translates every
stored name and checks every shape *before* copying a single weight; a checkpoint that does
not fit raises :class:`CheckpointMismatchError` listing the missing, unexpected and mismatched
tensors, and nothing is copied. ``tests/test_checkpoint.py`` round-trips models both ways with
``transformers`` and compares logits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor, nn

from lmcore._validate import bad_argument
from lmcore.transformer import BertConfig, BertEncoder, BertForPretraining, GPTConfig, GPTDecoder
from lmcore.transformer import BertForSequenceClassification, BertForTokenClassification

__all__ = ["save_pretrained", "load_pretrained", "load_tokenizer", "save_tokenizer",
           "CheckpointMismatchError", "read_safetensors", "hf_bert_name_to_lmcore",
           "load_bert_weights", "load_gpt2_weights", "load_bert", "load_gpt2",
           "lmcore_to_hf_state", "load_classifier_weights"]


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """Every tensor of a ``.safetensors`` file, name -> tensor (the ``safetensors`` library)."""
    from safetensors.torch import load_file
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'path' argument of read_safetensors must be an existing "
                                f"file. Got {str(path)!r}, which does not exist.")
    return load_file(str(path))


# Hugging Face BERT name -> lmcore name (N is the layer number)
_HF_BERT_RULES = [
    (r"embeddings\.word_embeddings\.(weight)", r"embeddings.token_embeddings.\1"),
    (r"embeddings\.position_embeddings\.(weight)", r"embeddings.position_embeddings.\1"),
    (r"embeddings\.token_type_embeddings\.(weight)", r"embeddings.segment_embeddings.\1"),
    (r"embeddings\.LayerNorm\.(weight|bias)", r"embeddings.norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.query\.(weight|bias)", r"blocks.\1.attention.q_proj.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.key\.(weight|bias)", r"blocks.\1.attention.k_proj.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.value\.(weight|bias)", r"blocks.\1.attention.v_proj.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)", r"blocks.\1.attention.out_proj.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)", r"blocks.\1.attention_norm.\2"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", r"blocks.\1.ffn.ffn_in.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", r"blocks.\1.ffn.ffn_out.\2"),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)", r"blocks.\1.ffn_norm.\2"),
    (r"pooler\.dense\.(weight|bias)", r"pooler.dense.\1"),
]
# Buffers some checkpoints store that are not weights (the positions 0..P-1, rebuilt by us).
_HF_BERT_NOT_WEIGHTS = {"embeddings.position_ids"}


def hf_bert_name_to_lmcore(name: str) -> Optional[str]:
    """The lmcore name of a Hugging Face BERT parameter (``bert.`` prefix allowed), or None."""
    if name.startswith("bert."):
        name = name[len("bert."):]
    for pattern, replacement in _HF_BERT_RULES:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, replacement, name)
    return None


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model: lists every missing, unexpected or mismatched name."""


def _checked_copy(function: str, model: nn.Module, state: Any, translate: Any,
                  skip_expected: frozenset = frozenset()) -> nn.Module:
    """Copy ``state`` into ``model`` after checking every name and shape; all or nothing.

    ``translate(name, tensor)`` returns the ``[(our_name, tensor), ...]`` a checkpoint tensor
    becomes, ``[]`` for a stored tensor that is not a weight (skipped), or ``None`` for a name
    it does not know (reported as unexpected).
    """
    if not isinstance(state, dict):
        raise TypeError(bad_argument(function, "state", state, "a dict of name -> tensor"))
    expected = {name: p.shape for name, p in model.state_dict().items() if name not in skip_expected}
    found: dict[str, Tensor] = {}
    unexpected, mismatched, mismatched_names = [], [], set()
    for name, tensor in state.items():
        pieces = translate(name, tensor)
        if pieces is None:
            unexpected.append(name)
            continue
        for ours, piece in pieces:
            if ours not in expected:
                unexpected.append(f"{name} (as {ours})")
            elif tuple(piece.shape) != tuple(expected[ours]):
                mismatched.append(f"{name} -> {ours}: checkpoint {list(piece.shape)}, "
                                  f"model {list(expected[ours])}")
                mismatched_names.add(ours)
            else:
                found[ours] = piece
    missing = sorted(set(expected) - set(found) - mismatched_names)
    if missing or unexpected or mismatched:
        lines = ["The checkpoint does not fit the model; nothing was copied."]
        for title, names in (("missing from the checkpoint", missing),
                             ("unexpected in the checkpoint", sorted(unexpected)),
                             ("shape mismatch", mismatched)):
            if names:
                lines.append(f"{len(names)} {title}:")
                lines.extend(f"  {n}" for n in names)
        raise CheckpointMismatchError("\n".join(lines))
    with torch.no_grad():
        parameters = model.state_dict()
        for ours, tensor in found.items():
            parameters[ours].copy_(tensor)
    return model


# The heads of BertForPreTraining. The MLM decoder matrix is the word embedding matrix (tied)
# and its bias is cls.predictions.bias: a stored copy of either is not a weight of its own.
_HF_BERT_HEAD_RULES = [
    (r"cls\.predictions\.transform\.dense\.(weight|bias)", r"mlm_head.dense.\1"),
    (r"cls\.predictions\.transform\.LayerNorm\.(weight|bias)", r"mlm_head.norm.\1"),
    (r"cls\.predictions\.bias", r"mlm_head.bias"),
    (r"cls\.seq_relationship\.(weight|bias)", r"nsp_head.\1"),
]
_HF_BERT_TIED = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}


def load_bert_weights(model: BertEncoder | BertForPretraining,
                      state: dict[str, Tensor]) -> BertEncoder | BertForPretraining:
    """Copy a Hugging Face BERT ``state`` (name -> tensor) into ``model``, all or nothing.

    ``model`` is a :class:`BertEncoder` (names of ``BertModel``, an optional ``bert.`` prefix)
    or a :class:`BertForPretraining` (names of ``BertForPreTraining``: ``bert.*`` and the
    heads ``cls.*``). Before copying anything, every checkpoint name is translated
    (:func:`hf_bert_name_to_lmcore`) and every parameter of ``model`` must receive exactly one
    tensor of exactly its shape. Otherwise :class:`CheckpointMismatchError` lists the missing,
    unexpected and mismatched names and ``model`` is left untouched.
    """
    if not isinstance(model, (BertEncoder, BertForPretraining)):
        raise TypeError(bad_argument("load_bert_weights", "model", model,
                                     "a BertEncoder or a BertForPretraining"))
    heads = isinstance(model, BertForPretraining)

    def translate(name: str, tensor: Tensor):
        if heads and name.startswith("cls."):
            if name in _HF_BERT_TIED:
                return []
            for pattern, replacement in _HF_BERT_HEAD_RULES:
                if re.fullmatch(pattern, name):
                    return [(re.sub(pattern, replacement, name), tensor)]
            return None
        base = name[len("bert."):] if name.startswith("bert.") else name
        if base in _HF_BERT_NOT_WEIGHTS:
            return []
        ours = hf_bert_name_to_lmcore(name)
        if ours is None:
            return None
        return [("bert." + ours if heads else ours, tensor)]

    return _checked_copy("load_bert_weights", model, state, translate)


_CLASSIFIERS = (BertForSequenceClassification, BertForTokenClassification)


def load_classifier_weights(model: BertForSequenceClassification | BertForTokenClassification,
                            state: dict[str, Tensor]) -> nn.Module:
    """Copy a Hugging Face ``BertForSequenceClassification`` / ``BertForTokenClassification``
    ``state`` (``bert.*`` and ``classifier.*``) into ``model``, all or nothing, with the checks
    of :func:`load_bert_weights` (chapter 10)."""
    if not isinstance(model, _CLASSIFIERS):
        raise TypeError(bad_argument("load_classifier_weights", "model", model,
                                     "a BertForSequenceClassification or "
                                     "BertForTokenClassification"))

    def translate(name: str, tensor: Tensor):
        if re.fullmatch(r"classifier\.(weight|bias)", name):
            return [(name, tensor)]
        base = name[len("bert."):] if name.startswith("bert.") else name
        if base in _HF_BERT_NOT_WEIGHTS:
            return []
        ours = hf_bert_name_to_lmcore(name) if name.startswith("bert.") else None
        return None if ours is None else [("bert." + ours, tensor)]

    return _checked_copy("load_classifier_weights", model, state, translate)


# Hugging Face GPT-2 name -> lmcore name. GPT-2 stores its linear layers as "Conv1D" with the
# weight [in, out] (the transpose of torch.nn.Linear's), and W^Q, W^K, W^V side by side in one
# c_attn [d, 3d].
_HF_GPT2_RULES = [
    (r"wte\.weight", "token_embeddings.weight"),
    (r"wpe\.weight", "position_embeddings.weight"),
    (r"ln_f\.(weight|bias)", r"final_norm.\1"),
    (r"h\.(\d+)\.ln_1\.(weight|bias)", r"blocks.\1.attention_norm.\2"),
    (r"h\.(\d+)\.ln_2\.(weight|bias)", r"blocks.\1.ffn_norm.\2"),
    (r"h\.(\d+)\.attn\.c_proj\.(weight|bias)", r"blocks.\1.attention.out_proj.\2"),
    (r"h\.(\d+)\.mlp\.c_fc\.(weight|bias)", r"blocks.\1.ffn.ffn_in.\2"),
    (r"h\.(\d+)\.mlp\.c_proj\.(weight|bias)", r"blocks.\1.ffn.ffn_out.\2"),
]
_HF_GPT2_NOT_WEIGHTS = re.compile(r"h\.\d+\.attn\.(masked_)?bias")   # stored causal masks


def load_gpt2_weights(model: GPTDecoder, state: dict[str, Tensor]) -> GPTDecoder:
    """Copy a Hugging Face GPT-2 ``state`` (``GPT2Model`` or ``GPT2LMHeadModel`` names) into
    ``model``, all or nothing, with the same checks as :func:`load_bert_weights`.

    Conv1D weights are transposed, ``c_attn`` is split into ``q_proj``, ``k_proj``, ``v_proj``.
    A model with tied embeddings takes its output layer from ``wte`` (a stored ``lm_head.weight``
    is then ignored); an untied model needs ``lm_head.weight``.
    """
    if not isinstance(model, GPTDecoder):
        raise TypeError(bad_argument("load_gpt2_weights", "model", model, "a GPTDecoder"))
    tied = model.config.tie_embeddings

    def translate(name: str, tensor: Tensor):
        if name == "lm_head.weight":
            return [] if tied else [("lm_head.weight", tensor)]
        base = name[len("transformer."):] if name.startswith("transformer.") else name
        if _HF_GPT2_NOT_WEIGHTS.fullmatch(base):
            return []
        match = re.fullmatch(r"h\.(\d+)\.attn\.c_attn\.(weight|bias)", base)
        if match:
            layer, kind = match.groups()
            pieces = (tensor.t() if kind == "weight" else tensor).chunk(3, dim=0)
            return [(f"blocks.{layer}.attention.{proj}.{kind}", piece)
                    for proj, piece in zip(("q_proj", "k_proj", "v_proj"), pieces)]
        for pattern, replacement in _HF_GPT2_RULES:
            if re.fullmatch(pattern, base):
                ours = re.sub(pattern, replacement, base)
                is_conv1d = ours.endswith("weight") and ("attention.out_proj" in ours
                                                         or ".ffn." in ours)
                return [(ours, tensor.t() if is_conv1d else tensor)]
        return None

    skip = frozenset({"lm_head.weight"}) if tied else frozenset()
    return _checked_copy("load_gpt2_weights", model, state, translate, skip)




# --------------------------------------------------------------------------------------------
# lmcore -> Hugging Face names (the inverse of the rules above)
# --------------------------------------------------------------------------------------------

_LMCORE_BERT_RULES = [
    (r"embeddings\.token_embeddings\.weight", "embeddings.word_embeddings.weight"),
    (r"embeddings\.position_embeddings\.weight", "embeddings.position_embeddings.weight"),
    (r"embeddings\.segment_embeddings\.weight", "embeddings.token_type_embeddings.weight"),
    (r"embeddings\.norm\.(weight|bias)", r"embeddings.LayerNorm.\1"),
    (r"blocks\.(\d+)\.attention\.q_proj\.(weight|bias)", r"encoder.layer.\1.attention.self.query.\2"),
    (r"blocks\.(\d+)\.attention\.k_proj\.(weight|bias)", r"encoder.layer.\1.attention.self.key.\2"),
    (r"blocks\.(\d+)\.attention\.v_proj\.(weight|bias)", r"encoder.layer.\1.attention.self.value.\2"),
    (r"blocks\.(\d+)\.attention\.out_proj\.(weight|bias)", r"encoder.layer.\1.attention.output.dense.\2"),
    (r"blocks\.(\d+)\.attention_norm\.(weight|bias)", r"encoder.layer.\1.attention.output.LayerNorm.\2"),
    (r"blocks\.(\d+)\.ffn\.ffn_in\.(weight|bias)", r"encoder.layer.\1.intermediate.dense.\2"),
    (r"blocks\.(\d+)\.ffn\.ffn_out\.(weight|bias)", r"encoder.layer.\1.output.dense.\2"),
    (r"blocks\.(\d+)\.ffn_norm\.(weight|bias)", r"encoder.layer.\1.output.LayerNorm.\2"),
    (r"pooler\.dense\.(weight|bias)", r"pooler.dense.\1"),
    (r"mlm_head\.dense\.(weight|bias)", r"cls.predictions.transform.dense.\1"),
    (r"mlm_head\.norm\.(weight|bias)", r"cls.predictions.transform.LayerNorm.\1"),
    (r"mlm_head\.bias", "cls.predictions.bias"),
    (r"nsp_head\.(weight|bias)", r"cls.seq_relationship.\1"),
]


def _bert_state(model: BertEncoder | BertForPretraining) -> dict[str, Tensor]:
    prefix_heads = isinstance(model, BertForPretraining)
    out = {}
    for name, tensor in model.state_dict().items():
        base = name[len("bert."):] if prefix_heads and name.startswith("bert.") else name
        for pattern, replacement in _LMCORE_BERT_RULES:
            if re.fullmatch(pattern, base):
                hf = re.sub(pattern, replacement, base)
                if prefix_heads and not hf.startswith("cls."):
                    hf = "bert." + hf
                out[hf] = tensor
                break
        else:
            raise AssertionError(f"no Hugging Face name for lmcore's {name}")  # a bug in the rules
    return out


def _gpt2_state(model: GPTDecoder) -> dict[str, Tensor]:
    state = model.state_dict()
    out = {"transformer.wte.weight": state["token_embeddings.weight"],
           "transformer.wpe.weight": state["position_embeddings.weight"],
           "transformer.ln_f.weight": state["final_norm.weight"],
           "transformer.ln_f.bias": state["final_norm.bias"]}
    for i in range(model.config.num_layers):
        ours, hf = f"blocks.{i}.", f"transformer.h.{i}."
        for kind in ("weight", "bias"):
            out[hf + f"ln_1.{kind}"] = state[ours + f"attention_norm.{kind}"]
            out[hf + f"ln_2.{kind}"] = state[ours + f"ffn_norm.{kind}"]
        # Conv1D stores [in, out]: the transpose of nn.Linear's [out, in]; W^Q, W^K, W^V side
        # by side in one c_attn [d, 3d]
        qkv = [state[ours + f"attention.{p}_proj.weight"] for p in "qkv"]
        out[hf + "attn.c_attn.weight"] = torch.cat([w.t() for w in qkv], dim=1)   # [d, 3d]
        out[hf + "attn.c_attn.bias"] = torch.cat(
            [state[ours + f"attention.{p}_proj.bias"] for p in "qkv"])             # [3d]
        for theirs, mine in (("attn.c_proj", "attention.out_proj"), ("mlp.c_fc", "ffn.ffn_in"),
                             ("mlp.c_proj", "ffn.ffn_out")):
            out[hf + f"{theirs}.weight"] = state[ours + f"{mine}.weight"].t()
            out[hf + f"{theirs}.bias"] = state[ours + f"{mine}.bias"]
    if not model.config.tie_embeddings:
        out["lm_head.weight"] = state["lm_head.weight"]
    return out


def lmcore_to_hf_state(model: nn.Module) -> dict[str, Tensor]:
    """The weights of ``model`` under Hugging Face's names (fresh contiguous tensors)."""
    if isinstance(model, (BertEncoder, BertForPretraining)):
        state = _bert_state(model)
    elif isinstance(model, _CLASSIFIERS):                 # chapter 10: bert.* + classifier.*
        state = {"bert." + k: v for k, v in _bert_state(model.bert).items()}
        state.update({f"classifier.{k}": v for k, v in model.classifier.state_dict().items()})
    elif isinstance(model, GPTDecoder):
        _check_gpt_for_hf(model)
        state = _gpt2_state(model)
    else:
        raise TypeError(bad_argument("lmcore_to_hf_state", "model", model,
                                     "a BertForPretraining, BertEncoder, "
                                     "BertFor...Classification or GPTDecoder"))
    return {name: t.detach().to("cpu").contiguous().clone() for name, t in state.items()}


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------

_HF_ACTIVATION = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}
_LMCORE_ACTIVATION = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
                      "relu": "relu"}


def _check_gpt_for_hf(model: GPTDecoder) -> None:
    if model.config.positions != "learned":
        raise ValueError(
            f"save_pretrained: this GPTDecoder uses {model.config.positions!r} positions, which "
            "Hugging Face's GPT2LMHeadModel cannot represent (it has learned position "
            "embeddings, 'wpe', only). Train a model with GPTConfig(positions='learned') to "
            "save it as a Hugging Face checkpoint, or save its state_dict with torch.save.")


def _hf_config(model: nn.Module) -> dict:
    c = model.config
    if isinstance(model, _CLASSIFIERS):                   # chapter 10: the encoder's + labels
        config = _hf_config(model.bert)
        config["architectures"] = [type(model).__name__]
        config["id2label"] = {str(i): name for i, name in enumerate(model.labels)}
        config["label2id"] = {name: i for i, name in enumerate(model.labels)}
        return config
    if isinstance(model, GPTDecoder):
        return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                "vocab_size": c.vocab_size, "n_positions": c.max_positions, "n_embd": c.d_model,
                "n_layer": c.num_layers, "n_head": c.num_heads, "n_inner": c.d_ff,
                "activation_function": _HF_ACTIVATION[c.activation],
                "layer_norm_epsilon": c.layer_norm_eps, "resid_pdrop": c.dropout,
                "embd_pdrop": c.dropout, "attn_pdrop": c.dropout, "initializer_range": 0.02,
                "tie_word_embeddings": c.tie_embeddings, "bos_token_id": None,
                "eos_token_id": None}
    architecture = "BertForPreTraining" if isinstance(model, BertForPretraining) else "BertModel"
    return {"architectures": [architecture], "model_type": "bert",
            "vocab_size": c.vocab_size, "max_position_embeddings": c.max_positions,
            "type_vocab_size": c.type_vocab_size, "hidden_size": c.d_model,
            "num_hidden_layers": c.num_layers, "num_attention_heads": c.num_heads,
            "intermediate_size": c.d_ff, "hidden_act": _HF_ACTIVATION[c.activation],
            "layer_norm_eps": c.layer_norm_eps, "hidden_dropout_prob": c.dropout,
            "attention_probs_dropout_prob": c.dropout, "initializer_range": 0.02,
            "pad_token_id": 0, "position_embedding_type": "absolute",
            "tie_word_embeddings": True}


def _gpt_config(hf: dict, source: str) -> GPTConfig:
    activation = _LMCORE_ACTIVATION.get(hf.get("activation_function", "gelu_new"),
                                        hf.get("activation_function"))
    try:
        return GPTConfig(vocab_size=hf["vocab_size"], max_positions=hf["n_positions"],
                         d_model=hf["n_embd"], num_layers=hf["n_layer"], num_heads=hf["n_head"],
                         d_ff=hf.get("n_inner") or 4 * hf["n_embd"], activation=activation,
                         layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
                         dropout=hf.get("resid_pdrop", 0.1),
                         tie_embeddings=hf.get("tie_word_embeddings", True))
    except KeyError as missing:
        raise ValueError(f"load_pretrained: {source} has no {missing} entry; is it a GPT-2 "
                         f"config.json?") from None


# --------------------------------------------------------------------------------------------
# Tokenizer files
# --------------------------------------------------------------------------------------------

def save_tokenizer(tokenizer: Any, folder: str | Path, max_length: int = 512) -> list[Path]:
    """Write ``tokenizer``'s files in the layout ``transformers`` reads: a WordPiece as
    ``vocab.txt`` (``BertTokenizer``/``BertTokenizerFast``), a byte-level BPE as
    ``vocab.json`` + ``merges.txt`` (``GPT2Tokenizer``), each with ``tokenizer_config.json``
    and ``special_tokens_map.json``. Returns the paths written."""
    from lmcore.tokenize import ByteLevelBPE, WordPiece
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(tokenizer, WordPiece):
        if tokenizer.prefix != "##":
            raise ValueError(bad_argument("save_tokenizer", "tokenizer.prefix", tokenizer.prefix,
                                          "'##' (the only prefix BertTokenizer reads)"))
        (folder / "vocab.txt").write_text("".join(t + "\n" for t in tokenizer.vocab),
                                          encoding="utf-8")
        special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]"}
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": tokenizer.lowercase,
                  "strip_accents": None, "tokenize_chinese_chars": True,
                  "model_max_length": max_length, **special}
        files = ["vocab.txt"]
    elif isinstance(tokenizer, ByteLevelBPE):
        vocab = dict(tokenizer.encoder)
        vocab.update(tokenizer.special_tokens)
        (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False),
                                           encoding="utf-8")
        (folder / "merges.txt").write_text(
            "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in tokenizer.merges),
            encoding="utf-8")
        eos = tokenizer.eos_token_id
        special = {} if eos is None else {k: "<|endoftext|>"
                                           for k in ("bos_token", "eos_token", "unk_token")}
        config = {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False,
                  "model_max_length": max_length, **special}
        files = ["vocab.json", "merges.txt"]
    else:
        raise TypeError(bad_argument("save_tokenizer", "tokenizer", tokenizer,
                                     "an lmcore WordPiece or ByteLevelBPE tokenizer"))
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    return [folder / f for f in files + ["tokenizer_config.json", "special_tokens_map.json"]]


def load_tokenizer(folder: str | Path) -> Any:
    """The lmcore tokenizer stored in ``folder``: a :class:`~lmcore.tokenize.WordPiece` from
    ``vocab.txt`` or a :class:`~lmcore.tokenize.ByteLevelBPE` from ``vocab.json`` +
    ``merges.txt`` (as :func:`save_tokenizer` or ``transformers`` wrote them)."""
    from lmcore.tokenize import ByteLevelBPE, WordPiece
    folder = Path(folder)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    if (folder / "vocab.txt").is_file():
        vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if vocab and vocab[-1] == "":
            vocab.pop()
        return WordPiece(vocab, lowercase=bool(config.get("do_lower_case", True)))
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        lines = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
        merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#")]
        special = {t: i for t, i in vocab.items() if t.startswith("<|") and t.endswith("|>")}
        encoder = {t: i for t, i in vocab.items() if t not in special}
        return ByteLevelBPE(encoder, merges, special_tokens=special)
    raise FileNotFoundError(f"The 'folder' argument of load_tokenizer must hold vocab.txt "
                            f"(WordPiece) or vocab.json + merges.txt (byte-level BPE). "
                            f"{str(folder)!r} has neither.")


# --------------------------------------------------------------------------------------------
# save_pretrained / load_pretrained
# --------------------------------------------------------------------------------------------

def save_pretrained(model: nn.Module, folder: str | Path, tokenizer: Any = None) -> Path:
    """Write ``model`` (and ``tokenizer``) to ``folder`` as a Hugging Face checkpoint.

    ``config.json`` + ``model.safetensors`` in the layout of ``BertForPreTraining``
    (for a :class:`BertForPretraining`), ``BertModel`` (:class:`BertEncoder`) or
    ``GPT2LMHeadModel`` (:class:`GPTDecoder` with learned positions; sinusoidal positions
    raise a ``ValueError``: Hugging Face's GPT-2 cannot represent them). ``tokenizer``, an
    lmcore WordPiece or ByteLevelBPE, is saved beside it (:func:`save_tokenizer`).
    ``transformers``' ``AutoModel...from_pretrained(folder)`` and :func:`load_pretrained`
    both read the result. Returns the folder.
    """
    from safetensors.torch import save_file
    if not isinstance(model, (BertForPretraining, BertEncoder, GPTDecoder) + _CLASSIFIERS):
        raise TypeError(bad_argument("save_pretrained", "model", model,
                                     "a BertForPretraining, BertEncoder, "
                                     "BertForSequenceClassification, "
                                     "BertForTokenClassification or GPTDecoder"))
    if not isinstance(folder, (str, Path)):
        raise TypeError(bad_argument("save_pretrained", "folder", folder, "a path"))
    if tokenizer is not None and getattr(tokenizer, "vocab_size", None) != model.config.vocab_size:
        raise ValueError(bad_argument("save_pretrained", "tokenizer", tokenizer,
                                      f"a tokenizer with the model's vocab_size "
                                      f"({model.config.vocab_size}); it has "
                                      f"{getattr(tokenizer, 'vocab_size', None)}"))
    state = lmcore_to_hf_state(model)                # checks what HF cannot represent first
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(_hf_config(model), indent=2) + "\n")
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer is not None:
        save_tokenizer(tokenizer, folder, max_length=model.config.max_positions)
    return folder


def _read_folder(function: str, folder: str | Path) -> tuple[dict, dict[str, Tensor], Path]:
    if not isinstance(folder, (str, Path)):
        raise TypeError(bad_argument(function, "folder", folder, "a path"))
    folder = Path(folder)
    config_file, weights_file = folder / "config.json", folder / "model.safetensors"
    for file in (config_file, weights_file):
        if not file.is_file():
            raise FileNotFoundError(f"The 'folder' argument of {function} must hold config.json "
                                    f"and model.safetensors. {str(file)!r} does not exist.")
    return json.loads(config_file.read_text()), read_safetensors(weights_file), config_file


def load_pretrained(folder: str | Path) -> nn.Module:
    """The lmcore model of a Hugging Face checkpoint folder, in evaluation mode.

    ``BertForPreTraining`` -> :class:`BertForPretraining`, ``BertModel`` (and other BERT
    checkpoints without heads) -> :class:`BertEncoder`, ``GPT2LMHeadModel``/``GPT2Model`` ->
    :class:`GPTDecoder`; the folder may come from :func:`save_pretrained` or from
    ``transformers``' ``save_pretrained``. The tokenizer, if saved, is read by
    :func:`load_tokenizer`. A checkpoint that does not fit its config raises
    :class:`CheckpointMismatchError`.
    """
    hf, state, config_file = _read_folder("load_pretrained", folder)
    architecture = (hf.get("architectures") or [None])[0]
    model_type = hf.get("model_type")
    if model_type == "gpt2" or (architecture or "").startswith("GPT2"):
        model = load_gpt2_weights(GPTDecoder(_gpt_config(hf, str(config_file))), state)
    elif model_type == "bert" or (architecture or "").startswith("Bert"):
        has_heads = any(name.startswith("cls.") for name in state)
        if architecture == "BertForPreTraining" or (architecture is None and has_heads):
            config = BertConfig.from_hf(hf, pooler=True)
            model = load_bert_weights(BertForPretraining(config), state)
        elif architecture in ("BertForSequenceClassification", "BertForTokenClassification"):
            model = _load_classifier(architecture, hf, state)
        elif architecture in (None, "BertModel"):
            has_pooler = any(name.endswith("pooler.dense.weight") for name in state)
            model = load_bert_weights(BertEncoder(BertConfig.from_hf(hf, pooler=has_pooler)),
                                      state)
        else:
            raise ValueError(f"load_pretrained: {config_file} is a {architecture}; lmcore reads "
                             f"BertForPreTraining, BertModel, BertFor{{Sequence,Token}}Classification "
                             f"and GPT2LMHeadModel checkpoints.")
    else:
        raise ValueError(f"load_pretrained: {config_file} describes model_type {model_type!r} "
                         f"({architecture}); lmcore reads 'bert' and 'gpt2' checkpoints.")
    return model.eval()


def _load_classifier(architecture: str, hf: dict, state: dict[str, Tensor]) -> nn.Module:
    """A BertFor...Classification from a config with ``id2label`` (chapter 10)."""
    id2label = hf.get("id2label") or {str(i): f"LABEL_{i}" for i in range(hf.get("num_labels",
                                                                                 2))}
    labels = [id2label[str(i)] for i in range(len(id2label))]
    if architecture == "BertForSequenceClassification":
        model = BertForSequenceClassification(BertConfig.from_hf(hf, pooler=True), labels)
    else:
        model = BertForTokenClassification(BertConfig.from_hf(hf, pooler=False), labels)
    return load_classifier_weights(model, state)


def load_gpt2(folder: str | Path) -> GPTDecoder:
    """A :class:`GPTDecoder` from a Hugging Face GPT-2 folder, in evaluation mode."""
    hf, state, config_file = _read_folder("load_gpt2", folder)
    return load_gpt2_weights(GPTDecoder(_gpt_config(hf, str(config_file))), state).eval()


def load_bert(folder: str | Path) -> BertEncoder:
    """A :class:`BertEncoder` from a Hugging Face BERT folder (``config.json`` +
    ``model.safetensors``; any heads ``cls.*`` are left out), in evaluation mode."""
    hf, state, _ = _read_folder("load_bert", folder)
    state = {k: v for k, v in state.items() if not k.startswith("cls.")}
    has_pooler = any(name.endswith("pooler.dense.weight") for name in state)
    config = BertConfig.from_hf(hf, pooler=has_pooler)
    return load_bert_weights(BertEncoder(config), state).eval()
