#!/usr/bin/env python3
"""Writes a one-node pooling ONNX model (stdlib only: the protobuf bytes by hand) for
ModelBench --file. Default: ResNet-50's stem MaxPool, 3x3 stride 2 pad 1 on 1x64x112x112.

  python3 bench/models/pool_model.py OUT.onnx [MaxPool|AveragePool] [N C H W k s pad]
"""
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def string(num, s):
    return field(num, 2, s.encode() if isinstance(s, str) else s)


def attr_int(name, v):
    return string(1, name) + field(3, 0, v) + field(20, 0, 2)


def attr_ints(name, vs):
    return string(1, name) + b"".join(field(8, 0, v) for v in vs) + field(20, 0, 7)


def value_info(name, shape):
    dims = b"".join(string(1, field(1, 0, d)) for d in shape)
    tensor = field(1, 0, 1) + string(2, dims)  # elem_type FLOAT
    return string(1, name) + string(2, string(1, tensor))


def main():
    out = sys.argv[1]
    op = sys.argv[2] if len(sys.argv) > 2 else "MaxPool"
    n, c, h, w, k, s, pad = (int(a) for a in sys.argv[3:10]) if len(sys.argv) > 3 else (1, 64, 112, 112, 3, 2, 1)
    oh = (h + 2 * pad - k) // s + 1
    ow = (w + 2 * pad - k) // s + 1
    node = (string(1, "x") + string(2, "y") + string(3, op + "_0") + string(4, op)
            + string(5, attr_ints("kernel_shape", [k, k])) + string(5, attr_ints("strides", [s, s]))
            + string(5, attr_ints("pads", [pad] * 4)))
    graph = (string(1, node) + string(2, "pool") + string(11, value_info("x", [n, c, h, w]))
             + string(12, value_info("y", [n, c, oh, ow])))
    model = field(1, 0, 8) + string(2, "pool_model.py") + string(7, graph) + string(8, field(2, 0, 19))
    with open(out, "wb") as f:
        f.write(model)


if __name__ == "__main__":
    main()
