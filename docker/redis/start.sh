#!/bin/sh
# Redis for docker-compose.yml, never without a password. The password reaches redis-server on
# stdin (`-`), so it is not in the process list; it also goes into the bot's PILOT_REDIS_URL
# unescaped, hence URL-safe characters only.
set -eu
password="${PILOT_REDIS_PASSWORD:-}"
if [ "${#password}" -lt 16 ]; then
    echo "PILOT_REDIS_PASSWORD must be set, 16 characters or more" >&2
    exit 2
fi
case "$password" in
    *[!A-Za-z0-9_-]*)
        echo "PILOT_REDIS_PASSWORD: letters, digits, - and _ only (it goes into a URL)" >&2
        exit 2
        ;;
esac
exec redis-server - --appendonly yes --appendfsync everysec --dir /data --bind 0.0.0.0 <<EOF2
requirepass $password
EOF2
