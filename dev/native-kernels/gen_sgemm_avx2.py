#!/usr/bin/env python3
"""Writes sgemm_avx2.s: the AVX2 + FMA SGEMM tiles (6 and 4 rows x 16 columns on ymm registers).

6 x 16 is the register tile of BLIS's and MLAS's Haswell kernels: 12 accumulators, two B vectors
and a broadcast in the 16 ymm registers. The tiles themselves are written by sgemm_asm.py (shared
with gen_sgemm_avx512.py), which says what they compute. Run dev/native-kernels/build after changing
either file; NativeSgemmTest checks the resource still matches the .s.
"""
import os

import sgemm_asm

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sgemm_asm.write(os.path.join(here, "sgemm_avx2.s"), "gen_sgemm_avx2.py", "ymm", 32, (6, 4))
