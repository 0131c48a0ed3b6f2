#!/bin/sh
# Pushes the image that ci/build.sh built and ci/test.sh tested: its unique tag, and
# the commit pointer tag sha-<full commit> that ci/release.sh later re-tags from.
set -eu

usage() {
    cat <<'EOF'
Usage: ci/push.sh

Pushes IMAGE (from build/image.env) and IMAGE_NAME:sha-<commit>, and attaches the
SBOM (build/sbom.spdx.json) to the pushed digest as a signed attestation. Run it only
after ci/test.sh passed.

Environment:
  REGISTRY_USERNAME, REGISTRY_PASSWORD  registry login (default: the existing login)
  REGISTRY_TLS_VERIFY=false             the registry speaks plain HTTP
  COSIGN_KEY, COSIGN_PASSWORD           the signing key (default: keyless, with the CI
                                        provider's OIDC identity)
  COSIGN_TLOG=false                     no transparency log (key-based signing only)
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
if [ -n "${ARCHIVE:-}" ]; then
    # The repeatable build's archive, with its provenance, exactly as built.
    [ -f "$ARCHIVE" ] || ci_die "$ARCHIVE not found: run ci/build.sh again"
    push_archive "$ARCHIVE" "$IMAGE"
    ci_log "pushed $IMAGE ($DIGEST)"
else
    docker push "$IMAGE" >&2
    ci_log "pushed $IMAGE"
fi

# The first tested image of a commit stays its pointer: a re-run of the pipeline must
# not change what a release of this commit would publish.
pointer="$IMAGE_NAME:sha-$COMMIT"
existing=$(remote_digest "$pointer")
if [ -n "$existing" ]; then
    ci_log "$pointer already exists ($existing); keeping it"
elif [ -n "${ARCHIVE:-}" ]; then
    retag "$IMAGE_NAME@$DIGEST" "$pointer"
else
    docker tag "$IMAGE" "$pointer"
    docker push "$pointer" >&2
    ci_log "pushed $pointer"
fi

# The SBOM, signed, on the digest just pushed: ci/release.sh releases no digest without.
pushed=${DIGEST:-}
[ -n "$pushed" ] || pushed=$(remote_digest "$IMAGE")
if [ ! -f build/sbom.spdx.json ]; then
    ci_log "warning: no build/sbom.spdx.json (ci/build.sh ran without syft): $IMAGE has no SBOM attestation, and ci/release.sh will refuse it"
elif [ "$(signing_mode)" = none ]; then
    ci_log "warning: no signing identity (COSIGN_KEY, or the CI provider's OIDC token): $IMAGE has no SBOM attestation, and ci/release.sh will refuse it"
else
    attest_sbom "$IMAGE_NAME@$pushed" build/sbom.spdx.json
fi
