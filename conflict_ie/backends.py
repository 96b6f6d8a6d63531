"""Where the tag pass runs: torch in float32 (the default) or in bfloat16 autocast ("torch-bf16": about twice as
fast on CPUs with AMX or AVX512-BF16, slower elsewhere), or ONNX Runtime on a graph exported from the same
weights, in float32 or with int8 dynamic quantisation (``pip install 'conflict-ie[onnx]'``).

Only the tag pass (encoder, word shapes, the three tag heads: tag probabilities and the features) is exported;
relation scoring, decoding and incident assembly stay the same Python for every backend, so a backend changes
the numbers the decoder reads and nothing else. ``conflict-ie export-onnx MODEL`` writes ``model.onnx`` and
``model.int8.onnx`` into the model folder with ``onnx.json``, which records the SHA-256 of the
``model.safetensors`` they were exported from: a graph left over from other weights is refused at load.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import torch
from torch import nn

from .atomic import atomic_file, write_text_atomic
from .model import WEIGHTS_FILE, ExtractionModel, ModelFolderError, TagProbabilities, load_model

ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
ONNX_METADATA_FILE = "onnx.json"
# backend name -> the graph file it runs (None: torch). "onnx" is the float32 graph: it gives torch's figures;
# int8 is faster but lost 0.01-0.03 dev F1 per layer on the default model (reports/benchmarks/speed.md).
BACKENDS: dict[str, str | None] = {"torch": None, "torch-bf16": None, "onnx": ONNX_FILE, "onnx-int8": ONNX_INT8_FILE}
INSTALL_HINT = "pip install 'conflict-ie[onnx]'  (onnxruntime and onnx)"
INPUTS = ("input_ids", "attention_mask", "shapes")
OUTPUTS = ("features", "entity", "trigger", "role")


class TorchTagger:
    """The tag pass on the torch model; with ``dtype`` (torch.bfloat16) its matrix products run in that type under
    autocast, and the features and probabilities handed on are float32 again, so decoding is the same code either
    way. Relation scoring reads ``dtype`` too: the runner passes it to ``pair_probabilities``, whose per-pair sums
    then run in it (autocast there cost more in casts than its small products saved)."""

    def __init__(self, model: ExtractionModel, dtype: torch.dtype | None = None):
        self.model = model
        self.dtype = dtype

    def _autocast(self):
        return (torch.autocast(next(self.model.parameters()).device.type, dtype=self.dtype)
                if self.dtype is not None else contextlib.nullcontext())

    @torch.inference_mode()
    def __call__(self, batch) -> TagProbabilities:
        device = next(self.model.parameters()).device
        with self._autocast():
            tags = self.model.tag_probabilities(batch.to(device))
        return tags if self.dtype is None else TagProbabilities(
            features=tags.features.float(), entity=tags.entity, trigger=tags.trigger, role=tags.role)

    @torch.inference_mode()
    def encode(self, batch) -> torch.Tensor:
        """The bare encoder over a batch: the floor of the tag pass's cost (the benchmark times it)."""
        device = next(self.model.parameters()).device
        batch = batch.to(device)
        with self._autocast():
            return self.model.encoder(input_ids=batch.input_ids,
                                      attention_mask=batch.attention_mask).last_hidden_state


class OnnxTagger:
    """The tag pass on an exported graph, in ONNX Runtime on the CPU with ``threads`` intra-op threads."""

    # torch threads while this tagger runs (the runner sets them for the call): ONNX Runtime has its own pool, and
    # torch's OpenMP pool beside it made predict() 3x slower than the graph alone on 2 cores; one is plenty for
    # the relation scoring and decoding torch does around it
    torch_threads = 1

    def __init__(self, path: Path, threads: int):
        ort = _import("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle pool threads would spin between runs, taking the cores from relation scoring and decoding
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch) -> TagProbabilities:
        outputs = self.session.run(list(OUTPUTS), {"input_ids": batch.input_ids.numpy(),
                                                   "attention_mask": batch.attention_mask.numpy(),
                                                   "shapes": batch.shapes.numpy()})
        return TagProbabilities(*(torch.from_numpy(output) for output in outputs))

    # the graph is the encoder plus three small heads: its whole run is this backend's floor
    encode = __call__


class _TagGraph(nn.Module):
    """What is exported: ``ExtractionModel.tag_probabilities`` with plain tensors in and out."""

    def __init__(self, model: ExtractionModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, shapes):
        model = self.model
        states = model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        features = torch.cat([states, model.shape_embedding(shapes)], dim=-1)
        return (features, model.entity_head(features).softmax(-1), model.trigger_head(features).softmax(-1),
                model.role_head(features).softmax(-1))


def export_onnx(folder: str | Path, *, quantize: bool = True, opset: int = 17) -> list[Path]:
    """Write ``model.onnx`` (float32) and, with ``quantize``, ``model.int8.onnx`` (int8 dynamic quantisation of
    the weights of its matrix products) into the model folder, and ``onnx.json``; the paths written. Offline:
    the graph is traced from the folder's own weights."""
    _import("onnxruntime")
    _import("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = Path(folder)
    model, _, _ = load_model(folder, "cpu")
    graph = _TagGraph(model).eval()
    example = (torch.full((2, 16), 100, dtype=torch.long), torch.ones((2, 16), dtype=torch.long),
               torch.zeros((2, 16), dtype=torch.long))
    axes = {name: {0: "windows", 1: "positions"} for name in INPUTS + OUTPUTS}
    written = [folder / ONNX_FILE]
    with atomic_file(folder / ONNX_FILE) as temporary, torch.inference_mode():
        torch.onnx.export(graph, example, temporary, input_names=list(INPUTS), output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    if quantize:
        with atomic_file(folder / ONNX_INT8_FILE) as temporary:
            # per output channel: per-tensor scales lost more F1 on the default model
            quantize_dynamic(str(folder / ONNX_FILE), temporary, weight_type=QuantType.QInt8, per_channel=True)
        written.append(folder / ONNX_INT8_FILE)
    import onnxruntime

    from .data.corpora import sha256_of

    record = {"weights_sha256": sha256_of(folder / WEIGHTS_FILE), "files": [path.name for path in written],
              "opset": opset, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
              "quantisation": "onnxruntime.quantization.quantize_dynamic, QInt8 weights per channel"}
    write_text_atomic(folder / ONNX_METADATA_FILE, json.dumps(record, indent=2) + "\n")
    return written + [folder / ONNX_METADATA_FILE]


def load_tagger(backend: str, model: ExtractionModel, folder: Path, threads: int):
    """The tagger of ``backend`` for a loaded model folder; an ONNX graph missing or exported from other
    weights is a ModelFolderError that names the command to run."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    file = BACKENDS[backend]
    if backend == "torch-bf16":
        if next(model.parameters()).device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            logging.getLogger(__name__).warning(
                "this CPU has no native bfloat16 (AMX or AVX512-BF16): torch-bf16 will be slower than torch")
        return TorchTagger(model, torch.bfloat16)
    if file is None:
        return TorchTagger(model)
    _import("onnxruntime")
    export = f"run `conflict-ie export-onnx {folder}` to write it"
    if not (folder / file).is_file() or not (folder / ONNX_METADATA_FILE).is_file():
        raise ModelFolderError(folder, file, f"is missing: the {backend} backend runs this exported graph; {export}")
    from .data.corpora import sha256_of

    try:
        recorded = json.loads((folder / ONNX_METADATA_FILE).read_text(encoding="utf-8")).get("weights_sha256")
    except (ValueError, AttributeError) as error:
        raise ModelFolderError(folder, ONNX_METADATA_FILE, f"cannot be read ({error}); {export}") from error
    if recorded != sha256_of(folder / WEIGHTS_FILE):
        raise ModelFolderError(folder, file, f"was exported from other weights than this {WEIGHTS_FILE} "
                               f"(see {ONNX_METADATA_FILE}); {export} again")
    return OnnxTagger(folder / file, threads)


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f"the ONNX backend needs {name}: {INSTALL_HINT}") from error
