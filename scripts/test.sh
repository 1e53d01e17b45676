#!/usr/bin/env bash
# The whole test suite: install what is missing, type-check, lint, unit tests, system tests,
# hardening. `npm test` runs this; `.ci/run` runs `npm test`.
# Select parts with SLUICE_TEST_PARTS="unit e2e hardening" (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

parts=${SLUICE_TEST_PARTS:-"static unit e2e hardening leftovers"}
failed=()

# What the machine looked like before: the leftovers part compares against it.
export SLUICE_BASELINE_DIR=${SLUICE_BASELINE_DIR:-$(mktemp -d /tmp/sluice-baseline-XXXXXX)}
node --import tsx test/cleanup/baseline.ts "$SLUICE_BASELINE_DIR"

run() { # name, command...
  local name=$1; shift
  printf '\n=== %s ===\n' "$name"
  if ! "$@"; then failed+=("$name"); fi
}

tests_in() { find "$@" -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort; }

for part in $parts; do
  case $part in
    static)
      run typecheck npx tsc -p tsconfig.json
      run lint npx biome check --diagnostic-level=error .
      ;;
    unit)
      mapfile -t files < <(tests_in packages samples bench)
      run unit node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
      ;;
    e2e)
      mapfile -t files < <(tests_in test/e2e)
      [ ${#files[@]} -gt 0 ] && run e2e node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
      ;;
    hardening)
      mapfile -t files < <(tests_in test/hardening)
      [ ${#files[@]} -gt 0 ] && run hardening node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
      ;;
    leftovers)
      run leftovers node --import tsx --test --test-reporter=spec test/cleanup/leftovers.test.ts
      ;;
  esac
done

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED parts: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nall test parts passed: %s\n' "$parts"
