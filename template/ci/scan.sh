#!/bin/sh
# Scans the built image's SBOM for known vulnerabilities with grype: an opt-in step
# (VULN_SCAN=1) that fails the pipeline on findings at or above VULN_FAIL_ON, except
# those waived in .grype.yaml, each with its reason.
set -eu

usage() {
    cat <<'USAGE'
Usage: ci/scan.sh

Scans build/sbom.spdx.json (written by ci/build.sh) with grype when VULN_SCAN=1, and
does nothing otherwise. Exits 1 when grype finds a vulnerability at or above
VULN_FAIL_ON that .grype.yaml does not waive.

Environment:
  VULN_SCAN     1: scan (default: off)
  VULN_FAIL_ON  negligible, low, medium, high or critical (default: high)
  GRYPE_DB_*    grype's own settings (its vulnerability database is downloaded on use)
USAGE
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

if [ "${VULN_SCAN:-0}" != 1 ]; then
    ci_log "vulnerability scan: off (set VULN_SCAN=1 to turn it on)"
    exit 0
fi
fail_on=${VULN_FAIL_ON:-high}
case $fail_on in
    negligible | low | medium | high | critical) ;;
    *) ci_die "VULN_FAIL_ON is '$fail_on': use negligible, low, medium, high or critical" ;;
esac
[ -s build/sbom.spdx.json ] || ci_die "no build/sbom.spdx.json: run ci/build.sh (with syft) first"
command -v grype >/dev/null 2>&1 \
    || ci_die "grype is not on PATH: install it (README.md, 'Scanning for vulnerabilities')"
[ -f .grype.yaml ] || ci_die "no .grype.yaml: it holds the waivers (an empty 'ignore: []' waives nothing)"

ci_log "scanning build/sbom.spdx.json; failing on $fail_on or worse"
GRYPE_CHECK_FOR_APP_UPDATE=false grype "sbom:build/sbom.spdx.json" \
    --config .grype.yaml --fail-on "$fail_on"
