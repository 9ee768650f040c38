"""The next-token view of chapter 11: a prompt, the model's next-token distribution, and the
temperature, top-k and top-p filters of :mod:`lmcore.generate` applied to it.

* :meth:`NextTokenView.widget` -- live ipywidgets controls in Jupyter: type any prompt, move
  the sliders; the model runs in the kernel and :func:`lmcore.generate.next_token_probabilities`
  filters its distribution.
* :meth:`NextTokenView.static_view` -- a self-contained HTML view for the built book, with the
  logits of a few prompts precomputed and the same filters written in JavaScript
  (``static/next_token.js``, checked against the Python filters in ``tests/test_next_token_view.py``).
"""

from __future__ import annotations

import html
from typing import Any, Optional, Sequence

import torch

from lmcore._validate import bad_argument, check_int, check_number
from lmcore.generate import next_token_probabilities
from lmcore.viz._html import StaticView, asset, standalone_view
from lmcore.viz._live import live_panel

# The view's CSS and JavaScript: lmcore/viz/static/next_token.css and next_token.js.
_SCRIPT = asset("next_token.js")
_CSS = asset("next_token.css")

__all__ = ["NextTokenView"]


class NextTokenView:
    """The next-token distribution of ``model`` (a :class:`lmcore.transformer.GPTDecoder`)
    after a prompt, with ``tokenizer`` (``encode``/``decode``) turning text into ids."""

    def __init__(self, model: Any, tokenizer: Any, show: int = 15):
        from lmcore.transformer import GPTDecoder
        if not isinstance(model, GPTDecoder):
            raise TypeError(bad_argument("NextTokenView", "model", type(model).__name__,
                                         "an lmcore.transformer.GPTDecoder"))
        if not (hasattr(tokenizer, "encode") and hasattr(tokenizer, "decode")):
            raise TypeError(bad_argument("NextTokenView", "tokenizer", tokenizer,
                                         "a tokenizer with encode() and decode()"))
        self.model, self.tokenizer = model, tokenizer
        self.show = check_int("NextTokenView", "show", show, minimum=1)
        self.vocab_size = model.config.vocab_size

    def logits(self, prompt: str) -> torch.Tensor:
        """The logits ``[vocab]`` of the token after ``prompt``."""
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(bad_argument("NextTokenView.logits", "prompt", prompt,
                                          "a non-empty str"))
        ids = self.tokenizer.encode(prompt)[-self.model.config.max_positions:]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self.model(torch.tensor([ids]))[0, -1].float()
        finally:
            self.model.train(was_training)

    def table(self, prompt: str, temperature: float = 1.0, top_k: Optional[int] = None,
              top_p: Optional[float] = None) -> list[tuple[str, float, float]]:
        """The ``show`` most likely next tokens as ``(text, p_before, p_after)``: the probability
        at this temperature, and after top-k/top-p with renormalisation (0 when removed)."""
        logits = self.logits(prompt)
        before = next_token_probabilities(logits, temperature)
        after = next_token_probabilities(logits, temperature, top_k, top_p)
        order = torch.argsort(before, descending=True)[:self.show].tolist()
        return [(self.tokenizer.decode([i]), float(before[i]), float(after[i])) for i in order]

    def render_text(self, prompt: str, temperature: float = 1.0, top_k: Optional[int] = None,
                    top_p: Optional[float] = None) -> str:
        """The table as text (what the live widget shows), or the error message."""
        try:
            rows = self.table(prompt, temperature, top_k, top_p)
            after = next_token_probabilities(self.logits(prompt), temperature, top_k, top_p)
        except (TypeError, ValueError) as error:
            return str(error)
        lines = [f"{int((after > 0).sum())} tokens survive"]
        for text, p_before, p_after in rows:
            mark = " " if p_after > 0 else "x"
            lines.append(f"{mark} {text!r:>14} {p_before:6.3f} -> {p_after:6.3f} "
                         + "#" * int(round(30 * p_after)))
        return "\n".join(lines)

    def data(self, prompts: Sequence[str], temperature: float = 1.0, top_k: int = 50,
             top_p: float = 0.9) -> dict:
        """What the static view embeds: every token's text and each prompt's logits."""
        if isinstance(prompts, str) or not prompts:
            raise ValueError(bad_argument("NextTokenView.data", "prompts", prompts,
                                          "a non-empty list of str"))
        check_number("NextTokenView.data", "temperature", temperature, positive=True)
        check_int("NextTokenView.data", "top_k", top_k, minimum=1)
        check_number("NextTokenView.data", "top_p", top_p, positive=True, maximum=1.0)
        tokens = [self.tokenizer.decode([i]) for i in range(self.vocab_size)]
        return {"tokens": tokens, "show": self.show,
                "defaults": {"temperature": temperature, "top_k": top_k, "top_p": top_p},
                "prompts": [{"text": p, "logits": [round(float(v), 4)
                                                   for v in self.logits(p)]}
                            for p in prompts]}

    def picture(self, prompt: str, temperature: float = 1.0, top_k: Optional[int] = None,
                top_p: Optional[float] = None) -> str:
        """The table of :meth:`render_text` as HTML that any notebook front end shows, scripts
        or not (the static picture of both views)."""
        text = self.render_text(prompt, temperature, top_k, top_p)
        return ("<pre style='font-size:12px;line-height:1.3;max-width:100%;overflow-x:auto'>"
                f"{html.escape(f'prompt: {prompt!r}')}\n{html.escape(text)}</pre>")

    def static_view(self, prompts: Sequence[str], **defaults: Any) -> StaticView:
        """A self-contained HTML view over ``prompts`` (works offline, in the book); where
        scripts do not run it shows the first prompt's table at the default settings."""
        data = self.data(prompts, **defaults)
        settings = data["defaults"]
        picture = self.picture(prompts[0], settings["temperature"], settings["top_k"],
                               settings["top_p"])
        return StaticView(standalone_view("lmcore-nt", data, _SCRIPT, _CSS, picture))

    def widget(self, prompt: str = "To be, or not to be"):
        """Live controls for Jupyter: a prompt box and the three sliders."""
        import ipywidgets as widgets

        prompt_box = widgets.Text(value=prompt, description="prompt",
                                  continuous_update=False)
        temperature = widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.05,
                                          description="temperature")
        top_k = widgets.IntSlider(value=50, min=1, max=self.vocab_size, description="top-k")
        top_p = widgets.FloatSlider(value=0.9, min=0.05, max=1.0, step=0.01,
                                    description="top-p")
        output = widgets.HTML()

        def update(_change=None):
            text = self.render_text(prompt_box.value, temperature.value, top_k.value,
                                    top_p.value)
            output.value = f"<pre>{html.escape(text)}</pre>"

        for box in (prompt_box, temperature, top_k, top_p):
            box.observe(update, names="value")
        update()
        panel = live_panel([prompt_box, temperature, top_k, top_p, output],
                           lambda: self.picture(prompt_box.value, temperature.value,
                                                top_k.value, top_p.value))
        panel.update = update  # exposed for tests
        panel.controls = {"prompt": prompt_box, "temperature": temperature, "top_k": top_k,
                          "top_p": top_p, "output": output}
        return panel
