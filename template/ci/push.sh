#!/bin/sh
# Pushes the image that ci/build.sh built and ci/test.sh tested: its unique tag, and
# the commit pointer tag sha-<full commit> that ci/release.sh later re-tags from.
set -eu

usage() {
    cat <<'EOF'
Usage: ci/push.sh

Pushes IMAGE (from build/image.env) and IMAGE_NAME:sha-<commit>. Run it only after
ci/test.sh passed.

Environment:
  REGISTRY_USERNAME, REGISTRY_PASSWORD  registry login (default: the existing login)
  REGISTRY_TLS_VERIFY=false             the registry speaks plain HTTP
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
[ -f build/image.env ] || ci_die "build/image.env not found: run ci/build.sh and ci/test.sh first"
# shellcheck source=/dev/null
. ./build/image.env

head=$(git rev-parse --verify HEAD)
[ "$head" = "$COMMIT" ] || ci_die "build/image.env describes commit $COMMIT, but HEAD is $head: build again"
revision=$(docker image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$IMAGE")
[ "$revision" = "$COMMIT" ] || ci_die "$IMAGE is labelled with revision '$revision', not $COMMIT"

registry_login
docker push "$IMAGE" >&2
ci_log "pushed $IMAGE"

# The first tested image of a commit stays its pointer: a re-run of the pipeline must
# not change what a release of this commit would publish.
pointer="$IMAGE_NAME:sha-$COMMIT"
existing=$(remote_digest "$pointer")
if [ -n "$existing" ]; then
    ci_log "$pointer already exists ($existing); keeping it"
else
    docker tag "$IMAGE" "$pointer"
    docker push "$pointer" >&2
    ci_log "pushed $pointer"
fi
