"""Reading ``.npy`` object arrays of integer arrays without running pickled code.

HeCo's ``nei_<t>.npy`` files are object arrays: a 1-d array whose items are
int64 arrays (one neighbour list per target node). ``numpy.save`` stores such
an array as a pickle, and ``numpy.load(..., allow_pickle=True)`` would call
whatever global the pickle names, so a crafted file runs arbitrary code.
A sha256 pin protects integrity only: whoever writes the pin (a ``SHA256SUMS``
file in the data root) can pin a crafted file too.

:func:`load_integer_object_array` therefore unpickles with an unpickler that
knows only the few globals numpy's own pickles of integer arrays name, and
even those do not reach numpy's constructors with the file's arguments:
each global is replaced by a small stand-in that checks its arguments and
rebuilds the array itself (``numpy.frombuffer`` on validated bytes). Every
other global (``os.system``, ``builtins.eval``, ...) is refused before it is
looked up, so no code from the file can run.

Globals in numpy's pickles of ``object`` arrays of integer arrays (pickle
protocols 2 to 5, numpy 1.x writes ``numpy.core``, numpy 2.x ``numpy._core``):

* ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct``
  with ``numpy.ndarray``: an empty array, then ``BUILD`` with the state
  ``(1, shape, dtype, is_fortran, raw bytes or list of items)``.
* ``numpy.dtype``: ``dtype('i8', False, True)`` then ``BUILD`` with
  ``(3, '<', None, None, None, -1, -1, flags)`` (a 9-tuple in version 4).
* ``numpy.core.multiarray.scalar`` / ``numpy._core.multiarray.scalar``: numpy
  integer scalars, ``scalar(dtype, raw bytes)``.
* ``numpy.core.numeric._frombuffer`` / ``numpy._core.numeric._frombuffer``:
  protocol 5's ``_frombuffer(buffer, dtype, shape, order)``.

Protocol-2 pickles written by Python 3 encode bytes with ``_codecs.encode``;
that global is refused (``numpy.save`` writes protocol 3 or 4).
"""
from __future__ import annotations

import io
import math
import pickle
from typing import Any

import numpy as np
from numpy.lib import format as npy_format


class UnsafePickleError(ValueError):
    """A pickled ``.npy`` file holds something other than integer arrays."""


# Integer kinds and sizes a neighbour list may use; "O" is the outer container.
_INT_CODES = frozenset(f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8))
_OBJECT_CODES = frozenset({"O", "O4", "O8"})
_BYTE_ORDERS = frozenset("<>|=")


class _NdarrayMarker:
    """Stands for ``numpy.ndarray``; never callable, so the file cannot call
    ``numpy.ndarray(shape, dtype, buffer, ...)`` with its own arguments."""

    def __repr__(self) -> str:
        return "<numpy.ndarray (restricted)>"


_NDARRAY = _NdarrayMarker()


class _DTypeSlot:
    """Stand-in for a ``numpy.dtype`` under construction (integer or object only)."""

    def __init__(self, code: Any, align: Any = False, copy: Any = True):
        if not isinstance(code, str) or code not in _INT_CODES | _OBJECT_CODES:
            raise UnsafePickleError(f"dtype {code!r} is not an integer (or object) dtype")
        self.code = code
        self.byteorder = "|" if code[0] == "O" or code[1:] == "1" else "="
        self.dtype = np.dtype(self.code)

    def __setstate__(self, state: Any) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise UnsafePickleError(f"unexpected dtype state {state!r}")
        byteorder = state[1]
        if byteorder not in _BYTE_ORDERS:
            raise UnsafePickleError(f"unexpected dtype byte order {byteorder!r}")
        if state[2:5] != (None, None, None) or (len(state) == 9 and state[8] not in (None, {})):
            raise UnsafePickleError("structured, sub-array or annotated dtypes are not allowed")
        self.byteorder = byteorder
        self.dtype = (np.dtype(self.code) if byteorder in "|=" or self.code[0] == "O"
                      else np.dtype(byteorder + self.code))

    @property
    def is_object(self) -> bool:
        return self.code[0] == "O"


def _checked_shape(shape: Any) -> tuple:
    if not isinstance(shape, tuple) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise UnsafePickleError(f"array shape must be a tuple of non-negative ints, got {shape!r}")
    return shape


def _int_array(raw: Any, dtype: _DTypeSlot, shape: tuple, fortran: bool) -> np.ndarray:
    """An integer array from its raw bytes, after checking the byte count."""
    if not isinstance(raw, (bytes, bytearray)):
        raise UnsafePickleError(f"integer array data must be bytes, got {type(raw).__name__}")
    expected = math.prod(shape) * dtype.dtype.itemsize
    if len(raw) != expected:
        raise UnsafePickleError(f"integer array of shape {shape} and dtype {dtype.dtype} needs "
                                f"{expected} bytes, got {len(raw)}")
    flat = np.frombuffer(bytes(raw), dtype=dtype.dtype).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def _item(value: Any) -> Any:
    """An item of the outer object array: an integer array (or a list of ints)."""
    if isinstance(value, _ArraySlot):
        array = value.result()
        if array.dtype.kind not in "iu":
            raise UnsafePickleError("items of the object array must be integer arrays, "
                                    f"got an array of dtype {array.dtype}")
        return array
    if isinstance(value, np.integer) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return list(value)
    raise UnsafePickleError(f"items of the object array must be integer arrays, "
                            f"got {type(value).__name__}")


class _ArraySlot:
    """Stand-in for ``_reconstruct(ndarray, (0,), b'b')``; ``BUILD`` fills it."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise UnsafePickleError("an array's state was set twice")
        if isinstance(state, tuple) and len(state) == 5:
            version, *state = state
            if version != 1:
                raise UnsafePickleError(f"unexpected array state version {version!r}")
        if not isinstance(state, (tuple, list)) or len(state) != 4:
            raise UnsafePickleError("unexpected array state")
        shape, dtype, fortran, raw = state
        shape = _checked_shape(shape)
        if not isinstance(dtype, _DTypeSlot) or not isinstance(fortran, bool):
            raise UnsafePickleError("unexpected array state")
        if not dtype.is_object:
            self.array = _int_array(raw, dtype, shape, fortran)
            return
        if not isinstance(raw, list) or len(raw) != math.prod(shape):
            raise UnsafePickleError(f"object array of shape {shape} needs a list of "
                                    f"{math.prod(shape)} items")
        out = np.empty(len(raw), dtype=object)
        for i, value in enumerate(raw):  # item by item: equal lengths must not broadcast
            out[i] = _item(value)
        self.array = out.reshape(shape, order="F" if fortran else "C")

    def result(self) -> np.ndarray:
        if self.array is None:
            raise UnsafePickleError("an array was used before its state was set")
        return self.array


def _reconstruct(subtype: Any, shape: Any = None, typecode: Any = None) -> _ArraySlot:
    if subtype is not _NDARRAY:
        raise UnsafePickleError(f"_reconstruct may only rebuild numpy.ndarray, got {subtype!r}")
    return _ArraySlot()


def _scalar(dtype: Any, raw: Any = None) -> np.integer:
    if not isinstance(dtype, _DTypeSlot) or dtype.is_object:
        raise UnsafePickleError("only integer scalars are allowed")
    return _int_array(raw, dtype, (), False)[()]


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> _ArraySlot:
    if not isinstance(dtype, _DTypeSlot) or dtype.is_object or order not in ("C", "F"):
        raise UnsafePickleError("protocol-5 buffers may only hold integer arrays")
    slot = _ArraySlot()
    slot.array = _int_array(buffer, dtype, _checked_shape(shape), order == "F")
    return slot


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTypeSlot,
}


class _IntegerArrayUnpickler(pickle.Unpickler):
    """Resolves only the globals in :data:`_ALLOWED`, each to a checked stand-in."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(f"refused to load global {module}.{name}: only numpy "
                                    f"integer arrays may be unpickled") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent ids are not allowed")


def _read_header(stream: io.BytesIO, name: str):
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(stream)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(stream)
    raise ValueError(f"{name}: unsupported .npy format version {version}")


def load_integer_object_array(payload: bytes, name: str) -> np.ndarray:
    """Load a ``.npy`` file that holds integers, never running pickled code.

    A plain integer array is read with ``allow_pickle=False``; an ``object``
    array is unpickled with a restricted unpickler that rebuilds only numpy
    integer arrays (and integer scalars, lists of ints) as its items.

    Args:
        payload (bytes): The file's contents.
        name (str): The file's name or path, for error messages.

    Returns:
        The array: ``object`` dtype with integer-array items, or an integer array.

    Raises:
        UnsafePickleError: The pickle names any other global or holds
            anything but integer arrays (nothing from it has run).
        ValueError: The file is not a valid ``.npy`` file.
    """
    stream = io.BytesIO(payload)
    try:
        shape, fortran, dtype = _read_header(stream, name)
    except ValueError as exc:
        raise ValueError(f"{name}: not a valid .npy file: {exc}") from exc
    if dtype != np.dtype(object):
        array = np.load(io.BytesIO(payload), allow_pickle=False)
        if array.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected integers, got dtype {array.dtype}")
        return array
    try:
        top = _IntegerArrayUnpickler(stream).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{name}: {exc}; the file was not loaded") from None
    except Exception as exc:  # truncated or malformed pickle
        raise UnsafePickleError(f"{name}: not a valid pickled object array "
                                f"({type(exc).__name__}: {exc})") from None
    if not isinstance(top, _ArraySlot):
        raise UnsafePickleError(f"{name}: the pickle holds a {type(top).__name__}, not an array")
    try:
        array = top.result()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{name}: {exc}") from None
    if array.dtype != np.dtype(object) or array.shape != tuple(shape):
        raise UnsafePickleError(f"{name}: the pickled array ({array.dtype}, shape {array.shape}) "
                                f"does not match the file header (object, shape {tuple(shape)})")
    return array


__all__ = ["UnsafePickleError", "load_integer_object_array"]
