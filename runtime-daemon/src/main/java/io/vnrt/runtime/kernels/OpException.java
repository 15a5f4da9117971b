package io.vnrt.runtime.kernels;

/** A node cannot be compiled or run: bad attribute, incompatible input, unsupported case. */
public class OpException extends RuntimeException {
    public OpException(String message) {
        super(message);
    }

    public OpException(String message, Throwable cause) {
        super(message, cause);
    }
}
