package io.vnrt.runtime.server;

import io.grpc.Codec;
import io.grpc.CompressorRegistry;
import io.grpc.DecompressorRegistry;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * The message encodings the daemon accepts: gRPC's own identity and gzip, and deflate (zlib, as
 * gRPC's C core and Python send it with {@code compression=Deflate}), which grpc-java lacks.
 */
final class Compression {
  /** grpc-encoding "deflate": the zlib format of RFC 1950, as java.util.zip writes it by default. */
  static final Codec DEFLATE = new Codec() {
    @Override
    public String getMessageEncoding() {
      return "deflate";
    }

    @Override
    public OutputStream compress(OutputStream os) {
      return new DeflaterOutputStream(os);
    }

    @Override
    public InputStream decompress(InputStream is) {
      return new InflaterInputStream(is);
    }
  };

  private Compression() {
  }

  /** Decompressors for identity, gzip and deflate, all advertised in grpc-accept-encoding. */
  static DecompressorRegistry decompressors() {
    return DecompressorRegistry.getDefaultInstance().with(DEFLATE, true);
  }

  /** Compressors for identity, gzip and deflate. */
  static CompressorRegistry compressors() {
    CompressorRegistry registry = CompressorRegistry.newEmptyInstance();
    registry.register(Codec.Identity.NONE);
    registry.register(new Codec.Gzip());
    registry.register(DEFLATE);
    return registry;
  }
}
