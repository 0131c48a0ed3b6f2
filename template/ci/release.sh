#!/bin/sh
# Releases a vX.Y.Z git tag: finds the image that CI built and tested for the tagged
# commit (IMAGE_NAME:sha-<commit>) and gives that same digest the release's image tags
# (X.Y.Z, and X.Y, X and latest where this release is the highest; see release_tags in
# ci/lib.sh). It never builds: the released digest is the tested one.
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
