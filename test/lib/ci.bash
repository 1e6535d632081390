# The one definition of "in CI" for bats files and shell scripts, and the
# helpers for a test that needs something this machine may lack. The Go
# tests have the same in internal/testutil (InCI, NeedTool, Unavailable).
#
# Source it from a script (`. test/lib/ci.bash`) or load it from bats
# (`load lib/ci`; lib/libtest loads it).

# in_ci: true when CI is set to anything but "", "0" or "false" (.ci/run
# sets CI=true). Under CI, hack/install-deps.sh has installed every tool the
# tests need, so a missing one is a failure, not a reason to skip.
in_ci() {
  case ${CI:-} in
    "" | 0 | false | FALSE | False) return 1 ;;
  esac
  return 0
}

# unavailable <why>: the current bats test cannot run on this machine.
# Locally it skips with why; under CI it fails (returns 1 with why on stderr).
unavailable() {
  if in_ci; then
    echo "$1 (CI is set: failing instead of skipping; hack/install-deps.sh installs what the tests need)" >&2
    return 1
  fi
  skip "$1 (skipped; under CI this fails)"
}

# need_tool <program...>: each program is on PATH, or the test is
# unavailable (skips locally, fails under CI).
need_tool() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || {
      unavailable "$tool is not installed"
      return 1
    }
  done
}
