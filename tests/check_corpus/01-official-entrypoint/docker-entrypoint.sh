#!/usr/bin/env bash
set -Eeo pipefail
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
	exec gosu postgres "$BASH_SOURCE" "$@"
fi
exec "$@"
