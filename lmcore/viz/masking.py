"""The masking view of chapter 8: a real sentence, re-masked on each click.

Each token is drawn as a chip: the token the model *sees* on top and, where the position counts
in the MLM loss, the token it must *predict* underneath. Chips of counted positions are
coloured by what :func:`lmcore.mask_tokens` did there: replaced by ``[MASK]``, by a random
token, or left unchanged (counted all the same).

* :func:`masking_view` is the static view for the HTML book: ``num_samples`` maskings are drawn
  here with seeded generators and embedded; the button steps through them.
* :class:`MaskingWidget` is the live view for Jupyter: type any sentence, click to re-mask it in
  the kernel.
"""

from __future__ import annotations

import html
from typing import Any

import torch

from lmcore._validate import bad_argument, check_int
from lmcore.pretrain import IGNORE_INDEX, mask_tokens
from lmcore.viz._html import StaticView, asset, standalone_view
from lmcore.viz._live import display_live

__all__ = ["masking_sample", "masking_view", "MaskingWidget", "KIND_COLOURS"]

KIND_COLOURS = {"mask": "#ffe082", "random": "#ef9a9a", "same": "#a5d6a7", "": "#eceff1"}
KIND_NAMES = {"mask": "[MASK]", "random": "random token", "same": "unchanged"}


def _check_tokenizer(function: str, tokenizer: Any) -> None:
    needed = ("encode_pair", "convert_ids_to_tokens", "mask_token_id", "vocab_size", "special_token_ids")
    missing = [name for name in needed if not hasattr(tokenizer, name)]
    if missing:
        raise TypeError(bad_argument(function, "tokenizer", tokenizer,
                                     f"a WordPiece tokenizer (lmcore.tokenize.wordpiece_tokenizer()); "
                                     f"this one has no {', '.join(missing)}"))


def masking_sample(tokenizer: Any, text: str, seed: int, mask_prob: float = 0.15) -> dict[str, Any]:
    """One masking of ``[CLS] text [SEP]``: the tokens shown, the labels, and what happened.

    Returns ``{"input_ids", "masked_ids", "labels", "tokens", "shown", "kinds"}`` where
    ``kinds[i]`` is "" (not counted in the loss), "mask", "random" or "same".
    """
    _check_tokenizer("masking_sample", tokenizer)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(bad_argument("masking_sample", "text", text, "a non-empty string"))
    seed = check_int("masking_sample", "seed", seed, minimum=0)
    input_ids = torch.tensor(tokenizer.encode_pair(text)["input_ids"])
    masked, labels = mask_tokens(input_ids, tokenizer.mask_token_id, tokenizer.vocab_size,
                                 tokenizer.special_token_ids, mask_prob=mask_prob,
                                 generator=torch.Generator().manual_seed(seed))
    kinds = []
    for original, shown, label in zip(input_ids.tolist(), masked.tolist(), labels.tolist()):
        if label == IGNORE_INDEX:
            kinds.append("")
        elif shown == tokenizer.mask_token_id:
            kinds.append("mask")
        elif shown != original:
            kinds.append("random")
        else:
            kinds.append("same")
    return {"input_ids": input_ids.tolist(), "masked_ids": masked.tolist(), "labels": labels.tolist(),
            "tokens": tokenizer.convert_ids_to_tokens(input_ids.tolist()),
            "shown": tokenizer.convert_ids_to_tokens(masked.tolist()), "kinds": kinds}


def _caption(kinds: list[str], n_ordinary: int) -> str:
    counted = [k for k in kinds if k]
    parts = ", ".join(f"{sum(k == kind for k in counted)} {name}" for kind, name in KIND_NAMES.items())
    return (f"{len(counted)} of {n_ordinary} ordinary positions count in the loss ({parts}); "
            f"[CLS] and [SEP] are never chosen.")


# The view's CSS and JavaScript: lmcore/viz/static/masking.css and masking.js.
_CSS = asset("masking.css")
_SCRIPT = asset("masking.js")


def masking_view(tokenizer: Any, text: str, num_samples: int = 40, seed: int = 0,
                 mask_prob: float = 0.15) -> StaticView:
    """The static view: ``num_samples`` maskings of ``text`` (seeds ``seed``, ``seed + 1``, ...)."""
    num_samples = check_int("masking_view", "num_samples", num_samples, minimum=1)
    seed = check_int("masking_view", "seed", seed, minimum=0)
    samples = []
    tokens: list[str] = []
    for s in range(seed, seed + num_samples):
        sample = masking_sample(tokenizer, text, s, mask_prob)
        tokens = sample["tokens"]
        n_ordinary = sum(i not in tokenizer.special_token_ids for i in sample["input_ids"])
        samples.append({"shown": sample["shown"], "kinds": sample["kinds"],
                        "caption": _caption(sample["kinds"], n_ordinary)})
    data = {"tokens": tokens, "samples": samples, "colours": KIND_COLOURS, "names": KIND_NAMES}
    first = dict(samples[0], tokens=tokens)
    picture = _chips_html(first) + f"<div>{html.escape(samples[0]['caption'])}</div>"
    return StaticView(standalone_view("lmcore-masking", data, _SCRIPT, _CSS, picture))


def _chips_html(sample: dict[str, Any]) -> str:
    parts = ['<div style="display:flex;flex-wrap:wrap;gap:4px">']
    for shown, original, kind in zip(sample["shown"], sample["tokens"], sample["kinds"]):
        border = "2px solid #37474f" if kind else "1px solid #cfd8dc"
        target = html.escape(original) if kind else "&nbsp;"
        parts.append(f'<div style="border:{border};border-radius:4px;padding:2px 5px;'
                     f'background:{KIND_COLOURS[kind]};color:#222;font-family:monospace;'
                     f'text-align:center">'
                     f'<div>{html.escape(shown)}</div><div style="font-size:0.75em">{target}</div></div>')
    parts.append("</div>")
    return "".join(parts)


class MaskingWidget:
    """The live view: a text box and a button; ``remask()`` (the button's callback) draws a new
    masking with the next seed and stores it in ``self.sample``."""

    def __init__(self, tokenizer: Any, text: str, seed: int = 0, mask_prob: float = 0.15):
        import ipywidgets as widgets
        _check_tokenizer("MaskingWidget", tokenizer)
        self.tokenizer, self.mask_prob = tokenizer, mask_prob
        self.seed = check_int("MaskingWidget", "seed", seed, minimum=0)
        self.text = widgets.Text(value=text, description="sentence", layout={"width": "90%"})
        self.button = widgets.Button(description="Re-mask")
        self.chips = widgets.HTML()
        self.caption = widgets.HTML()
        self.button.on_click(lambda _: self.remask())
        self.text.observe(lambda change: self.draw(), names="value")
        self.widget = widgets.VBox([self.text, self.button, self.chips, self.caption])
        self.sample: dict[str, Any] = {}
        self.draw()

    def remask(self) -> None:
        self.seed += 1
        self.draw()

    def draw(self) -> None:
        if not self.text.value.strip():
            self.chips.value, self.caption.value = "", "<i>type a sentence</i>"
            return
        self.sample = masking_sample(self.tokenizer, self.text.value, self.seed, self.mask_prob)
        n_ordinary = sum(i not in self.tokenizer.special_token_ids for i in self.sample["input_ids"])
        self.chips.value = _chips_html(self.sample)
        self.caption.value = html.escape(_caption(self.sample["kinds"], n_ordinary))

    def _ipython_display_(self) -> None:
        display_live(self.widget, self.chips.value + f"<div>{self.caption.value}</div>")
