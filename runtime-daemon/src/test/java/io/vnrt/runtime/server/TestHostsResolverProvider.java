package io.vnrt.runtime.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.stream.Stream;

/**
 * The JDK's host name resolver for the tests, with one name added: {@link #NAME} resolves to three
 * loopback addresses (127.0.0.1, .2 and .3), like a Kubernetes headless service with three pods.
 * Every other name and address goes to the built-in resolver.
 */
public final class TestHostsResolverProvider extends InetAddressResolverProvider {
  /** A name with three loopback addresses. */
  public static final String NAME = "three-daemons.vnrt.test";

  /** The addresses of {@link #NAME}, in the order they are returned. */
  public static final List<String> ADDRESSES = List.of("127.0.0.1", "127.0.0.2", "127.0.0.3");

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver builtin = configuration.builtinResolver();
    return new InetAddressResolver() {
      @Override
      public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
        if (!NAME.equalsIgnoreCase(host)) {
          return builtin.lookupByName(host, policy);
        }
        InetAddress[] out = new InetAddress[ADDRESSES.size()];
        for (int i = 0; i < out.length; i++) {
          out[i] = InetAddress.getByAddress(NAME, InetAddress.getByName(ADDRESSES.get(i)).getAddress());
        }
        return Stream.of(out);
      }

      @Override
      public String lookupByAddress(byte[] addr) throws UnknownHostException {
        return builtin.lookupByAddress(addr);
      }
    };
  }

  @Override
  public String name() {
    return "vnrt-test-hosts";
  }
}
