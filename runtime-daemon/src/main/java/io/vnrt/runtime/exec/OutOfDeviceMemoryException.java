package io.vnrt.runtime.exec;

/** A model's weights or scratch do not fit in the device's remaining memory. */
public final class OutOfDeviceMemoryException extends Exception {
    public OutOfDeviceMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
