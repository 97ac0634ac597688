"""modelferry's reference interpreter of Core ML ML programs: the saved .mlpackage read as Core ML reads it
(the Model protobuf, the weights' blob file), each MIL operation run in numpy with fp32 math, one handler per
op (ops/). An op it has no handler for is refused, naming the op and the value it makes."""
