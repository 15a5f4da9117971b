"""The SGEMM micro-kernel tiles vnrt calls through the FFM linker, written once for any x86 vector
width; gen_sgemm_avx512.py (zmm) and gen_sgemm_avx2.py (ymm) choose the registers and tile heights.

One function per row count R, all with the System V signature

    void vnrt_sgemm_rRxN(const float *a, long lda, const float *b, float *c, long ldc,
                         long k, const float *bias, long flags)

computing an R x N tile of C (N = two vectors: 32 floats on zmm, 16 on ymm) from R rows of A (k
contiguous floats each, rows lda bytes apart) and one packed B panel (k rows of N floats, the
layout Sgemm.packB writes). flags: 1 = add the sum to what C holds (later K blocks, Gemm's beta*C),
2 = add bias[0..N) to every row, 4 = Relu (NaN stays NaN, -0 becomes +0, as Math.max(x, 0f)).
The order of operations is the one the Vector API kernels use (accumulators start at zero,
products added in k order, then C, then bias, then Relu), so both paths give the same bits. The k loop is
unrolled by four with a prefetch of B 1 KiB ahead; a tail loop takes k mod 4.

Registers: B in v0 and v1, the broadcast A value in v3, accumulators from v4 (row r in v4+2r and
v5+2r), so R rows need 4 + 2R vector registers: 12 rows fit AVX-512's 32, 6 rows AVX2's 16.
"""

BASES = ["rdi", "rbx", "r13", "r14"]  # rows 0-2, 3-5, 6-8, 9-11
IDX = ["", "+rsi", "+rsi*2"]


def row_addr(r, disp):
    return f"[{BASES[r // 3]}{IDX[r % 3]}+{disp}]"


def k_step(v, vb, rows, b_disp, a_disp):
    """One k step: the two B vectors at rdx+b_disp, then each row's broadcast times both."""
    out = [f"    vmovups {v}0, [rdx+{b_disp}]", f"    vmovups {v}1, [rdx+{b_disp + vb}]"]
    for r in range(rows):
        out.append(f"    vbroadcastss {v}3, {row_addr(r, a_disp)}")
        out.append(f"    vfmadd231ps {v}{4 + 2 * r}, {v}3, {v}0")
        out.append(f"    vfmadd231ps {v}{5 + 2 * r}, {v}3, {v}1")
    return out


def kernel(v, vb, rows):
    """The tile of `rows` rows on vector registers named v0, v1, ... of vb bytes."""
    name = f"vnrt_sgemm_r{rows}x{2 * vb // 4}"
    nb = (rows + 2) // 3
    panel = 2 * vb  # bytes of B per k step
    out = [f"    .globl {name}", f"    .type {name}, @function", "    .p2align 6", f"{name}:",
           "    push rbx", "    push r13", "    push r14",
           "    lea rax, [rsi+rsi*2]", "    lea rbx, [rdi+rax]", "    lea r13, [rbx+rax]", "    lea r14, [r13+rax]",
           "    mov r11, [rsp+40]",  # flags (8th arg at rsp+16 before the three pushes)
           ]
    out.append("    vxorps xmm4, xmm4, xmm4")
    for z in range(5, 4 + 2 * rows):
        out.append(f"    vmovaps {v}{z}, {v}4")
    out += ["    mov r10, r9", "    shr r10, 2", f"    jz .Ltail{rows}", f".Lloop{rows}:"]
    for u in range(4):
        out.append(f"    prefetcht0 [rdx+{u * panel + 1024}]")
        out += k_step(v, vb, rows, u * panel, u * 4)
    out.append(f"    add rdx, {4 * panel}")
    for b in BASES[:nb]:
        out.append(f"    add {b}, 16")
    out += ["    dec r10", f"    jnz .Lloop{rows}", f".Ltail{rows}:", "    mov r10, r9", "    and r10, 3",
            f"    jz .Ldone{rows}", f".Ltloop{rows}:"]
    out += k_step(v, vb, rows, 0, 0)
    out.append(f"    add rdx, {panel}")
    for b in BASES[:nb]:
        out.append(f"    add {b}, 4")
    out += ["    dec r10", f"    jnz .Ltloop{rows}", f".Ldone{rows}:",
            "    test r11, 1", f"    jz .Lnoacc{rows}", "    mov rax, rcx"]
    for r in range(rows):
        out.append(f"    vaddps {v}{4 + 2 * r}, {v}{4 + 2 * r}, [rax]")
        out.append(f"    vaddps {v}{5 + 2 * r}, {v}{5 + 2 * r}, [rax+{vb}]")
        out.append("    add rax, r8")
    out += [f".Lnoacc{rows}:", "    test r11, 2", f"    jz .Lnobias{rows}", "    mov r10, [rsp+32]",  # bias (7th arg)
            f"    vmovups {v}0, [r10]", f"    vmovups {v}1, [r10+{vb}]"]
    for r in range(rows):
        out.append(f"    vaddps {v}{4 + 2 * r}, {v}{4 + 2 * r}, {v}0")
        out.append(f"    vaddps {v}{5 + 2 * r}, {v}{5 + 2 * r}, {v}1")
    out += [f".Lnobias{rows}:", "    test r11, 4", f"    jz .Lstore{rows}", "    vxorps xmm0, xmm0, xmm0"]
    # max(0, x) as Java's Math.max has it: vmaxps returns its second operand for a NaN (kept) and
    # for two zeros (-0 stays -0), so adding +0 afterwards turns -0 into +0 and changes nothing else.
    for r in range(rows):
        for z in (4 + 2 * r, 5 + 2 * r):
            out.append(f"    vmaxps {v}{z}, {v}0, {v}{z}")
            out.append(f"    vaddps {v}{z}, {v}{z}, {v}0")
    out += [f".Lstore{rows}:", "    mov rax, rcx"]
    for r in range(rows):
        out.append(f"    vmovups [rax], {v}{4 + 2 * r}")
        out.append(f"    vmovups [rax+{vb}], {v}{5 + 2 * r}")
        out.append("    add rax, r8")
    out += ["    pop r14", "    pop r13", "    pop rbx", "    vzeroupper", "    ret",
            f"    .size {name}, .-{name}", ""]
    return out


def write(path, generator, v, vb, heights):
    """Writes the tiles of the given heights to path, as the named generator script."""
    lines = [f"# Generated by {generator}; do not edit.", "    .intel_syntax noprefix", "    .text"]
    for rows in heights:
        lines += kernel(v, vb, rows)
    lines.append('    .section .note.GNU-stack,"",@progbits')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
