"""Tokenizers: from text to the integer ids a model reads (chapter 2).

Every tokenizer here has the same small interface (:class:`Tokenizer`)::

    tok.encode(text) -> list[int]      tok.decode(ids) -> str
    tok.tokens(text) -> list[str]      tok.vocab_size

=========================  ===========================================================
gpt2_tokenizer()           GPT-2's byte-level BPE (50,257 tokens), from its own files
wordpiece_tokenizer()      BERT's uncased WordPiece (30,522 tokens), MiniLM's vocab.txt
train_bpe(texts, size)     a byte-level BPE learned from your corpus (same class as GPT-2's)
CharTokenizer(texts)       one token per character seen in training
WordTokenizer(texts, n)    the n - 1 most frequent words, the rest [UNK]
pretokenize(text)          GPT-2's pre-tokenization pattern, with the standard ``re`` module
=========================  ===========================================================

Everything is implemented here in plain Python. tiktoken and Hugging Face transformers are
used only by the tests, as independent references that lmcore's ids must equal.
The two pretrained tokenizers are loaded once and cached.
"""

from lmcore.tokenize.base import Tokenizer
from lmcore.tokenize.byte_bpe import ByteLevelBPE, bytes_to_unicode, gpt2_tokenizer
from lmcore.tokenize.pretokenize import GPT2_PATTERN, pretokenize
from lmcore.tokenize.simple import CharTokenizer, WordTokenizer
from lmcore.tokenize.train import train_bpe
from lmcore.tokenize.wordpiece import WordPiece, wordpiece_tokenizer

__all__ = ["Tokenizer", "ByteLevelBPE", "WordPiece", "CharTokenizer", "WordTokenizer",
           "gpt2_tokenizer", "wordpiece_tokenizer", "train_bpe", "bytes_to_unicode",
           "pretokenize", "GPT2_PATTERN"]
