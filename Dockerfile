# Multi-stage image of the vnrt daemon.
#   docker build -t vnrt .
#   docker run --rm -p 50051:50051 --shm-size=2g vnrt
# The HBM pools are anonymous memory by default; with --hbm-backing /dev/shm they live in
# /dev/shm, whose default size in a container is 64 MiB: raise it with --shm-size (the daemon
# refuses to start, naming the numbers, when the backing cannot hold the configured capacity).

FROM eclipse-temurin:25-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -B -q -DskipTests -pl runtime-daemon -am package

FROM eclipse-temurin:25-jre
RUN groupadd --system vnrt && useradd --system --gid vnrt --uid 10001 --home-dir /var/lib/vnrt --create-home vnrt
COPY --from=build /src/runtime-daemon/target/vnrt-runtime-daemon.jar /opt/vnrt/vnrt-runtime-daemon.jar
COPY --from=build /src/runtime-daemon/target/lib /opt/vnrt/lib
USER vnrt
WORKDIR /var/lib/vnrt
EXPOSE 50051
ENV JAVA_TOOL_OPTIONS="-XX:+UseContainerSupport"
# glibc raises its mmap threshold (up to 32 MiB) each time a large block is freed, after which the
# host copies a model load makes (1-2 MiB each, freed at the next GC) come from malloc's arenas and
# stay there as free, still resident memory: a fixed threshold keeps them in mmap, given back on
# free (SoakHarness, bench/README.md: 491 MB free in the arenas after a 60 s soak without it, 32 MB with)
ENV MALLOC_MMAP_THRESHOLD_=131072
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "--enable-native-access=ALL-UNNAMED", \
       "--sun-misc-unsafe-memory-access=allow", "-cp", "/opt/vnrt/vnrt-runtime-daemon.jar:/opt/vnrt/lib/*", \
       "io.vnrt.runtime.cli.Main", "health", "--target", "127.0.0.1:50051"]
# exec form: the JVM is PID 1 and gets `docker stop`'s SIGTERM, on which the daemon drains
# (health NOT_SERVING, new work UNAVAILABLE, in-flight calls get --drain-timeout, default 30s):
# give `docker stop -t` / terminationGracePeriodSeconds a little more than that
ENTRYPOINT ["java", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", \
            "--sun-misc-unsafe-memory-access=allow", \
            "-cp", "/opt/vnrt/vnrt-runtime-daemon.jar:/opt/vnrt/lib/*", "io.vnrt.runtime.cli.Main"]
CMD ["daemon", "--listen", "0.0.0.0:50051"]
