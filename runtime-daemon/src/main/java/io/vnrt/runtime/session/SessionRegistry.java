package io.vnrt.runtime.session;

import io.vnrt.runtime.VnrtRuntimeException;
import io.vnrt.runtime.exec.DeviceSet;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open sessions, found by their secret id. Issues ids and tensor handles (128 random bits
 * each), ends sessions on close or expiry, and logs what each end reclaimed. Remembers recently
 * ended ids so a late call learns why its session is gone.
 */
public final class SessionRegistry {
  /** Hex digits of the id shown publicly (logs, stats, errors). */
  static final int PUBLIC_ID_LENGTH = 8;
  /** Longest accepted client name. */
  public static final int MAX_CLIENT_NAME_LENGTH = 256;
  private static final int ENDED_REMEMBERED = 4096;
  private static final int ID_BYTES = 16;

  private static final Logger log = LoggerFactory.getLogger(SessionRegistry.class);

  private final DeviceSet devices;
  private final Ticker ticker;
  private final long defaultTtlNanos;
  private final long maxTtlNanos;
  private final int maxTensorsPerSession;
  private final QuotaLimits quotaLimits;
  private final int maxSessions;
  /** Open sessions plus opens in progress: reserved before a session is created, so the limit holds under races. */
  private final AtomicInteger reserved = new AtomicInteger();
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Session> open = new ConcurrentHashMap<>();
  /** Sessions the daemon opened for itself: outside the session limit and the client-facing lists. */
  private final Set<Session> daemonOwned = ConcurrentHashMap.newKeySet();
  private final List<EndHook> endHooks = new CopyOnWriteArrayList<>();
  private final Map<String, Session> openByPublicId = new ConcurrentHashMap<>();
  /** Why recently ended sessions ended, by secret id; guarded by itself. */
  private final Map<String, String> ended = new LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > ENDED_REMEMBERED;
    }
  };

  /**
   * Creates an empty registry over {@code devices}, giving each session {@code quotaLimits} and
   * keeping at most {@code maxSessions} open at once (0: unlimited).
   */
  public SessionRegistry(DeviceSet devices, Ticker ticker, Duration defaultTtl, Duration maxTtl,
      int maxTensorsPerSession, QuotaLimits quotaLimits, int maxSessions) {
    if (maxSessions < 0) {
      throw new IllegalArgumentException("max sessions must be 0 (unlimited) or positive, got " + maxSessions);
    }
    this.quotaLimits = quotaLimits;
    this.maxSessions = maxSessions;
    this.devices = devices;
    this.ticker = ticker;
    this.defaultTtlNanos = defaultTtl.toNanos();
    this.maxTtlNanos = maxTtl.toNanos();
    this.maxTensorsPerSession = maxTensorsPerSession;
  }

  /** Something a session owns beside its tensors (models), released when the session ends. */
  @FunctionalInterface
  public interface EndHook {
    /** Releases what {@code session} (already closed) owns; reports what it gave back. */
    ReclaimReport sessionEnded(Session session);
  }

  /** Runs {@code hook} for every session that ends from now on, before its tensors are freed. */
  public void onEnd(EndHook hook) {
    endHooks.add(hook);
  }

  /** The lease given when a client asks for none. */
  public Duration defaultTtl() {
    return Duration.ofNanos(defaultTtlNanos);
  }

  /** The longest lease granted. */
  public Duration maxTtl() {
    return Duration.ofNanos(maxTtlNanos);
  }

  /** Opens a session; a requested TTL of 0 means the default, and any request is capped at the maximum. */
  public Session open(String clientName, long requestedTtlMs) {
    String name = clientName == null ? "" : clientName.strip();
    if (name.length() > MAX_CLIENT_NAME_LENGTH) {
      throw VnrtRuntimeException.invalid("client_name is " + name.length() + " characters long; at most "
          + MAX_CLIENT_NAME_LENGTH + " are allowed");
    }
    if (requestedTtlMs < 0) {
      throw VnrtRuntimeException.invalid("lease_ttl_ms " + Long.toUnsignedString(requestedTtlMs)
          + " is out of range; ask for at most " + maxTtl().toMillis() + " ms, or 0 for the default");
    }
    long ttl = requestedTtlMs == 0 ? defaultTtlNanos
        : Math.min(maxTtlNanos, Duration.ofMillis(requestedTtlMs).toNanos());
    reserveSession();
    return openWithTtl(name, ttl);
  }

  /**
   * Opens a session the daemon itself owns (e.g. the one the KServe API acts in): it never expires,
   * no client holds its id, and the daemon-wide session limit does not apply; only {@link #closeAll} ends it.
   */
  public Session openDaemonSession(String clientName) {
    Session session = openWithTtl(clientName, Long.MAX_VALUE);
    daemonOwned.add(session);
    return session;
  }

  private Session openWithTtl(String name, long ttl) {
    for (;;) {
      String id = newId();
      Session session = new Session(id, name.isEmpty() ? "unnamed" : name, ttl, maxTensorsPerSession, quotaLimits,
          devices, this, ticker);
      // the public id must name one open session: draw again on the rare clash
      if (openByPublicId.putIfAbsent(session.publicId(), session) == null) {
        open.put(id, session);
        log.debug("{} opened, lease {} ms", session.describe(), Duration.ofNanos(ttl).toMillis());
        return session;
      }
    }
  }

  /** Counts a session about to open, or throws RESOURCE_EXHAUSTED naming the daemon-wide limit. */
  private void reserveSession() {
    if (maxSessions == 0) {
      reserved.incrementAndGet();
      return;
    }
    for (;;) {
      int now = reserved.get();
      if (now >= maxSessions) {
        reapExpired();
        if (reserved.get() >= maxSessions) {
          Map<String, String> facts = new LinkedHashMap<>();
          facts.put("quota", "sessions");
          facts.put("used", String.valueOf(reserved.get()));
          facts.put("limit", String.valueOf(maxSessions));
          throw VnrtRuntimeException.exhausted("quota sessions exceeded: the daemon has " + reserved.get()
              + " open sessions, its limit of " + maxSessions + "; close a session or wait for an idle one to expire",
              facts, null);
        }
        continue;
      }
      if (reserved.compareAndSet(now, now + 1)) {
        return;
      }
    }
  }

  /** The daemon-wide limit on open sessions; 0 means unlimited. */
  public int maxSessions() {
    return maxSessions;
  }

  /** The limits each session gets. */
  public QuotaLimits quotaLimits() {
    return quotaLimits;
  }

  private String newId() {
    byte[] bytes = new byte[ID_BYTES];
    random.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** A fresh tensor handle: "t-" and 32 hex digits. */
  String newHandle() {
    return "t-" + newId();
  }

  /**
   * The open session with this secret id, starting a call on it (pair with
   * {@link Session#endCall()}). SESSION_CLOSED saying why when it is missing, unknown, closed or
   * expired; a session whose lease ran out is expired here even before the reaper gets to it.
   */
  public Session beginCall(String id) {
    if (id == null || id.isEmpty()) {
      throw VnrtRuntimeException.sessionClosed("this call needs a session: open one with Runtime.OpenSession and "
          + "send its id in the 'vnrt-session-id' metadata");
    }
    Session session = open.get(id);
    if (session != null) {
      expireIfIdle(session, ticker.nanos());
      if (session.beginCall()) {
        return session;
      }
    }
    throw VnrtRuntimeException.sessionClosed(whyGone(id), "session", publicIdOf(id));
  }

  private String whyGone(String id) {
    String reason;
    synchronized (ended) {
      reason = ended.get(id);
    }
    if (reason != null) {
      return "session " + publicIdOf(id) + " " + reason + "; open a new session";
    }
    return "unknown session id '" + publicIdOf(id) + "…': it was never opened on this daemon or ended long ago "
        + "(a daemon restart ends every session); open a new session";
  }

  private static String publicIdOf(String id) {
    return id.substring(0, Math.min(PUBLIC_ID_LENGTH, id.length()));
  }

  /** The open session with this public id, if any. */
  public Session byPublicId(String publicId) {
    return openByPublicId.get(publicId);
  }

  /** Open sessions. */
  public int openCount() {
    return open.size() - daemonOwned.size();
  }

  /** The open sessions of clients (not those the daemon opened for itself). */
  public List<Session> sessions() {
    List<Session> out = new ArrayList<>(open.values());
    out.removeAll(daemonOwned);
    return out;
  }

  /** Closes a session at its client's request, freeing everything it owns. */
  public ReclaimReport close(Session session) {
    if (!session.markClosed()) {
      return ReclaimReport.NOTHING;
    }
    ReclaimReport report = end(session, "was closed by its client");
    if (report.tensors() + report.models() > 0) {
      log.info("{} closed: freed {}", session.describe(), report.describe());
    } else {
      log.debug("{} closed", session.describe());
    }
    return report;
  }

  private void expireIfIdle(Session session, long now) {
    long idle = session.idleNanos(now);
    if (session.expireIfIdle(now)) {
      ReclaimReport report = end(session, String.format(Locale.ROOT, "expired after %.1f s without calls",
          idle / 1e9));
      log.info("{} expired after {} ms without calls (lease {} ms): freed {}", session.describe(),
          Duration.ofNanos(idle).toMillis(), Duration.ofNanos(session.ttlNanos()).toMillis(), report.describe());
    }
  }

  /** Expires every session whose lease ran out with no call running; returns how many. */
  public int reapExpired() {
    long now = ticker.nanos();
    int before = open.size();
    for (Session s : sessions()) {
      expireIfIdle(s, now);
    }
    return before - open.size();
  }

  /**
   * Ends another client's session (an operator's reclaim), freeing what it owns; NOT_FOUND when
   * no open session has this public id.
   */
  public ReclaimReport reclaim(String publicId) {
    Session session = publicId == null ? null : openByPublicId.get(publicId);
    if (session == null || !session.markClosed()) {
      throw VnrtRuntimeException.notFound("no open session with id '" + publicId + "': list them with "
          + "Admin.ListSessions (vnrt sessions)", "session", String.valueOf(publicId));
    }
    ReclaimReport report = end(session, "was reclaimed by an administrator");
    log.warn("{} reclaimed by an administrator: freed {}", session.describe(), report.describe());
    return report;
  }

  /** Ends every session (at shutdown), freeing what they own. */
  public void closeAll(String reason) {
    for (Session s : new ArrayList<>(open.values())) {
      if (s.markClosed()) {
        ReclaimReport report = end(s, reason);
        if (report.tensors() + report.models() > 0) {
          log.info("{} ended ({}): freed {}", s.describe(), reason, report.describe());
        }
      }
    }
  }

  /** Frees a session already marked closed, then forgets it: once it is gone, so is its memory. */
  private ReclaimReport end(Session session, String reason) {
    synchronized (ended) {
      ended.put(session.id(), reason);
    }
    ReclaimReport report = ReclaimReport.NOTHING;
    for (EndHook hook : endHooks) {
      try {
        report = report.plus(hook.sessionEnded(session));
      } catch (RuntimeException e) {
        log.error("releasing what {} owns failed", session.describe(), e);
      }
    }
    report = report.plus(session.freeAll());
    if (open.remove(session.id(), session) && !daemonOwned.remove(session)) {
      reserved.decrementAndGet();
    }
    openByPublicId.remove(session.publicId(), session);
    return report;
  }
}
