#!/usr/bin/env python3
"""vnrt from Python: build a small ONNX model, load it through the vnrt.v1 API, execute it,
check the numbers, then run the same model by name through the KServe v2 API (ModelInfer) and check again.

Needs stubs generated from proto/ (run.sh does it into a temporary directory) on sys.path, and
Debian's python3-grpcio and python3-protobuf. Exits 0 when every number matches, 1 otherwise.
"""
import argparse
import struct
import sys

import grpc

from vnrt.v1 import common_pb2, execution_pb2, model_pb2, runtime_pb2
from inference import grpc_service_pb2 as kserve
from onnx import onnx_pb2

SESSION_KEY = "vnrt-session-id"
CHUNK_BYTES = 64 * 1024


def unary(channel, method, request, response_type, metadata=()):
    """Calls a unary RPC by its full name; no generated service stubs are needed."""
    call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    return call(request, metadata=metadata, timeout=30)


def build_model():
    """y = relu(x . W + b), x float32 [N, 4], W [4, 3], b [3]: returns (bytes, W, b)."""
    w = [0.5, -1.0, 0.25, 1.5, 0.0, -0.5, -2.0, 1.0, 0.75, 0.125, 0.5, -0.25]
    b = [0.1, -0.2, 0.3]
    g = onnx_pb2.GraphProto(name="py_dense")
    g.node.add(op_type="MatMul", input=["x", "W"], output=["xw"], name="matmul")
    g.node.add(op_type="Add", input=["xw", "b"], output=["pre"], name="bias")
    g.node.add(op_type="Relu", input=["pre"], output=["y"], name="relu")
    g.initializer.add(name="W", data_type=onnx_pb2.TensorProto.FLOAT, dims=[4, 3], float_data=w)
    g.initializer.add(name="b", data_type=onnx_pb2.TensorProto.FLOAT, dims=[3], float_data=b)
    for name, dims in (("x", ["N", 4]), ("y", ["N", 3])):
        vi = (g.input if name == "x" else g.output).add(name=name)
        vi.type.tensor_type.elem_type = onnx_pb2.TensorProto.FLOAT
        for d in dims:
            dim = vi.type.tensor_type.shape.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = d
    m = onnx_pb2.ModelProto(ir_version=8, producer_name="vnrt-python-example", graph=g)
    m.opset_import.add(domain="", version=17)
    return m.SerializeToString(), w, b


def reference(x, n, w, b):
    out = []
    for r in range(n):
        for c in range(3):
            s = sum(x[r * 4 + k] * w[k * 3 + c] for k in range(4)) + b[c]
            out.append(max(s, 0.0))
    return out


def close_enough(got, want, what):
    bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, want)) if abs(g - e) > 1e-5 * max(1.0, abs(e))]
    if len(got) != len(want) or bad:
        print(f"FAIL {what}: got {got}, expected {want}")
        return False
    print(f"ok   {what}: {[round(v, 4) for v in got]}")
    return True


def native(channel, onnx_bytes, x, n, want, kserve_too):
    opened = unary(channel, "/vnrt.v1.Runtime/OpenSession",
                   runtime_pb2.OpenSessionRequest(client_name="python-example"), runtime_pb2.OpenSessionResponse)
    md = ((SESSION_KEY, opened.session_id),)
    try:
        def chunks():
            yield model_pb2.LoadModelRequest(header=model_pb2.LoadModelHeader(
                name="py_dense", auto_place=True, core_count=1, model_size_bytes=len(onnx_bytes), shared=kserve_too))
            for i in range(0, len(onnx_bytes), CHUNK_BYTES):
                yield model_pb2.LoadModelRequest(chunk=onnx_bytes[i:i + CHUNK_BYTES])
        load = channel.stream_unary("/vnrt.v1.Model/LoadModel", request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=model_pb2.ModelInfo.FromString)
        info = load(chunks(), metadata=md, timeout=60)
        dims = ["%s" % (d.symbol if d.HasField("symbol") else d.size) for d in info.inputs[0].shape]
        print(f"loaded {info.name} ({info.model_id[:8]}...) on cores {list(info.cores)} in {info.load_time_ms:.1f} ms;"
              f" input {info.inputs[0].name} [{', '.join(dims)}]")
        request = execution_pb2.ExecuteRequest(model_id=info.model_id, inputs=[execution_pb2.ExecuteInput(
            name="x", inline=execution_pb2.InlineTensor(dtype=common_pb2.DATA_TYPE_FLOAT32, shape=[n, 4],
                                                        data=struct.pack("<%df" % len(x), *x)))])
        response = unary(channel, "/vnrt.v1.Execution/Execute", request, execution_pb2.ExecuteResponse, md)
        out = response.outputs[0]
        got = list(struct.unpack("<%df" % (len(out.data) // 4), out.data))
        ok = list(out.shape) == [n, 3] and close_enough(got, want, "vnrt.v1 Execute y")
        print(f"     timing: queue {response.timing.queue_us} us, compute {response.timing.compute_us} us")
        if kserve_too:
            # a model loaded through vnrt.v1 with shared=True is visible by name through KServe, without a session
            ok = kserve_api(channel, info.name, x, n, want) and ok
        return ok
    finally:
        unary(channel, "/vnrt.v1.Runtime/CloseSession", runtime_pb2.CloseSessionRequest(),
              runtime_pb2.CloseSessionResponse, md)


def kserve_api(channel, model_name, x, n, want):
    live = unary(channel, "/inference.GRPCInferenceService/ServerLive", kserve.ServerLiveRequest(),
                 kserve.ServerLiveResponse)
    meta = unary(channel, "/inference.GRPCInferenceService/ServerMetadata", kserve.ServerMetadataRequest(),
                 kserve.ServerMetadataResponse)
    print(f"KServe: live={live.live} server {meta.name} {meta.version} extensions {list(meta.extensions)}")
    ready = unary(channel, "/inference.GRPCInferenceService/ModelReady", kserve.ModelReadyRequest(name=model_name),
                  kserve.ModelReadyResponse)
    request = kserve.ModelInferRequest(model_name=model_name, id="py-1")
    t = request.inputs.add(name="x", datatype="FP32", shape=[n, 4])
    t.contents.fp32_contents.extend(x)
    response = unary(channel, "/inference.GRPCInferenceService/ModelInfer", request, kserve.ModelInferResponse)
    raw = response.raw_output_contents[0]
    got = list(struct.unpack("<%df" % (len(raw) // 4), raw))
    return (ready.ready and response.outputs[0].datatype == "FP32" and list(response.outputs[0].shape) == [n, 3]
            and close_enough(got, want, "KServe ModelInfer y"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="127.0.0.1:50051", help="daemon host:port or unix:/path")
    parser.add_argument("--skip-kserve", action="store_true", help="only the vnrt.v1 API")
    args = parser.parse_args()
    onnx_bytes, w, b = build_model()
    n = 2
    x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 2.0, -3.0]
    want = reference(x, n, w, b)
    with grpc.insecure_channel(args.target) as channel:
        ok = native(channel, onnx_bytes, x, n, want, not args.skip_kserve)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
