"""Checkers of chapter 12, "Models as a service"."""

from __future__ import annotations

import json

from lmcore.exercises import exercise, expect, typical_mistake


def _streams():
    chunk = lambda text: {"choices": [{"index": 0, "text": text}]}   # noqa: E731
    return [
        ([f"data: {json.dumps(chunk('Hel'))}", "", f"data: {json.dumps(chunk('lo'))}", "",
          "data: [DONE]", ""], [chunk("Hel"), chunk("lo")]),
        ([": keep-alive", "", f"data: {json.dumps(chunk(' world'))}", "", "data: [DONE]"],
         [chunk(" world")]),
        (["data: [DONE]", ""], []),
        ([f"data: {json.dumps({'error': {'message': 'x'}})}", "", "data: [DONE]", "",
          f"data: {json.dumps(chunk('late'))}"], [{"error": {"message": "x"}}]),
    ]


@exercise("ch12.parse_sse", function_name="parse_sse", points=2,
          title="Read a server-sent-event stream")
def _check_parse_sse(parse_sse):
    for lines, expected in _streams():
        got = parse_sse(list(lines))
        expect(isinstance(got, list), f"return a list of dicts; yours returned "
               f"{type(got).__name__}.")
        expect(got == expected, f"for the lines {lines!r} the events should be {expected!r}; "
               f"yours are {got!r}. Skip blank lines and lines starting with ':', parse what "
               "follows 'data: ' as JSON, and stop at 'data: [DONE]'.")


_check_parse_sse.n_cases = len(_streams())


@typical_mistake("ch12.parse_sse")
def _parses_every_line_after_done(lines):
    events = []
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            events.append(json.loads(line[len("data: "):]))
    return events


def _quota_cases():
    history = [(0.0, 30), (20.0, 20), (59.0, 10)]
    return [
        (history, 59.5, 40, 100, True),     # 60 used + 40 = 100: allowed
        (history, 59.5, 41, 100, False),
        (history, 60.0, 41, 100, True),     # the use at t = 0 has left the window
        (history, 61.0, 70, 100, True),     # only 20 + 10 remain
        (history, 119.5, 100, 100, True),   # everything has left the window
        ([], 5.0, 101, 100, False),         # a request larger than the limit never fits
    ]


@exercise("ch12.quota_allows", function_name="quota_allows", points=2,
          title="A sliding-window token quota")
def _check_quota_allows(quota_allows):
    for history, now, requested, limit, expected in _quota_cases():
        got = quota_allows(list(history), now, requested, limit)
        expect(got is expected or got == expected,
               f"with uses {history} (time, tokens), at time {now}, a request for {requested} "
               f"tokens under a limit of {limit} per minute should be "
               f"{'allowed' if expected else 'refused'}; yours returns {got!r}. Count only "
               "uses with time > now - 60.")


_check_quota_allows.n_cases = len(_quota_cases())


@typical_mistake("ch12.quota_allows")
def _counts_all_history(history, now, requested, limit):
    return sum(tokens for _, tokens in history) + requested <= limit


@typical_mistake("ch12.quota_allows")
def _forgets_the_request(history, now, requested, limit):
    return sum(tokens for t, tokens in history if t > now - 60) < limit
