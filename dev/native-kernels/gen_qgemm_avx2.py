#!/usr/bin/env python3
"""Writes qgemm_avx2.s: the AVX2 int8 GEMM tiles (6, 5, 4, 3, 2 and 1 rows x 32 columns, ymm).

One function per row count R, with the System V signature

    void vnrt_qgemm_avx2_rRx32(const uint8_t *a, long lda, const int16_t *b, int32_t *c, long ldc,
                               long kq, int16_t *scratch)

computing C[r][j] = sum over k < 4*kq of a[r][k] * b[k][j] (unsigned bytes times signed values in
[-128, 127], exact int32 sums) for an R x 32 tile: R rows of A (4*kq bytes each, rows lda bytes
apart, the same rows the VNNI tiles read) against one packed B panel (2*kq groups of 32 columns x
2 consecutive k as int16, 128 bytes per group: the layout NativeQgemm.packB writes for AVX2),
stored to C (rows ldc bytes apart), overwriting it.

vpmaddwd multiplies int16 pairs and adds each pair's two products into an int32 lane: with A in
[0, 255] and B in [-128, 127] a pair sums to at most 65,280 in magnitude, so nothing saturates, and
vpaddd wraps as Java's int does: the sums are the exact ones the scalar definition computes. (The
faster vpmaddubsw saturates its int16 pair sums, and widening its result to int32 costs a second
multiply, vpmaddwd by ones, so it would not do more multiplies per cycle either.)

A is widened first: each row's 4*kq bytes become 4*kq int16 in scratch (R * kq * 8 bytes, rows
kq * 8 bytes apart), once per call, so the k loop broadcasts a k pair of A as one int32. Then two
passes, one per 16-column half of the panel: B's half-group in ymm0 and ymm1, the broadcast pair
in ymm2, the product in ymm3, and the accumulators from ymm4 (row r in ymm4+2r and ymm5+2r), so
6 rows fill AVX2's 16 registers. The k loop takes two groups of four k per iteration with a
prefetch of B 1 KiB ahead; a tail takes the odd group. Run dev/native-kernels/build after
changing this file.
"""
import os

BASES = ["rdi", "rbx"]  # scratch rows 0-2, 3-5
IDX = ["", "+rsi", "+rsi*2"]
HEIGHTS = (6, 5, 4, 3, 2, 1)


def row_addr(r, disp):
    return f"[{BASES[r // 3]}{IDX[r % 3]}+{disp}]"


def pair_step(rows, b_disp, a_disp):
    """One k pair: the half-group of B at rdx+b_disp, then each row's broadcast pair times both."""
    out = [f"    vmovdqu ymm0, [rdx+{b_disp}]", f"    vmovdqu ymm1, [rdx+{b_disp + 32}]"]
    for r in range(rows):
        out += [f"    vpbroadcastd ymm2, dword ptr {row_addr(r, a_disp)}",
                "    vpmaddwd ymm3, ymm2, ymm0",
                f"    vpaddd ymm{4 + 2 * r}, ymm{4 + 2 * r}, ymm3",
                "    vpmaddwd ymm2, ymm2, ymm1",
                f"    vpaddd ymm{5 + 2 * r}, ymm{5 + 2 * r}, ymm2"]
    return out


def widen(rows, name):
    """A's rows (rdi, lda rsi) to int16 in scratch (r11, rows rax = kq*8 bytes apart)."""
    return [f"    mov r10, {rows}", f".Lwrow{name}:", "    mov r13, rdi", "    mov r14, r11",
            "    mov rbx, r9", "    shr rbx, 2", f"    jz .Lwtail{name}", f".Lw16{name}:",
            "    vpmovzxbw ymm0, [r13]", "    vmovdqu [r14], ymm0", "    add r13, 16", "    add r14, 32",
            "    dec rbx", f"    jnz .Lw16{name}", f".Lwtail{name}:", "    mov rbx, r9", "    and rbx, 3",
            f"    jz .Lwnext{name}", f".Lw4{name}:", "    vmovd xmm0, dword ptr [r13]", "    vpmovzxbw xmm0, xmm0",
            "    vmovq qword ptr [r14], xmm0", "    add r13, 4", "    add r14, 8", "    dec rbx", f"    jnz .Lw4{name}",
            f".Lwnext{name}:", "    add rdi, rsi", "    add r11, rax", "    dec r10", f"    jnz .Lwrow{name}"]


def half(rows, h, name):
    """Columns 16h..16h+15 of the tile over all k, stored to C."""
    tag = f"{name}h{h}"
    nb = (rows + 2) // 3
    out = ["    mov rdi, r11", "    lea rbx, [rdi+rax]", "    vpxor xmm4, xmm4, xmm4"]
    for z in range(5, 4 + 2 * rows):
        out.append(f"    vmovdqa ymm{z}, ymm4")
    out += ["    mov r10, r9", "    shr r10, 1", f"    jz .Ltail{tag}", f".Lloop{tag}:"]
    for p in range(4):
        out.append(f"    prefetcht0 [rdx+{p * 128 + 1024}]")
        out += pair_step(rows, p * 128, p * 4)
    out.append("    add rdx, 512")
    for b in BASES[:nb]:
        out.append(f"    add {b}, 16")
    out += ["    dec r10", f"    jnz .Lloop{tag}", f".Ltail{tag}:", "    test r9, 1", f"    jz .Lstore{tag}"]
    out += pair_step(rows, 0, 0) + pair_step(rows, 128, 4)
    out += ["    add rdx, 256", f".Lstore{tag}:", "    mov r10, rcx"]
    for r in range(rows):
        out.append(f"    vmovdqu [r10+{h * 64}], ymm{4 + 2 * r}")
        out.append(f"    vmovdqu [r10+{h * 64 + 32}], ymm{5 + 2 * r}")
        out.append("    add r10, r8")
    return out


def kernel(rows):
    name = f"vnrt_qgemm_avx2_r{rows}x32"
    out = [f"    .globl {name}", f"    .type {name}, @function", "    .p2align 6", f"{name}:",
           "    push rbx", "    push r13", "    push r14",
           "    mov r11, [rsp+32]",  # scratch (7th argument at rsp+8 before the three pushes)
           "    mov rax, r9", "    shl rax, 3"]  # scratch row stride: kq*8 bytes
    out += widen(rows, rows)
    out += ["    mov r11, [rsp+32]", "    mov rsi, rax", "    lea rax, [rax+rax*2]"]  # rax: three scratch rows
    out += half(rows, 0, rows)
    # back to the panel's start, second half of each group
    out += ["    mov r10, r9", "    shl r10, 8", "    sub rdx, r10", "    add rdx, 64"]
    out += half(rows, 1, rows)
    out += ["    pop r14", "    pop r13", "    pop rbx", "    vzeroupper", "    ret",
            f"    .size {name}, .-{name}", ""]
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    lines = ["# Generated by gen_qgemm_avx2.py; do not edit.", "    .intel_syntax noprefix", "    .text"]
    for rows in HEIGHTS:
        lines += kernel(rows)
    lines.append('    .section .note.GNU-stack,"",@progbits')
    with open(os.path.join(here, "qgemm_avx2.s"), "w") as f:
        f.write("\n".join(lines) + "\n")
