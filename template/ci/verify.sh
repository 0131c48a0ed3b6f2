#!/bin/sh
# Verifies what a consumer of the image should know before running it: the digest's
# signature, its SBOM attestation and its provenance (which commit it was built from);
# and prints the release record, which says which version a release gave the digest.
set -eu

usage() {
    cat <<'USAGE'
Usage: ci/verify.sh IMAGE[:TAG|@DIGEST]

Checks, for the digest that IMAGE names in its registry:
  signature    cosign verify (the release signs the digest)
  SBOM         cosign verify-attestation --type spdxjson
  provenance   BuildKit's provenance in the image index names a commit, and the
               image's revision label is that commit
and prints the signed release records (version and tags). Exits 0 when the signature,
the SBOM and the provenance are all there and valid, 1 otherwise.

Environment (one way to verify):
  COSIGN_PUBLIC_KEY                     the public key (a file, env://VAR, a KMS URI)
  COSIGN_CERTIFICATE_IDENTITY_REGEXP, COSIGN_CERTIFICATE_OIDC_ISSUER
                                        keyless: who may have signed (README.md)
  COSIGN_TLOG=false                     signatures without a transparency log entry
  REGISTRY_TLS_VERIFY=false             the registry speaks plain HTTP
USAGE
}

case ${1:-} in
    -h | --help)
        usage
        exit 0
        ;;
    '' | -*)
        usage >&2
        exit 64
        ;;
esac
[ "$#" -eq 1 ] || {
    usage >&2
    exit 64
}

cd "$(dirname "$0")/.."
# shellcheck source=ci/lib.sh
. ci/lib.sh

ref=$1
digest=$(remote_digest "$ref") || exit 1
[ -n "$digest" ] || ci_die "$ref does not exist"
pinned="$(image_repository "$ref")@$digest"
echo "image: $pinned"
failed=0

if out=$(ci_cosign verify verify "$pinned" 2>&1 >/dev/null); then
    echo "signature: verified"
else
    echo "signature: FAILED ($(printf '%s' "$out" | tail -n 1))"
    failed=1
fi

if out=$(ci_cosign verify verify-attestation --type spdxjson "$pinned" 2>&1 >/dev/null); then
    echo "SBOM: verified (spdxjson attestation)"
else
    echo "SBOM: FAILED ($(printf '%s' "$out" | tail -n 1))"
    failed=1
fi

revision=$(provenance_revision "$pinned" 2>/dev/null) || revision=
label=$(remote_label "$pinned" org.opencontainers.image.revision 2>/dev/null) || label=
if [ -z "$revision" ]; then
    echo "provenance: FAILED (none in the image index)"
    failed=1
elif [ -n "$label" ] && [ "$label" != "$revision" ]; then
    echo "provenance: FAILED (names commit $revision, the revision label says $label)"
    failed=1
else
    echo "provenance: built from commit $revision"
fi

# The release records: each one's payload is an in-toto statement, base64 in the
# envelope, whose predicate names the version and the tags.
records=$(ci_cosign verify verify-attestation --type "$RELEASE_PREDICATE_TYPE" "$pinned" 2>/dev/null) || records=
releases=$(printf '%s\n' "$records" | sed -n 's/.*"payload":"\([^"]*\)".*/\1/p' | while read -r payload; do
    printf '%s' "$payload" | base64 -d 2>/dev/null |
        sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
done | sort -u | tr '\n' ' ')
if [ -n "$releases" ]; then
    echo "released as: $releases(signed release record)"
else
    echo "released as: none (no signed release record: not a release)"
fi

exit "$failed"
