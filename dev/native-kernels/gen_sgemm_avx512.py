#!/usr/bin/env python3
"""Writes sgemm_avx512.s: the AVX-512 SGEMM tiles (12, 8 and 4 rows x 32 columns on zmm registers).

The tiles themselves are written by sgemm_asm.py (shared with gen_sgemm_avx2.py), which says what
they compute. Run dev/native-kernels/build after changing either file; it regenerates the .s and the
resource the runtime loads, and NativeSgemmTest checks the resource still matches the .s.
"""
import os

import sgemm_asm

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sgemm_asm.write(os.path.join(here, "sgemm_avx512.s"), "gen_sgemm_avx512.py", "zmm", 64, (12, 8, 4))
