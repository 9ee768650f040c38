"""The models the service serves, loaded from folders (chapter 12).

* :func:`load_text_model` -- a GPT-2-layout checkpoint folder as ``save_pretrained`` writes it
  (``config.json`` + ``model.safetensors``), read by :func:`lmcore.checkpoint.load_pretrained`.
  Its tokenizer is the folder's own ``vocab.json`` + ``merges.txt`` when present
  (:func:`lmcore.checkpoint.load_tokenizer`), otherwise GPT-2's byte-level BPE
  (:func:`lmcore.tokenize.gpt2_tokenizer`).
* :func:`load_embedding_model` -- all-MiniLM-L6-v2, served for ``/v1/embeddings`` as
  :func:`lmcore.transformer.sentence_embeddings` computes it (mean-pooled, normalised).
* :func:`load_classifier` -- any ``BertForSequenceClassification``-layout folder
  (``bert.*`` encoder weights with a pooler, ``classifier.weight``/``bias``, ``id2label`` in
  ``config.json``): ``softmax(W tanh(W_p h_CLS + b_p) + b)``, the head of Devlin et al. (2019).
  Its tokenizer is the folder's ``vocab.txt`` when present, otherwise MiniLM's uncased
  WordPiece. Chapter 10's fine-tuned sentiment classifier is such a folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmcore.checkpoint import load_bert_weights, load_pretrained, read_safetensors
from lmcore.transformer import BertConfig, BertEncoder, GPTDecoder

__all__ = ["TextModel", "EmbeddingModel", "Classifier", "load_text_model",
           "load_embedding_model", "load_classifier", "save_classifier", "folder_tokenizer", "EMBEDDING_MODEL_ID"]

EMBEDDING_MODEL_ID = "all-MiniLM-L6-v2"


@dataclasses.dataclass
class TextModel:
    """A causal language model with its tokenizer, under the id clients use."""
    id: str
    model: GPTDecoder
    tokenizer: Any
    eos_token_id: Optional[int]

    @property
    def context_length(self) -> int:
        return self.model.config.max_positions

    def encode_prompt(self, text: str) -> list[int]:
        """The ids of a prompt; an empty prompt starts from the end-of-text token, as GPT-2
        documents were separated in training (so it counts as one prompt token)."""
        ids = self.tokenizer.encode(text)
        if not ids and self.eos_token_id is not None:
            ids = [self.eos_token_id]
        return ids


def folder_tokenizer(folder: Path) -> Any:
    """The byte-level BPE saved in ``folder`` (``vocab.json`` + ``merges.txt``, read by
    :func:`lmcore.checkpoint.load_tokenizer`), else GPT-2's own."""
    from lmcore.checkpoint import load_tokenizer
    from lmcore.tokenize import gpt2_tokenizer
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        return load_tokenizer(folder)
    return gpt2_tokenizer()


def load_text_model(folder: str | Path, model_id: Optional[str] = None) -> TextModel:
    """The GPT in ``folder`` with its tokenizer, served as ``model_id`` (default: the folder's
    name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"The 'folder' argument of load_text_model must be a checkpoint "
                                f"folder; {str(folder)!r} is not a folder.")
    model = load_pretrained(folder)
    if not isinstance(model, GPTDecoder):
        raise ValueError(f"load_text_model: {str(folder)!r} holds a {type(model).__name__}, "
                         "not a GPT (GPT2LMHeadModel layout); it cannot generate text.")
    tokenizer = folder_tokenizer(folder)
    vocab_size = model.config.vocab_size
    if tokenizer.vocab_size > vocab_size:
        raise ValueError(f"load_text_model: the tokenizer has {tokenizer.vocab_size} tokens but "
                         f"the model in {str(folder)!r} only {vocab_size}.")
    config = json.loads((folder / "config.json").read_text())
    eos = config.get("eos_token_id")
    if eos is None:
        eos = getattr(tokenizer, "eos_token_id", None)
    eos = eos if isinstance(eos, int) and 0 <= eos < vocab_size else None
    return TextModel(model_id or folder.resolve().name, model, tokenizer, eos)


@dataclasses.dataclass
class EmbeddingModel:
    """A sentence encoder: ``embed(texts)`` -> ``([len(texts), d] unit vectors, tokens)``."""
    id: str
    model: BertEncoder
    tokenizer: Any
    max_length: int = 256    # as sentence-transformers truncates all-MiniLM-L6-v2

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the encoder reads: [CLS] text [SEP], truncated to ``max_length``."""
        return sum(min(len(self.tokenizer.encode_pair(t)["input_ids"]), self.max_length)
                   for t in texts)

    def embed(self, texts: Sequence[str]) -> Tensor:
        from lmcore.transformer import sentence_embeddings
        return sentence_embeddings(list(texts), self.model, self.tokenizer,
                                   max_length=self.max_length)


def load_embedding_model() -> EmbeddingModel:
    from lmcore.transformer import load_minilm
    model, tokenizer = load_minilm()
    return EmbeddingModel(EMBEDDING_MODEL_ID, model, tokenizer)


class Classifier(nn.Module):
    """A BERT encoder with a classification head on its pooled [CLS] vector."""

    def __init__(self, encoder: BertEncoder, labels: list[str]):
        super().__init__()
        self.encoder, self.labels = encoder, labels
        self.head = nn.Linear(encoder.config.d_model, len(labels))
        self.tokenizer: Any = None
        self.id = ""
        self.max_length = encoder.config.max_positions

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Tensor) -> Tensor:
        pooled = self.encoder(input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).pooler_output   # [batch, d]
        return self.head(pooled)                                             # [batch, labels]

    def count_tokens(self, texts: Sequence[str]) -> int:
        return sum(min(len(self.tokenizer.encode_pair(t)["input_ids"]), self.max_length)
                   for t in texts)

    @torch.no_grad()
    def probabilities(self, texts: Sequence[str]) -> Tensor:
        """``[len(texts), labels]``: the softmax of the head's scores for each text."""
        from lmcore.transformer import _batch
        ids, types, mask = _batch(self.tokenizer, list(texts), None, self.max_length)
        return F.softmax(self(ids, mask, types), dim=-1)


def load_classifier(folder: str | Path, model_id: Optional[str] = None) -> Classifier:
    """A ``BertForSequenceClassification``-layout folder as a :class:`Classifier` (eval mode)."""
    from lmcore.tokenize import wordpiece_tokenizer
    folder = Path(folder)
    config_file, weights_file = folder / "config.json", folder / "model.safetensors"
    for file in (config_file, weights_file):
        if not file.is_file():
            raise FileNotFoundError(f"The 'folder' argument of load_classifier must hold "
                                    f"config.json and model.safetensors. {str(file)!r} does "
                                    "not exist.")
    hf = json.loads(config_file.read_text())
    state = read_safetensors(weights_file)
    head = {name: state.pop(name) for name in ("classifier.weight", "classifier.bias")
            if name in state}
    if len(head) != 2:
        raise ValueError(f"load_classifier: {str(weights_file)!r} has no classifier.weight and "
                         "classifier.bias; is it a BertForSequenceClassification checkpoint?")
    if not any(name.endswith("pooler.dense.weight") for name in state):
        raise ValueError(f"load_classifier: {str(weights_file)!r} has no pooler weights; the "
                         "classification head reads the pooled [CLS] vector.")
    id2label = hf.get("id2label") or {}
    num_labels = head["classifier.weight"].shape[0]
    labels = [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(num_labels)]
    encoder = load_bert_weights(BertEncoder(BertConfig.from_hf(hf, pooler=True)), state)
    classifier = Classifier(encoder, labels)
    with torch.no_grad():
        classifier.head.weight.copy_(head["classifier.weight"])
        classifier.head.bias.copy_(head["classifier.bias"])
    if (folder / "vocab.txt").is_file():
        from lmcore.checkpoint import load_tokenizer
        classifier.tokenizer = load_tokenizer(folder)
    else:
        classifier.tokenizer = wordpiece_tokenizer()
    classifier.id = model_id or folder.resolve().name
    return classifier.eval()


def save_classifier(classifier: Classifier, folder: str | Path) -> Path:
    """Write ``classifier`` as a ``BertForSequenceClassification`` folder (``bert.*``,
    ``classifier.*``, ``id2label``, the tokenizer's ``vocab.txt``), the layout
    :func:`load_classifier` and ``transformers`` read. Returns the folder."""
    from safetensors.torch import save_file
    from lmcore._validate import bad_argument
    from lmcore.checkpoint import save_pretrained
    if not isinstance(classifier, Classifier) or classifier.encoder.pooler is None:
        raise TypeError(bad_argument("save_classifier", "classifier", classifier,
                                     "an lmcore.serve.models.Classifier whose encoder has a "
                                     "pooler"))
    folder = save_pretrained(classifier.encoder, folder, tokenizer=classifier.tokenizer)
    state = {f"bert.{name}": tensor
             for name, tensor in read_safetensors(folder / "model.safetensors").items()}
    state["classifier.weight"] = classifier.head.weight.detach().clone().contiguous()
    state["classifier.bias"] = classifier.head.bias.detach().clone().contiguous()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForSequenceClassification"]
    config["id2label"] = {str(i): label for i, label in enumerate(classifier.labels)}
    config["label2id"] = {label: i for i, label in enumerate(classifier.labels)}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder
