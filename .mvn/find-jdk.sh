# Finds a JDK 25 or newer. Sourced (POSIX sh) by mvnw, bin/vnrt, dev/conformance,
# examples/quickstart and .ci/run, so that all of them work on a machine whose default Java is
# older, and all of them fail the same way where no JDK 25 is installed.
#
#   . .mvn/find-jdk.sh; JAVA_HOME="$(vnrt_find_jdk NAME)" || exit 1
#
# Looks at $JAVA_HOME, then the java on PATH, then every JDK under $VNRT_JDK_DIRS (default: the
# usual install places of Linux packages, SDKMAN and macOS), and prints the home of the first
# that is 25 or newer. A JAVA_HOME that is set but older is passed over with a note on stderr.
# Where there is none, prints one line on stderr saying what was found and how to get JDK 25.

VNRT_MIN_JDK=25

# The major version of the JDK at $1 (0 when it is not a JDK): from its release file, which every
# OpenJDK build has, else by asking its java.
vnrt_jdk_major() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || { echo 0; return; }
  _v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null)
  if [ -z "$_v" ]; then
    _v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
  fi
  echo "${_v:-0}"
}

vnrt_find_jdk() {
  _who="${1:-vnrt}"
  _found=""
  _seen=""
  if [ -n "${JAVA_HOME:-}" ]; then
    _m=$(vnrt_jdk_major "$JAVA_HOME")
    if [ "$_m" -ge "$VNRT_MIN_JDK" ]; then
      echo "$JAVA_HOME"
      return 0
    fi
    _seen="JAVA_HOME=$JAVA_HOME (JDK ${_m:-?})"
  else
    _seen="JAVA_HOME unset"
  fi
  _java=$(command -v java 2>/dev/null || true)
  if [ -n "$_java" ]; then
    _home=$(dirname "$(dirname "$(readlink -f "$_java" 2>/dev/null || echo "$_java")")")
    _m=$(vnrt_jdk_major "$_home")
    if [ "$_m" -ge "$VNRT_MIN_JDK" ]; then
      _found="$_home"
    else
      _seen="$_seen, java on PATH is JDK $_m"
    fi
  else
    _seen="$_seen, no java on PATH"
  fi
  _dirs="${VNRT_JDK_DIRS-/usr/lib/jvm /usr/lib64/jvm /usr/java /opt/java ${HOME:-/nonexistent}/.sdkman/candidates/java /Library/Java/JavaVirtualMachines}"
  if [ -z "$_found" ]; then
    # mvnw runs with globbing off (set -f): turn it on for this loop only
    _flags=$-
    set +f
    _best=0
    for _root in $_dirs; do
      for _d in "$_root"/* "$_root"/*/Contents/Home; do
        _m=$(vnrt_jdk_major "$_d")
        if [ "$_m" -ge "$VNRT_MIN_JDK" ] && [ "$_m" -gt "$_best" ]; then
          _best=$_m
          _found="$_d"
        fi
      done
    done
    case $_flags in *f*) set -f ;; esac
  fi
  if [ -z "$_found" ]; then
    echo "$_who: needs JDK $VNRT_MIN_JDK or newer and found none ($_seen, none in ${_dirs:-VNRT_JDK_DIRS}):" \
      "install Temurin $VNRT_MIN_JDK (apt-get install temurin-$VNRT_MIN_JDK-jdk, or https://adoptium.net)" \
      "and set JAVA_HOME to it" >&2
    return 1
  fi
  if [ -n "${JAVA_HOME:-}" ]; then
    echo "$_who: JAVA_HOME=$JAVA_HOME is older than JDK $VNRT_MIN_JDK; using $_found" >&2
  fi
  echo "$_found"
}
