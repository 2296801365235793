# Shared by bin/seed and bin/test: find a JDK >= 21 and Maven, without touching the system default java.
# Sourced, not run.

seed_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# java_major JAVA_BIN -> prints the feature version (17, 21, 25, ...) or nothing
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

# find_jdk: JAVA_HOME if it is >= 21, else the newest JDK >= 21 under /usr/lib/jvm. Exports JAVA_HOME.
find_jdk() {
  local candidate major best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major=$(java_major "$JAVA_HOME/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then export JAVA_HOME; return 0; fi
  fi
  for candidate in /usr/lib/jvm/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    echo "seed: no JDK >= 21 found (looked at JAVA_HOME and /usr/lib/jvm/*). Install one, e.g. apt-get install temurin-25-jdk, or set JAVA_HOME." >&2
    return 1
  fi
  export JAVA_HOME="$best"
}

find_maven() {
  # Maven 3.8's bundled Guava calls sun.misc.Unsafe; JDK 24+ warns about it on every run unless allowed.
  if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
  if command -v mvn >/dev/null 2>&1; then MVN=mvn; return 0; fi
  echo "seed: Maven (mvn) not found on PATH; install it (apt-get install maven)." >&2
  return 1
}

# glibc malloc tunables for libtorch: keep freed tensor memory in the heap instead of returning it with munmap and
# faulting it back in next step (halved kernel time and +3% training throughput, measured). Overridable.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-268435456}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-1073741824}"
export MALLOC_TOP_PAD_="${MALLOC_TOP_PAD_:-268435456}"

# Flags every Seed JVM gets: DJL never downloads at run time; one intra-op thread unless told otherwise.
seed_jvm_flags() {
  # num_threads=1 here, not only in the commands: libtorch reads it once, when the engine loads, and a run is
  # reproducible only if every run uses the same count (commands with --threads N set it before the engine loads)
  local flags="--enable-native-access=ALL-UNNAMED -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"
  # ParallelGC unless SEED_JAVA_OPTS picks a collector (two would stop the JVM): e.g. -XX:+UseZGC for a server
  case " ${SEED_JAVA_OPTS:-} " in *" -XX:+Use"*"GC "*) ;; *) flags="$flags -XX:+UseParallelGC" ;; esac
  # Kafka's client still unmaps buffers through sun.misc.Unsafe; JDK >= 24 warns on every run unless allowed
  if "$JAVA_HOME/bin/java" --sun-misc-unsafe-memory-access=allow -version >/dev/null 2>&1; then
    flags="$flags --sun-misc-unsafe-memory-access=allow"
  fi
  echo "$flags"
}
