package io.vnrt.runtime.session;

import io.vnrt.runtime.ByteSize;
import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.HbmModelMemory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A session's use of its {@link QuotaLimits}. Each acquire either takes the amount or throws
 * RESOURCE_EXHAUSTED naming the quota, the current use and the limit, taking nothing; pair every
 * successful acquire with one release. The Model and Execution services call
 * {@link #acquireModel()} / {@link #acquireExecution()} around their work.
 */
public final class SessionQuota implements HbmModelMemory.Quota {
  /** Quota name of device HBM bytes. */
  public static final String HBM_BYTES = "hbm_bytes";
  /** Quota name of loaded models. */
  public static final String MODELS = "models";
  /** Quota name of executions in flight. */
  public static final String EXECUTIONS_IN_FLIGHT = "executions_in_flight";

  private final String owner;
  private final QuotaLimits limits;
  private final AtomicLong hbmBytes = new AtomicLong();
  private final AtomicLong models = new AtomicLong();
  private final AtomicLong executions = new AtomicLong();

  SessionQuota(String owner, QuotaLimits limits) {
    this.owner = owner;
    this.limits = limits;
  }

  /** The limits. */
  public QuotaLimits limits() {
    return limits;
  }

  /** Device HBM bytes held now. */
  public long hbmBytes() {
    return hbmBytes.get();
  }

  /** Models held now. */
  public long models() {
    return models.get();
  }

  /** Executions in flight now. */
  public long executionsInFlight() {
    return executions.get();
  }

  /** Takes {@code bytes} of the HBM quota or throws RESOURCE_EXHAUSTED. */
  @Override
  public void acquireHbm(long bytes) {
    acquire(hbmBytes, bytes, limits.hbmBytes(), HBM_BYTES);
  }

  /** Gives back bytes taken by {@link #acquireHbm(long)}. */
  @Override
  public void releaseHbm(long bytes) {
    hbmBytes.addAndGet(-bytes);
  }

  /** Takes one model of the quota or throws RESOURCE_EXHAUSTED. */
  public void acquireModel() {
    acquire(models, 1, limits.models(), MODELS);
  }

  /** Gives back a model taken by {@link #acquireModel()}. */
  public void releaseModel() {
    models.decrementAndGet();
  }

  /** Takes one execution in flight or throws RESOURCE_EXHAUSTED. */
  public void acquireExecution() {
    acquire(executions, 1, limits.executionsInFlight(), EXECUTIONS_IN_FLIGHT);
  }

  /** Gives back an execution taken by {@link #acquireExecution()}. */
  public void releaseExecution() {
    executions.decrementAndGet();
  }

  private void acquire(AtomicLong used, long amount, long limit, String name) {
    if (limit == 0) {
      used.addAndGet(amount);
      return;
    }
    for (;;) {
      long now = used.get();
      if (amount > limit - now) {
        throw exceeded(name, now, amount, limit);
      }
      if (used.compareAndSet(now, now + amount)) {
        return;
      }
    }
  }

  private VnrtRuntimeException exceeded(String name, long used, long amount, long limit) {
    String what = name.equals(HBM_BYTES)
        ? "HBM quota: it holds " + ByteSize.format(used) + " of its " + ByteSize.format(limit) + " and asked for "
            + ByteSize.format(amount) + "; free tensors or unload models first"
        : name.replace('_', ' ') + " quota: it has " + used + " of its " + limit + "; "
            + (name.equals(MODELS) ? "unload a model first" : "wait for one to finish");
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("quota", name);
    facts.put("used", String.valueOf(used));
    facts.put("requested", String.valueOf(amount));
    facts.put("limit", String.valueOf(limit));
    return VnrtRuntimeException.exhausted("quota " + name + " exceeded by " + owner + "'s " + what, facts, null);
  }
}
