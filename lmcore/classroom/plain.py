"""Plain data: the only thing that crosses between a student's process and the checker.

A value is sent as JSON built from a few shapes, and rebuilt on the other side as a value of
a builtin type (or a numpy array / torch tensor of a stated dtype), never as an object of a
class the sender chose:

- ``None``, ``bool``, ``int``, ``float`` (``NaN`` and infinities included), ``str``, ``list``;
- ``{"$": "tuple" | "set", "items": [...]}``; ``{"$": "dict", "items": [[key, value], ...]}``
  (so keys may be tuples, as in a table of counts);
- ``{"$": "ndarray" | "tensor", "dtype": "float64", "shape": [2, 3], "data": nested lists}``.

:func:`decode` is strict: it is what the checker side relies on. It accepts nothing else
(no other tags, no ragged arrays, no object dtypes, limited depth and size), so an answer
object that is "always equal", has its own ``__float__`` or is an ndarray subclass with an
``__array_function__`` cannot reach a checker: it is either converted to its plain value by
:func:`encode` or refused. :func:`encode` runs on both sides; on the student's side it is
only a convenience (the student's process may replace it; :func:`decode` does not care).

This module imports nothing but the standard library at import time (numpy and torch only
when an array or tensor is met), because it also runs inside the sandbox.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = ["encode", "decode", "dumps", "loads", "NotPlain", "MAX_DEPTH"]

MAX_DEPTH = 40
ARRAY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float16", "float32", "float64", "complex64", "complex128")
TENSOR_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16",
                 "float32", "float64")


class NotPlain(TypeError):
    """A value that is not plain data (or a message that is not well-formed plain data)."""


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data; raises :class:`NotPlain` for anything else.

    Subclasses of builtin types are read through the builtin type's own methods
    (``float.hex``, ``dict.items``, ...), so an override changes nothing.
    """
    if depth > MAX_DEPTH:
        raise NotPlain(f"a value nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(int.__int__(value))
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.fromhex(float.hex(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        base = next(t for t in (list, tuple, set, frozenset) if isinstance(value, t))
        items = [encode(v, depth + 1) for v in base.__iter__(value)]
        if base is list:
            return items
        return {"$": "tuple" if base is tuple else "set", "items": items}
    if isinstance(value, dict):
        return {"$": "dict", "items": [[encode(k, depth + 1), encode(v, depth + 1)]
                                       for k, v in dict.items(value)]}
    np = sys.modules.get("numpy")       # only if imported: the value came from there
    if np is not None and isinstance(value, np.generic):
        if isinstance(value, (np.bool_, np.integer, np.floating)):
            return encode(np.ndarray.item(np.array(value, dtype=value.dtype)), depth + 1)
        raise NotPlain(f"a numpy scalar of type {type(value).__name__}")
    if np is not None and isinstance(value, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)      # a subclass's overrides are dropped
        if array.dtype.name not in ARRAY_DTYPES:
            raise NotPlain(f"a numpy array of dtype {array.dtype}")
        return {"$": "ndarray", "dtype": array.dtype.name, "shape": list(array.shape),
                "data": _listify(np.ndarray.tolist(array))}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = torch.Tensor.detach(value).cpu()
        if type(tensor) is not torch.Tensor:
            tensor = torch.Tensor._make_subclass(torch.Tensor, tensor)
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in TENSOR_DTYPES:
            raise NotPlain(f"a torch tensor of dtype {dtype}")
        data = tensor.to(torch.float32) if dtype == "bfloat16" else tensor
        return {"$": "tensor", "dtype": dtype, "shape": list(tensor.shape),
                "data": _listify(torch.Tensor.tolist(data))}
    raise NotPlain(f"an object of type {type(value).__module__}.{type(value).__qualname__}")


def _listify(data: Any) -> Any:
    """tolist() output with complex numbers as [re, im] pairs (JSON has no complex)."""
    if isinstance(data, list):
        return [_listify(d) for d in data]
    if isinstance(data, complex):
        return {"$": "complex", "items": [data.real, data.imag]}
    return data


def _unlistify(data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlain(f"an array nested more than {MAX_DEPTH} levels deep")
    if type(data) is list:
        return [_unlistify(d, depth + 1) for d in data]
    if type(data) is dict and data.get("$") == "complex" and len(data.get("items", ())) == 2:
        re_, im = data["items"]
        if type(re_) in (int, float) and type(im) in (int, float):
            return complex(re_, im)
    if type(data) in (bool, int, float):
        return data
    raise NotPlain(f"an array element that is not a number: {str(data)[:60]}")


def _shape(value: Any, where: str) -> list[int]:
    if type(value) is not list or not all(type(n) is int and 0 <= n for n in value):
        raise NotPlain(f"the shape of {where} is not a list of sizes")
    if len(value) > 32 or math.prod(value) > 50_000_000:
        raise NotPlain(f"the {where} is too large ({value})")
    return value


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild a value from plain data (strict: anything unexpected raises NotPlain)."""
    if depth > MAX_DEPTH:
        raise NotPlain(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(item, depth + 1) for item in data]
    if kind is not dict:
        raise NotPlain(f"an unexpected JSON value of type {kind.__name__}")
    tag = data.get("$")
    if tag in ("tuple", "set"):
        if set(data) != {"$", "items"} or type(data["items"]) is not list:
            raise NotPlain(f"a malformed {tag}")
        items = [decode(item, depth + 1) for item in data["items"]]
        try:
            return tuple(items) if tag == "tuple" else set(items)
        except TypeError as error:
            raise NotPlain(f"a set of unhashable values ({error})") from None
    if tag == "dict":
        if set(data) != {"$", "items"} or type(data["items"]) is not list:
            raise NotPlain("a malformed dict")
        result = {}
        for pair in data["items"]:
            if type(pair) is not list or len(pair) != 2:
                raise NotPlain("a malformed dict entry")
            key = decode(pair[0], depth + 1)
            try:
                result[key] = decode(pair[1], depth + 1)
            except TypeError as error:
                raise NotPlain(f"a dict with an unhashable key ({error})") from None
        return result
    if tag in ("ndarray", "tensor"):
        if set(data) != {"$", "dtype", "shape", "data"}:
            raise NotPlain(f"a malformed {tag}")
        shape = _shape(data["shape"], tag)
        values = _unlistify(data["data"], depth)
        dtypes = ARRAY_DTYPES if tag == "ndarray" else TENSOR_DTYPES
        if data["dtype"] not in dtypes:
            raise NotPlain(f"a {tag} of dtype {str(data['dtype'])[:40]}")
        import numpy as np
        dtype = "float32" if data["dtype"] == "bfloat16" else data["dtype"]
        try:
            array = np.array(values, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as error:
            raise NotPlain(f"a {tag} whose data do not fit its dtype ({error})") from None
        if list(array.shape) != shape:
            raise NotPlain(f"a {tag} whose data have shape {list(array.shape)}, not {shape}")
        if tag == "ndarray":
            return array
        import torch
        tensor = torch.from_numpy(array.copy())
        return tensor.to(torch.bfloat16) if data["dtype"] == "bfloat16" else tensor
    raise NotPlain(f"an unexpected object (tag {str(tag)[:40]!r})")


def dumps(message: Any) -> str:
    """One line of JSON (the channel's unit); ``message`` must already be plain data."""
    return json.dumps(message, separators=(",", ":")) + "\n"


def loads(line: str | bytes) -> Any:
    """Parse one line of JSON: only JSON's own types come out (no object hooks)."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as error:
        raise NotPlain(f"a message that is not JSON ({str(error)[:80]})") from None
