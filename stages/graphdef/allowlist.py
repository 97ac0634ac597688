"""TensorFlow's allowlist: the ops a frozen GraphDef or a SavedModel may hold, read off the protobuf before
TensorFlow imports or runs anything.

A TF graph is a program, and a control dependency (`^WriteFile`) is enough to run an op that writes a file,
reads one (`ReadFile`, `MatchingFiles`, `ImmutableConst`), prints to one (`PrintV2`), calls back into Python
(`PyFunc`) or pulls records from a dataset. The allowlist holds the computation tf2onnx converts (its
handler registry) without its queue and iterator ops, the graph plumbing TF writes itself (function calls,
resource variables, TF1 control flow), the fused kernels Grappler leaves in frozen graphs, and plain math.
A SavedModel's saver functions legitimately save and restore its variables: those ops are allowed there,
in the functions only the saver's nodes call, and nowhere else. Every function of the library is checked
(a resource's initializer runs at load, whoever calls it), and so is every node of the graph.
"""

from __future__ import annotations

from stages.trust.policy import Found

# tf2onnx 1.17's TF handlers (tf2onnx.handler.tf_op), minus FIFOQueueV2, QueueDequeue*V2, IteratorV2 and
# IteratorGetNext: queues and iterators feed a graph from readers and datasets, which read files.
CONVERTED = frozenset(
    """
Abs Acos Acosh Add AddN AddV2 AdjustContrastv2 AdjustHue AdjustSaturation All Any ArgMax ArgMin AsString Asin
Asinh Atan Atan2 Atanh AvgPool AvgPool3D BatchMatMul BatchMatMulV2 BatchMatMulV3 BatchToSpaceND BiasAdd BiasAddV1
Bincount BitwiseAnd BitwiseOr BitwiseXor BroadcastTo CTCGreedyDecoder Cast Ceil CheckNumerics ClipByValue
CombinedNonMaxSuppression ComplexAbs Concat ConcatV2 Const ConstV2 Conv1D Conv2D Conv2DBackpropInput Conv3D
Conv3DBackpropInputV2 Cos Cosh CropAndResize CudnnRNN Cumprod Cumsum DenseBincount DenseToDenseSetOperation
DepthToSpace DepthwiseConv2d DepthwiseConv2dNative Div DivNoNan Dropout DynamicPartition DynamicStitch Einsum Elu
EnsureShape Equal Erf Exp ExpandDims ExtractImagePatches FFT FakeQuantWithMinMaxArgs FakeQuantWithMinMaxVars
Fill Flatten Floor FloorDiv FloorMod FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 Gather GatherNd GatherV2
Greater GreaterEqual HardSwish Identity IdentityN If Invert InvertPermutation IsFinite IsInf IsNan
L2Normalization LRN LSTMBlockCell LeakyRelu LeftShift Less LessEqual Log LogSoftmax LogicalAnd LogicalNot
LogicalOr Loop MatMul MatrixBandPart MatrixDeterminant MatrixDiag MatrixDiagPart MatrixDiagPartV2
MatrixDiagPartV3 MatrixDiagV2 MatrixDiagV3 MatrixSetDiagV3 Max MaxPool MaxPool3D MaxPoolV2 MaxPoolWithArgmax
Maximum Mean Min Minimum MirrorPad Mul Multinomial Neg NoOp NonMaxSuppressionV2 NonMaxSuppressionV3
NonMaxSuppressionV4 NonMaxSuppressionV5 NotEqual OneHot OnesLike Pack Pad PadV2 ParallelDynamicStitch
Placeholder PlaceholderV2 PlaceholderWithDefault Pow Prelu Prod RFFT RFFT2D RaggedGather RaggedRange
RaggedTensorFromVariant RaggedTensorToSparse RaggedTensorToTensor RaggedTensorToVariant RandomNormal
RandomNormalLike RandomShuffle RandomStandardNormal RandomUniform RandomUniformInt RandomUniformLike Range
RealDiv Reciprocal Relu Relu6 Reshape ResizeArea ResizeBicubic ResizeBilinear ResizeNearestNeighbor
ReverseSequence ReverseV2 RightShift Rint Roll Round Rsqrt SampleDistortedBoundingBox SampleDistortedBoundingBoxV2
Scan ScatterNd SegmentMax SegmentMean SegmentMin SegmentProd SegmentSum Select SelectV2 Selu Shape Sigmoid Sign
Sin Sinh Size Slice Softmax SoftmaxCrossEntropyWithLogits Softplus Softsign SpaceToBatchND SpaceToDepth
SparseFillEmptyRows SparseReshape SparseSegmentMean SparseSegmentMeanWithNumSegments SparseSegmentSqrtN
SparseSegmentSqrtNWithNumSegments SparseSegmentSum SparseSegmentSumWithNumSegments
SparseSoftmaxCrossEntropyWithLogits SparseToDense Split SplitV Sqrt Square SquaredDifference SquaredDistance
Squeeze StatelessIf StatelessWhile StopGradient StridedSlice StringToNumber Sub Sum Tan Tanh TensorListFromTensor
TensorListGetItem TensorListLength TensorListReserve TensorListResize TensorListSetItem TensorListStack
TensorScatterAdd TensorScatterMax TensorScatterMin TensorScatterSub TensorScatterUpdate Tile TopKV2 Transpose
TruncateDiv Unique UniqueWithCounts Unpack UnsortedSegmentMax UnsortedSegmentMin UnsortedSegmentProd
UnsortedSegmentSum Where While ZerosLike
""".split()
)

# What TF writes into graphs itself: function calls, resource and TF1 ref variables, in-memory tensor
# lists and arrays, TF1 control flow, Keras' shape asserts, and the kernels Grappler fuses.
PLUMBING = frozenset(
    """
StatefulPartitionedCall PartitionedCall Case StatelessCase VarHandleOp ReadVariableOp AssignVariableOp
AssignAddVariableOp AssignSubVariableOp VarIsInitializedOp DestroyResourceOp DisableCopyOnRead Assert Snapshot
PreventGradient VariableV2 Variable Assign AssignAdd AssignSub IsVariableInitialized
Switch Merge Enter Exit NextIteration LoopCond RefSwitch RefMerge RefEnter RefExit RefNextIteration ControlTrigger
EmptyTensorList TensorListPushBack TensorListPopBack TensorListElementShape TensorListConcatV2 TensorListSplit
TensorListScatterIntoExistingList TensorListGather TensorListScatterV2 TensorListFromTensor
TensorArrayV3 TensorArrayReadV3 TensorArrayWriteV3 TensorArrayGatherV3 TensorArrayScatterV3 TensorArraySizeV3
TensorArrayConcatV3 TensorArraySplitV3 TensorArrayCloseV3 Empty Bitcast DataFormatVecPermute DataFormatDimMap
_FusedConv2D _FusedMatMul _FusedBatchNormEx _FusedDepthwiseConv2dNative FusedPadConv2D FusedResizeAndPadConv2D
HashTableV2 MutableHashTableV2 LookupTableFindV2 LookupTableImportV2 LookupTableSizeV2 InitializeTableV2
""".split()
)

# Plain math TF has beyond what tf2onnx converts: computation on tensors only.
MATH = frozenset(
    """
Mod TruncateMod Expm1 Log1p Erfc Lgamma Digamma Xlogy Xdivy Xlog1py Cross Cholesky MatrixInverse Qr Svd
SelfAdjointEigV2 Complex Real Imag Conj Angle IRFFT IRFFT2D FFT2D IFFT IFFT2D ScaleAndTranslate Bucketize
ClipByValue Softmax Relu6 Gelu Inv Sigmoid Tanh BroadcastArgs BroadcastGradientArgs ShapeN Rank ZerosLike
ConcatOffset Unpack ApproximateEqual Betainc Igamma Igammac ArgMax ArgMin Cumsum MatrixSolve MatrixTriangularSolve
BatchMatMulV2 Conv2DBackpropFilter DepthwiseConv2dNativeBackpropInput Dilation2D QuantizeAndDequantizeV2
QuantizeAndDequantizeV3 QuantizeAndDequantizeV4 FakeQuantWithMinMaxVarsPerChannel Sort TopK InTopKV2 LinSpace
UpperBound LowerBound Rsqrt Square StridedSliceGrad TensorStridedSliceUpdate ResourceGather ResourceGatherNd
""".split()
)

ALLOWED = CONVERTED | PLUMBING | MATH

# Not allowed, and named here because other formats embed TF ops by name (TFLite's custom and Flex ops): the
# ops that reach files, the network, processes or Python. (Everything else outside ALLOWED is refused too.)
REACHING_OUT = frozenset(
    """
WriteFile ReadFile MatchingFiles PrintV2 Print ImmutableConst PyFunc PyFuncStateless EagerPyFunc SaveV2 RestoreV2
Save SaveSlices Restore RestoreSlice MergeV2Checkpoints TextLineDataset TFRecordDataset FixedLengthRecordDataset
InitializeTableFromTextFile InitializeTableFromTextFileV2 CreateSummaryFileWriter WriteSummary DebugIdentity
DebugIdentityV2 DebugIdentityV3 DebugNanCount DebugNumericSummary TFRecordReaderV2 TextLineReaderV2
WholeFileReaderV2 ReaderReadV2 DecodeProtoV2 EncodeProto ExperimentalRebatchDataset
""".split()
)

# A SavedModel's saver: `saver_filename` feeds the functions its save and restore nodes call.
SAVER = frozenset(
    """
SaveV2 SaveSlices RestoreV2 RestoreSlice MergeV2Checkpoints ShardedFilename StringJoin StaticRegexFullMatch
""".split()
)


def _called(attrs) -> list[str]:
    """The functions a node calls through its attributes (f, then/else branches, While's cond and body …)."""
    called = []
    for value in attrs.values():
        if value.HasField("func"):
            called.append(value.func.name)
        elif value.HasField("list"):
            called += [func.name for func in value.list.func]
    return called


def _reachable(starts: list[str], library: dict) -> set[str]:
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        for node in library[name].node_def:
            todo += _called(node.attr)
    return seen


def _ancestors(graph, roots: set[str]) -> set[str]:
    """The graph nodes `roots` depend on (data and control inputs), and the roots themselves."""
    inputs = {node.name: [ref.lstrip("^").split(":")[0] for ref in node.input] for node in graph.node}
    seen: set[str] = set()
    todo = [root for root in roots if root in inputs]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [parent for parent in inputs.get(name, ()) if parent in inputs]
    return seen


def check_graph(
    graph, saver_roots: frozenset[str] = frozenset(), served_roots: frozenset[str] = frozenset()
) -> list[Found]:
    """The nodes of a GraphDef (and of its function library) whose op is not allowed.

    A SavedModel's saver (`saver_roots`: its save and restore nodes) may also save and restore, in the nodes
    only it depends on (none that a signature or the init op, `served_roots`, also needs) and in the
    functions only those nodes call."""
    library = {function.signature.name: function for function in graph.library.function}
    served = _ancestors(graph, set(served_roots))
    saver = _ancestors(graph, set(saver_roots)) - served
    # A SavedModel runs only what its signatures, its init op and its saver need: a TF1 training graph's
    # optimizer and summaries are never run, and not judged. A frozen graph (no roots) is judged whole.
    runs = (served | saver) if served_roots else {node.name for node in graph.node}
    saver_calls = [f for node in graph.node if node.name in saver for f in _called(node.attr)]
    other_calls = [f for node in graph.node if node.name not in saver for f in _called(node.attr)]  # all, strictly
    strict = _reachable(other_calls, library)
    saver_only = _reachable(saver_calls, library) - strict
    found = [
        Found(node.op, node.name)
        for node in graph.node
        if node.name in runs and node.op not in ALLOWED and not (node.name in saver and node.op in SAVER)
    ]
    for name, function in library.items():
        allowed = ALLOWED | SAVER if name in saver_only else ALLOWED
        found += [Found(node.op, node.name, f"function {name}") for node in function.node_def if node.op not in allowed]
    return found


def _node(tensor: str) -> str:
    return tensor.split(":")[0].lstrip("^")


def check_saved_model(meta_graph) -> list[Found]:
    """A SavedModel's meta graph: its graph, its saver, and everything its signatures and init op need."""
    saver = meta_graph.saver_def
    saver_roots = frozenset(_node(t) for t in (saver.save_tensor_name, saver.restore_op_name) if t)
    served = {
        _node(info.name)
        for signature in meta_graph.signature_def.values()
        for info in [*signature.inputs.values(), *signature.outputs.values()]
        if info.name
    }
    for key in ("saved_model_main_op", "legacy_init_op", "__saved_model_init_op"):
        served |= (
            {_node(name) for name in meta_graph.collection_def[key].node_list.value}
            if key in meta_graph.collection_def
            else set()
        )
    return check_graph(meta_graph.graph_def, saver_roots, frozenset(served))
