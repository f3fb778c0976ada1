"""Tests for graphcl.datasets._npy: nei_*.npy files are read with a restricted unpickler
that rebuilds only integer arrays, so no file can run code.
"""
import pickle

import numpy as np
import pytest

from datasets_support import attacks, npy_bytes, object_array
from datasets_support import heco_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets._npy import UnsafePickleError, load_integer_object_array

# ---------------------------------------------------------------------------
# nei_*.npy: a restricted unpickler
# ---------------------------------------------------------------------------

def test_whole_pickle_replaced_by_a_call_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    header = npy_bytes(object_array([np.array([1])]))
    # numpy's header (object dtype), then a pickle that is nothing but the call
    crafted = header[:header.index(b"\n") + 1] + pickle.dumps(attacks(marker)["os.mkdir"])
    with pytest.raises(UnsafePickleError, match=r"nei_x\.npy.*posix\.mkdir|nei_x\.npy.*os\.mkdir"):
        load_integer_object_array(crafted, "nei_x.npy")
    assert not marker.exists()


def _with_pickle(array: np.ndarray, protocol: int) -> bytes:
    """numpy's .npy header for ``array`` followed by its pickle in ``protocol``
    (numpy 1.x's np.save wrote protocol 3, numpy 2.x writes 4)."""
    header = npy_bytes(array)
    return header[:header.index(b"\n") + 1] + pickle.dumps(array, protocol=protocol)


@pytest.mark.parametrize("protocol", ["np.save", 3, 4, 5])
def test_object_array_of_integer_arrays_loads(protocol):
    items = [np.array([3, 1, 2]), np.array([], dtype=np.int64), np.array([7], dtype=np.int32),
             np.array([9, 8], dtype=">i2"), np.array([[4, 5]], dtype=np.uint8), np.array([6, 6, 6])]
    array = object_array(items)
    payload = npy_bytes(array) if protocol == "np.save" else _with_pickle(array, protocol)
    loaded = load_integer_object_array(payload, "nei_x.npy")
    assert loaded.dtype == object and loaded.shape == (6,)
    for got, want in zip(loaded, items):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_protocol_2_bytes_need_codecs_which_is_refused():
    # Python 3's protocol 2 rebuilds bytes with _codecs.encode: not an allowed global.
    with pytest.raises(UnsafePickleError, match="_codecs.encode"):
        load_integer_object_array(_with_pickle(object_array([np.array([1])]), 2), "nei_x.npy")


def test_shipped_neighbour_files_load_as_numpy_loads_them(mirror):
    import io
    for path in sorted((mirror / "heco").glob("*/nei_*.npy")):
        payload = path.read_bytes()
        got = load_integer_object_array(payload, str(path))
        want = np.load(io.BytesIO(payload), allow_pickle=True)
        assert got.dtype == want.dtype and got.shape == want.shape
        if want.dtype == object:
            assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, want))
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("items, match", [
    ([np.array([1.5, 2.0])], "integer"),                              # float items
    ([np.array(["a"])], "integer"),                                   # strings
    ([object_array([np.array([1])])], "integer"),                    # nested object array
    ([np.zeros(2, dtype=[("a", "i8")])], "integer"),                  # structured dtype
    (["text"], "integer arrays"),                                     # a str item
    ([{1: 2}], "integer arrays"),                                     # a dict item
])
def test_object_array_with_other_items_is_refused(items, match):
    with pytest.raises(UnsafePickleError, match=match) as error:
        load_integer_object_array(npy_bytes(object_array(items)), "nei_x.npy")
    assert "nei_x.npy" in str(error.value)


def test_truncated_or_inconsistent_pickle_is_refused():
    payload = npy_bytes(object_array([np.array([1, 2]), np.array([3])]))
    with pytest.raises(UnsafePickleError, match="nei_x.npy"):
        load_integer_object_array(payload[:-20], "nei_x.npy")
    header = npy_bytes(object_array([np.array([1])] * 3))  # the header says 3 items
    two = pickle.dumps(object_array([np.array([1]), np.array([2])]), protocol=4)
    mismatch = header[:header.index(b"\n") + 1] + two
    with pytest.raises(UnsafePickleError, match="header"):
        load_integer_object_array(mismatch, "nei_x.npy")
    with pytest.raises(ValueError, match="nei_x.npy"):
        load_integer_object_array(b"not an npy file", "nei_x.npy")


def test_plain_integer_array_is_read_without_pickle():
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(load_integer_object_array(buffer.getvalue(), "n.npy"),
                                  np.arange(6).reshape(3, 2))
    buffer = io.BytesIO()
    np.save(buffer, np.ones(3))
    with pytest.raises(ValueError, match="n.npy.*integers"):
        load_integer_object_array(buffer.getvalue(), "n.npy")
