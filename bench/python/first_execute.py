#!/usr/bin/env python3
"""FirstExecutionBench's Python client: a fresh process that loads a model into a running daemon and
times its first Execute through grpcio (gRPC's C core), so the daemon's first execution is seen as a
client without a JIT of its own sees it.

Run by FirstExecutionBench (--client python) with message classes generated from proto/ on
PYTHONPATH; prints one RESULT line with the same fields as the bench's Java client. The inputs are
the Java client's and ONNX Runtime's: java.util.Random(42).nextGaussian() per element, input by input.
"""
import argparse
import array
import math
import sys
import time

import grpc

from vnrt.v1 import common_pb2, execution_pb2, model_pb2, runtime_pb2

SESSION_KEY = "vnrt-session-id"
CHUNK_BYTES = 1 << 20


class JavaRandom:
    """java.util.Random: the 48-bit LCG and its polar-method nextGaussian, so inputs match the Java side."""

    def __init__(self, seed):
        self.seed = (seed ^ 0x5DEECE66D) & ((1 << 48) - 1)
        self.next_gaussian = None

    def _next(self, bits):
        self.seed = (self.seed * 0x5DEECE66D + 0xB) & ((1 << 48) - 1)
        r = self.seed >> (48 - bits)
        return r - (1 << bits) if r & (1 << (bits - 1)) else r  # as Java's (int) cast

    def next_double(self):
        return (((self._next(26) & 0x3FFFFFF) << 27) + (self._next(27) & 0x7FFFFFF)) * (1.0 / (1 << 53))

    def gaussian(self):
        if self.next_gaussian is not None:
            g, self.next_gaussian = self.next_gaussian, None
            return g
        while True:
            v1 = 2 * self.next_double() - 1
            v2 = 2 * self.next_double() - 1
            s = v1 * v1 + v2 * v2
            if 0 < s < 1:
                break
        m = math.sqrt(-2 * math.log(s) / s)
        self.next_gaussian = v2 * m
        return v1 * m


def unary(channel, method, request, response_type, metadata=()):
    call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    return call(request, metadata=metadata, timeout=120)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--dims", default="-", help="NAME=SIZE,... for the model's symbolic dims, or -")
    p.add_argument("--start-at", type=float, default=0.0, help="time.time() at which to connect (the daemon's idle)")
    args = p.parse_args()
    dims = {} if args.dims == "-" else {k: int(v) for k, v in (kv.split("=", 1) for kv in args.dims.split(","))}
    onnx_bytes = open(args.model, "rb").read()
    wait = args.start_at - time.time()
    if wait > 0:
        time.sleep(wait)
    max_bytes = 1 << 30
    options = [("grpc.max_receive_message_length", max_bytes), ("grpc.max_send_message_length", max_bytes)]
    with grpc.insecure_channel(args.target, options=options) as channel:
        opened = unary(channel, "/vnrt.v1.Runtime/OpenSession",
                       runtime_pb2.OpenSessionRequest(client_name="first-execution-bench-python"),
                       runtime_pb2.OpenSessionResponse)
        md = ((SESSION_KEY, opened.session_id),)

        def chunks():
            yield model_pb2.LoadModelRequest(header=model_pb2.LoadModelHeader(
                name="first-execution", auto_place=True, core_count=args.cores, model_size_bytes=len(onnx_bytes),
                warmup_dims=dims))
            for i in range(0, len(onnx_bytes), CHUNK_BYTES):
                yield model_pb2.LoadModelRequest(chunk=onnx_bytes[i:i + CHUNK_BYTES])

        load = channel.stream_unary("/vnrt.v1.Model/LoadModel", request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=model_pb2.ModelInfo.FromString)
        t0 = time.perf_counter()
        info = load(chunks(), metadata=md, timeout=300)
        load_ms = (time.perf_counter() - t0) * 1e3
        rnd = JavaRandom(42)
        packed = []
        for spec in info.inputs:
            shape = [d.size if not d.HasField("symbol") else dims.get(d.symbol, 1) for d in spec.shape]
            n = math.prod(shape)
            values = array.array("f", (rnd.gaussian() for _ in range(n)))
            if sys.byteorder != "little":
                values.byteswap()
            packed.append((spec.name, shape, values.tobytes()))
        execute = channel.unary_unary("/vnrt.v1.Execution/Execute", request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=execution_pb2.ExecuteResponse.FromString)

        def run():
            request = execution_pb2.ExecuteRequest(model_id=info.model_id, inputs=[
                execution_pb2.ExecuteInput(name=name, inline=execution_pb2.InlineTensor(
                    dtype=common_pb2.DATA_TYPE_FLOAT32, shape=shape, data=data)) for name, shape, data in packed])
            response = execute(request, metadata=md, timeout=120)
            return response, array.array("f", response.outputs[0].data)

        t1 = time.perf_counter()
        first, out = run()
        first_ms = (time.perf_counter() - t1) * 1e3
        t2 = time.perf_counter()
        run()
        second_ms = (time.perf_counter() - t2) * 1e3
        nxt = []
        for _ in range(20):
            s = time.perf_counter()
            run()
            nxt.append((time.perf_counter() - s) * 1e3)
        nxt.sort()
        total = sum(out)
        magnitude = sum(abs(v) for v in out)
        print("RESULT load_ms=%.3f daemon_load_ms=%.3f warmup_ms=%.3f first_ms=%.3f first_daemon_ms=%.3f "
              "second_ms=%.3f p50_ms=%.3f sum=%.6e abs=%.6e" % (
                  load_ms, info.load_time_ms, info.warmup_time_ms, first_ms,
                  (first.timing.queue_us + first.timing.compute_us) / 1e3, second_ms, nxt[10], total, magnitude))
        unary(channel, "/vnrt.v1.Runtime/CloseSession", runtime_pb2.CloseSessionRequest(),
              runtime_pb2.CloseSessionResponse, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
