"""Checkers of chapter 13, "Outlook and questions"."""

from __future__ import annotations

import math

from lmcore.exercises import exercise, expect, typical_mistake


def _cases():
    """(sizes, losses, alpha): exact power laws, one with noise-free but uneven sizes,
    and a noisy one whose least-squares slope in log space is computed here."""
    cases = []
    for n_c, alpha, sizes in ((1e13, 0.076, [1e3, 1e4, 1e5, 1e6]),
                              (5e4, 0.3, [200, 900, 5000, 40000, 300000]),
                              (2.0e6, 0.05, [3312, 25472, 100096, 335712])):
        cases.append((sizes, [(n_c / n) ** alpha for n in sizes], alpha))
    sizes = [1e3, 1e4, 1e5, 1e6]
    losses = [5.0, 4.1, 3.9, 3.2]                          # not an exact power law
    xs, ys = [math.log(n) for n in sizes], [math.log(v) for v in losses]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys))
             / sum((x - mx) ** 2 for x in xs))
    cases.append((sizes, losses, -slope))
    return cases


@exercise("ch13.power_law_exponent", function_name="power_law_exponent", points=2,
          title="The exponent of a power law")
def _check_power_law_exponent(power_law_exponent):
    for sizes, losses, alpha in _cases():
        got = power_law_exponent(list(sizes), list(losses))
        expect(isinstance(got, (int, float)) or hasattr(got, "__float__"),
               f"return a number; yours returned {type(got).__name__}.")
        expect(abs(float(got) - alpha) < 1e-6 * max(1.0, abs(alpha)),
               f"for sizes {sizes} and losses {[round(v, 4) for v in losses]} the exponent "
               f"alpha should be {alpha:.6f}; yours is {float(got):.6f}. Fit a straight "
               "line to (log N, log L) by least squares and return minus its slope.")


_check_power_law_exponent.n_cases = len(_cases())


@typical_mistake("ch13.power_law_exponent")
def _returns_the_slope(n, loss):
    import numpy as np
    return float(np.polyfit(np.log(n), np.log(loss), 1)[0])


@typical_mistake("ch13.power_law_exponent")
def _fits_loss_not_its_log(n, loss):
    import numpy as np
    return float(-np.polyfit(np.log(n), np.asarray(loss), 1)[0])


@typical_mistake("ch13.power_law_exponent")
def _uses_the_two_ends_only(n, loss):
    return -(math.log(loss[-1]) - math.log(loss[0])) / (math.log(n[-1]) - math.log(n[0]))
