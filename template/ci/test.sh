#!/bin/sh
# Tests the image that ci/build.sh built, before anything is pushed: the structure
# tests, then one container started the way production starts it (no settings,
# read-only root file system, data on a volume) must become healthy, pass the
# acceptance tests over HTTP, log to the right streams and stop cleanly on SIGTERM.
set -eu

usage() {
    cat <<'EOF'
Usage: ci/test.sh

Tests the image named in build/image.env (written by ci/build.sh).

Environment:
  REQUIRE_STRUCTURE_TEST=1  fail instead of skipping when container-structure-test
                            is not on PATH
  HEALTH_TIMEOUT            seconds to wait for the container to be healthy (default 90)
EOF
}

case ${1:-} in
    -h | --help)
        usage
        exit 0
        ;;
    '') ;;
    *)
        usage >&2
        exit 64
        ;;
esac

cd "$(dirname "$0")/.."
# shellcheck source=ci/lib.sh
. ci/lib.sh
[ -f build/image.env ] || ci_die "build/image.env not found: run ci/build.sh first"
# shellcheck source=/dev/null
. ./build/image.env

structure_test() {
    container-structure-test test --image "$IMAGE" --config tests/container-structure-test.yaml
}

run_structure_tests() {
    if command -v container-structure-test >/dev/null 2>&1; then
        if ! _cst_output=$(structure_test 2>&1); then
            printf '%s\n' "$_cst_output"
            case $_cst_output in
                # container-structure-test 1.19 can ask for the logs of a command-test
                # container the engine has already removed (API error 409). That is the
                # tool's race, not a failed test, so such a run is repeated once.
                *'Error retrieving container logs'*)
                    ci_log "container-structure-test lost a container's logs; running it once more"
                    structure_test
                    ;;
                *) return 1 ;;
            esac
        else
            printf '%s\n' "$_cst_output"
        fi
    elif [ "${REQUIRE_STRUCTURE_TEST:-0}" = 1 ]; then
        ci_die "container-structure-test is not on PATH, and REQUIRE_STRUCTURE_TEST=1"
    else
        ci_log "container-structure-test is not on PATH: skipping the structure tests (REQUIRE_STRUCTURE_TEST=1 makes this an error)"
    fi
}

# wait_until_healthy CONTAINER SECONDS: polls the container's health, at most SECONDS
# times, a second apart; shows its log and probe output when it does not get there.
wait_until_healthy() {
    _tries=0
    while [ "$_tries" -lt "$2" ]; do
        _state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$1")
        case $_state in
            'running healthy') return 0 ;;
            'running starting') ;;
            *) break ;;
        esac
        _tries=$((_tries + 1))
        sleep 1
    done
    ci_error "the container is not healthy after ${_tries}s (state: $_state); its log and health probes follow"
    docker logs "$1" >&2 || true
    docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}' "$1" >&2 || true
    return 1
}

# check_log_streams CONTAINER: info lines on stdout, warnings on stderr (the acceptance
# tests request an unknown route, which the service logs as a warning).
check_log_streams() {
    docker logs "$1" 2>/dev/null | grep -q 'listening on port' ||
        ci_die "the start-up line 'listening on port' is not on the container's stdout"
    if docker logs "$1" 2>/dev/null | grep -q 'no route for'; then
        ci_die "a warning is on the container's stdout; warnings belong on stderr"
    fi
    docker logs "$1" 2>&1 >/dev/null | grep -q 'no route for' ||
        ci_die "the warning 'no route for' is not on the container's stderr"
}

# stop_cleanly CONTAINER: SIGTERM must stop the service well within docker's 10 s grace
# period, with exit code 0 or 143; 137 would mean it ignored SIGTERM and was killed.
stop_cleanly() {
    _start=$(date +%s)
    docker stop --time 10 "$1" >/dev/null
    _elapsed=$(($(date +%s) - _start))
    _code=$(docker inspect --format '{{.State.ExitCode}}' "$1")
    case $_code in
        0 | 143) ;;
        *) ci_die "exit code $_code after SIGTERM (137: it ignored SIGTERM and was killed)" ;;
    esac
    [ "$_elapsed" -lt 10 ] || ci_die "stopping took ${_elapsed}s"
    ci_log "stopped in ${_elapsed}s with exit code $_code"
}

container=
remove_container() {
    if [ -n "$container" ]; then
        docker rm --force --volumes "$container" >/dev/null 2>&1 || true
    fi
}
trap remove_container EXIT
trap 'exit 130' INT TERM

run_structure_tests

port=$(docker image inspect --format '{{range $port, $_ := .Config.ExposedPorts}}{{println $port}}{{end}}' "$IMAGE" | head -n 1)
[ -n "$port" ] || ci_die "$IMAGE exposes no port"
container=$(docker run --detach --read-only --tmpfs /tmp --publish "127.0.0.1::${port%/*}" "$IMAGE")
ci_log "started $IMAGE as container $(printf '%.12s' "$container")"

wait_until_healthy "$container" "${HEALTH_TIMEOUT:-90}"
address=$(docker port "$container" "$port" | awk '/^127\.0\.0\.1:/ { print; exit }')
tests/acceptance.sh "http://$address"
check_log_streams "$container"
stop_cleanly "$container"

ci_log "all tests passed for $IMAGE"
