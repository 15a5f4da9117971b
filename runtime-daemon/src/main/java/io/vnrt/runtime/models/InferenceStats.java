package io.vnrt.runtime.models;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * What the scheduler measured of one model's requests and executions, in the shape Triton's
 * statistics report: requests that succeeded or failed with their time from submission to answer,
 * the queue, input, model and output time of successful requests (a batch's times count for each
 * request in it), and executions by batch rows. Updated once per request and once per execution
 * under its own lock, never while a kernel runs.
 */
public final class InferenceStats {
  /**
   * Executions of one batch size (rows along dimension 0, or 1 for inputs without one).
   *
   * @param rows the batch size
   * @param executions executions of this size
   * @param inputNanos time preparing their inputs
   * @param inferNanos time running the model
   * @param outputNanos time delivering outputs
   */
  public record BatchStat(long rows, long executions, long inputNanos, long inferNanos, long outputNanos) {
  }

  /**
   * A consistent copy of the counters.
   *
   * @param successCount requests answered with results
   * @param successNanos their total time from submission to answer
   * @param failCount requests that failed (refused at submission, queue full, failed or expired)
   * @param failNanos their total time
   * @param queueNanos time successful requests waited in the queue
   * @param inputNanos input preparation time of successful requests (a batch's, for each of its requests)
   * @param inferNanos model time of successful requests
   * @param outputNanos output delivery time of successful requests
   * @param rows rows the successful requests carried (1 each without a dimension 0)
   * @param executions model executions (a merged batch counts once)
   * @param lastInferenceMillis when the last request was answered, in ms since the epoch; 0: never
   * @param batches executions by batch size, ascending
   */
  public record Snapshot(long successCount, long successNanos, long failCount, long failNanos, long queueNanos,
      long inputNanos, long inferNanos, long outputNanos, long rows, long executions, long lastInferenceMillis,
      Map<Long, BatchStat> batches) {
    /** Copies the map, keeping its order. */
    public Snapshot {
      batches = Collections.unmodifiableMap(new TreeMap<>(batches));
    }
  }

  private final LongSupplier wallClockMillis;
  private long successCount;
  private long successNanos;
  private long failCount;
  private long failNanos;
  private long queueNanos;
  private long inputNanos;
  private long inferNanos;
  private long outputNanos;
  private long rows;
  private long executions;
  private long lastInferenceMillis;
  private final TreeMap<Long, BatchStat> batches = new TreeMap<>();

  /** Stats stamped with the system's wall clock. */
  InferenceStats() {
    this(System::currentTimeMillis);
  }

  /** Stats stamped with {@code wallClockMillis} (tests pass a fixed one). */
  InferenceStats(LongSupplier wallClockMillis) {
    this.wallClockMillis = wallClockMillis;
  }

  /** One model execution of {@code batchRows} rows with its time split into input, model and output. */
  synchronized void executed(long batchRows, long input, long infer, long output) {
    executions++;
    BatchStat b = batches.get(batchRows);
    batches.put(batchRows, b == null ? new BatchStat(batchRows, 1, input, infer, output)
        : new BatchStat(batchRows, b.executions() + 1, b.inputNanos() + input, b.inferNanos() + infer,
            b.outputNanos() + output));
  }

  /** One request answered with results, with its rows, total and queue time and its execution's split. */
  synchronized void succeeded(long requestRows, long total, long queue, long input, long infer, long output) {
    successCount++;
    successNanos += total;
    queueNanos += queue;
    inputNanos += input;
    inferNanos += infer;
    outputNanos += output;
    rows += requestRows;
    lastInferenceMillis = wallClockMillis.getAsLong();
  }

  /** One request that ended without results after {@code total} ns. */
  synchronized void failed(long total) {
    failCount++;
    failNanos += Math.max(0, total);
    lastInferenceMillis = wallClockMillis.getAsLong();
  }

  /** The counters as they are now. */
  public synchronized Snapshot snapshot() {
    return new Snapshot(successCount, successNanos, failCount, failNanos, queueNanos, inputNanos, inferNanos,
        outputNanos, rows, executions, lastInferenceMillis, batches);
  }
}
