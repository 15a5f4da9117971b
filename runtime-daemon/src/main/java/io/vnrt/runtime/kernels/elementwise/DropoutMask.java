package io.vnrt.runtime.kernels.elementwise;

/**
 * The random stream of training-mode Dropout: Mersenne Twister MT19937 seeded from the node's
 * {@code seed} attribute, drawing 53-bit uniform doubles in [0, 1). With this generator and
 * seeding, a given seed yields the same mask as NumPy's legacy {@code np.random.seed(seed);
 * np.random.uniform(0, 1, shape)}, which is how the ONNX reference defines its expected outputs.
 */
final class DropoutMask {
    private static final int N = 624;
    private static final int M = 397;
    private final int[] mt = new int[N];
    private int index = N;

    DropoutMask(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            int prev = mt[i - 1];
            mt[i] = 1812433253 * (prev ^ (prev >>> 30)) + i;
        }
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
            int v = mt[(i + M) % N] ^ (y >>> 1);
            if ((y & 1) != 0) {
                v ^= 0x9908b0df;
            }
            mt[i] = v;
        }
        index = 0;
    }

    /** The next 32 random bits (as an unsigned value in a long). */
    long nextInt32() {
        if (index >= N) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y & 0xFFFFFFFFL;
    }

    /** A uniform double in [0, 1) from 27 + 26 random bits. */
    double nextDouble() {
        long a = nextInt32() >>> 5;
        long b = nextInt32() >>> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }
}
