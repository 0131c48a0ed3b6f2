#!/bin/sh
# Releases a vX.Y.Z git tag: finds the image that CI built and tested for the tagged
# commit (IMAGE_NAME:sha-<commit>) and gives that same digest the release's image tags
# (X.Y.Z, and X.Y, X and latest where this release is the highest; see release_tags in
# ci/lib.sh). It never builds: the released digest is the tested one.
#
# Before any tag moves, the digest must carry a verified SBOM attestation and BuildKit
# provenance naming the tagged commit; the release then signs the digest (which covers
# the provenance inside its index) and attaches a signed release record saying which
# version and tags it gave the digest. The image's own version label names the build
# (0.0.0-g<commit>); the record names the release. ci/verify.sh checks all of it.
#
# X.Y.Z is immutable: if it exists with the same digest the release is a no-op for it,
# with another digest it is an error. The moving tags are written after it.
#
# Concurrency: registries have no compare-and-swap for tags, so two release jobs running
# at once could interleave. The CI workflow runs release jobs one at a time; beyond
# that, X.Y.Z is checked again right before it is written and verified after, so a
# version is never silently overwritten. A moving tag written in the wrong order by a
# racing job is repaired by re-running the newer release.
set -eu

usage() {
    cat <<'EOF'
Usage: ci/release.sh

Run for a tag build (vX.Y.Z or vX.Y.Z-PRERELEASE) after CI pushed the commit's tested
image. Reads the existing release tags with `git tag --list 'v*'`, so the checkout needs
the tags (a full clone).

Environment:
  IMAGE_NAME                            the image repository
  REGISTRY_USERNAME, REGISTRY_PASSWORD  registry login (default: the existing login)
  REGISTRY_TLS_VERIFY=false             the registry speaks plain HTTP
  COSIGN_KEY, COSIGN_PASSWORD           the signing key (default: keyless, with the CI
                                        provider's OIDC identity)
  COSIGN_PUBLIC_KEY, COSIGN_CERTIFICATE_IDENTITY_REGEXP, COSIGN_CERTIFICATE_OIDC_ISSUER
                                        how to verify the SBOM attestation (default:
                                        the public half of COSIGN_KEY)
  COSIGN_TLOG=false                     no transparency log (key-based signing only)
  the CI provider's variables, or CI_TAG
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

ci_context
[ "$CI_KIND" = tag ] || ci_die "ci/release.sh runs only for a tag build (a vX.Y.Z git tag), not for a $CI_KIND build"
version=$(parse_release_tag "$CI_TAG")
ci_log "$(ci_describe): releasing $version"
tagged=$(git rev-parse --verify --quiet "refs/tags/$CI_TAG^{commit}") ||
    ci_die "git tag $CI_TAG is not in this checkout; fetch the tags (a full clone)"
[ "$tagged" = "$CI_COMMIT" ] || ci_die "HEAD is $CI_COMMIT, but $CI_TAG is $tagged"

registry_login

pointer="$IMAGE_NAME:sha-$CI_COMMIT"
digest=$(remote_digest "$pointer")
[ -n "$digest" ] ||
    ci_die "no tested image for commit $CI_COMMIT: $pointer does not exist. CI pushes it once the commit's build and tests pass; wait for that pipeline (or re-run it), then re-run this release."
source_ref="$IMAGE_NAME@$digest"

status=0
revision=$(remote_label "$source_ref" org.opencontainers.image.revision) || status=$?
if [ "$status" -eq 0 ]; then
    [ "$revision" = "$CI_COMMIT" ] ||
        ci_die "$pointer is labelled with revision '$revision', not $CI_COMMIT"
    ci_log "$pointer is $digest, labelled with revision $revision"
else
    ci_log "cannot read the labels of $source_ref; skipping the revision check"
fi

problems=$(supply_chain_problems "$source_ref" "$CI_COMMIT")
[ -z "$problems" ] ||
    ci_die "refusing to release $source_ref: $(printf '%s' "$problems" | tr '\n' ';' | sed 's/;/; /g'). ci/push.sh attaches the SBOM when it can sign, and a repeatable build carries provenance (README.md, Requirements)"
[ "$(signing_mode)" != none ] ||
    ci_die "cannot sign the release: set COSIGN_KEY (and COSIGN_PASSWORD), or run with the CI provider's OIDC identity"

# Word splitting is wanted: git tag names contain no whitespace. No globbing, though.
set -f
# shellcheck disable=SC2046
tags=$(release_tags "$version" $(git tag --list 'v*'))
set +f
ci_log "releasing $version ($digest) as: $(echo "$tags" | tr '\n' ' ')"

# check_version_tag: the immutable X.Y.Z tag; prints "absent", "same", or fails.
check_version_tag() {
    _existing=$(remote_digest "$IMAGE_NAME:$version")
    if [ -z "$_existing" ]; then
        echo absent
    elif [ "$_existing" = "$digest" ]; then
        echo same
    else
        ci_error "$IMAGE_NAME:$version already exists as $_existing, not $digest: a released version is never overwritten; release a new version instead"
        return 1
    fi
}

state=$(check_version_tag)

# Signed before any tag points at it: the digest (its index covers the provenance), and
# the release record.
ci_cosign sign sign "$source_ref" >&2 || ci_die "cannot sign $source_ref"
mkdir -p build
# shellcheck disable=SC2086 # one word per tag
tag_list=$(printf '%s\n' $tags | sed 's/.*/"&"/' | tr '\n' ',' | sed 's/,$//')
printf '{"version":"%s","tags":[%s],"git_tag":"%s","commit":"%s","image":"%s","digest":"%s"}\n' \
    "$version" "$tag_list" "$CI_TAG" "$CI_COMMIT" "$IMAGE_NAME" "$digest" >build/release.json
ci_cosign sign attest --type "$RELEASE_PREDICATE_TYPE" --predicate build/release.json "$source_ref" >&2 ||
    ci_die "cannot attach the release record to $source_ref"
ci_log "signed $source_ref and its release record ($version)"

for tag in $tags; do
    if [ "$tag" = "$version" ]; then
        if [ "$state" = same ]; then
            ci_log "$IMAGE_NAME:$version is already this release; leaving it"
            continue
        fi
        # Checked again right before writing: another job may have released it since.
        state=$(check_version_tag)
        if [ "$state" = same ]; then
            continue
        fi
    fi
    retag "$source_ref" "$IMAGE_NAME:$tag"
done

ci_log "released $IMAGE_NAME:$version ($digest)"
