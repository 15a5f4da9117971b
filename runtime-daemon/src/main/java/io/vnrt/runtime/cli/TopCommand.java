package io.vnrt.runtime.cli;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vnrt.client.internal.Transports;
import io.vnrt.proto.v1.GetMetricsRequest;
import io.vnrt.proto.v1.MetricsSnapshot;
import io.vnrt.proto.v1.MonitorGrpc;
import io.vnrt.proto.v1.WatchMetricsRequest;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code vnrt top}: a live view of cores, memory and models in the manner of neuron-top, redrawn in
 * place each period; q quits. Without a terminal (or with --once) it prints one frame and exits.
 */
@Command(name = "top", mixinStandardHelpOptions = true,
    description = "Live view of cores (utilisation), memory (per device and category) and models (executions, "
        + "p50/p99). q quits. Prints one frame and exits when stdout is not a terminal, or with --once.")
final class TopCommand implements Callable<Integer> {
  private static final String HOME = "\033[H";
  private static final String CLEAR_LINE = "\033[K";
  private static final String CLEAR_BELOW = "\033[J";
  private static final String ALTERNATE_SCREEN = "\033[?1049h\033[?25l";
  private static final String MAIN_SCREEN = "\033[?25h\033[?1049l";

  @Mixin
  private TargetOptions target;

  @Option(names = "--period-ms", paramLabel = "MS", defaultValue = "1000",
      description = "Refresh period, 100..3600000 ms. Default: ${DEFAULT-VALUE}.")
  private long periodMs;

  @Option(names = "--once", description = "Print one frame (activity since the daemon started) and exit.")
  private boolean once;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  /** What the drawing loop waits for: a frame to draw, a key, or the stream's end. */
  private sealed interface Event {
    record Frame(MetricsSnapshot snapshot) implements Event {
    }

    record Key(int key) implements Event {
    }

    record Ended(Throwable failure) implements Event {
    }
  }

  @Override
  public Integer call() throws Exception {
    MonitorCommand.checkPeriod(spec, periodMs);
    Transports.OwnedChannel connection = target.open();
    try {
      MetricsSnapshot first = MonitorGrpc.newBlockingStub(connection.channel())
          .withDeadlineAfter(10, TimeUnit.SECONDS).getMetrics(GetMetricsRequest.getDefaultInstance());
      boolean terminal = System.console() != null && System.console().isTerminal();
      if (once || !terminal) {
        spec.commandLine().getOut().print(String.join("\n", TopView.render(target.target(), first)) + "\n");
        spec.commandLine().getOut().flush();
        return 0;
      }
      return live(connection, first);
    } finally {
      connection.shutdown();
    }
  }

  private int live(Transports.OwnedChannel connection, MetricsSnapshot first) throws Exception {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
        StandardCharsets.UTF_8);
    // frames are dropped rather than queued when drawing falls behind; a key always finds room
    BlockingQueue<Event> events = new ArrayBlockingQueue<>(8);
    String saved = stty("-g").trim();
    Thread restore = new Thread(() -> {
      out.print(MAIN_SCREEN);
      out.flush();
      stty(saved);
    }, "vnrt-top-restore");
    Runtime.getRuntime().addShutdownHook(restore);
    stty("-icanon -echo min 1");
    out.print(ALTERNATE_SCREEN);
    draw(out, first);
    Thread keys = Thread.ofPlatform().daemon().name("vnrt-top-keys").start(() -> readKeys(System.in, events));
    AtomicReference<ClientCallStreamObserver<WatchMetricsRequest>> call = new AtomicReference<>();
    MonitorGrpc.newStub(connection.channel()).watchMetrics(
        WatchMetricsRequest.newBuilder().setPeriodMs(periodMs).build(),
        new ClientResponseObserver<WatchMetricsRequest, MetricsSnapshot>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<WatchMetricsRequest> requests) {
            call.set(requests);
          }

          @Override
          public void onNext(MetricsSnapshot snapshot) {
            events.offer(new Event.Frame(snapshot));
          }

          @Override
          public void onError(Throwable t) {
            events.offer(new Event.Ended(t));
          }

          @Override
          public void onCompleted() {
            events.offer(new Event.Ended(null));
          }
        });
    int status = 0;
    try {
      while (true) {
        Event event = events.take();
        if (event instanceof Event.Frame(MetricsSnapshot snapshot)) {
          draw(out, snapshot);
        } else if (event instanceof Event.Key(int key)) {
          if (key == 'q' || key == 'Q' || key < 0) {
            break;
          }
        } else if (event instanceof Event.Ended(Throwable failure)) {
          status = 1;
          out.print(MAIN_SCREEN);
          out.flush();
          spec.commandLine().getErr().println("vnrt top: the stream from " + target.target() + " ended"
              + (failure == null ? "" : ": " + target.explain(failure)));
          break;
        }
      }
    } finally {
      call.get().cancel("vnrt top quit", null);
      keys.interrupt();
      restore.run();
      Runtime.getRuntime().removeShutdownHook(restore);
    }
    return status;
  }

  private void draw(PrintStream out, MetricsSnapshot snapshot) {
    StringBuilder frame = new StringBuilder(HOME);
    List<String> lines = TopView.render(target.target(), snapshot);
    for (String line : lines) {
      frame.append(line).append(CLEAR_LINE).append("\r\n");
    }
    out.print(frame.append(CLEAR_BELOW));
    out.flush();
  }

  private static void readKeys(InputStream in, BlockingQueue<Event> events) {
    try {
      while (true) {
        int key = in.read();
        events.put(new Event.Key(key));
        if (key < 0) {
          return;
        }
      }
    } catch (IOException | InterruptedException e) {
      events.offer(new Event.Key(-1));
    }
  }

  /** Runs {@code stty ARGS < /dev/tty} and returns its output (for -g: the settings to restore). */
  private static String stty(String args) {
    try {
      Process p = new ProcessBuilder("sh", "-c", "stty " + args + " < /dev/tty")
          .redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(5, TimeUnit.SECONDS);
      return output;
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
