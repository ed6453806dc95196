#!/bin/bash
# The image's health check, without curl: GET a path on this container's own port and succeed
# on a 200. `jangteo-healthcheck [PORT] [PATH]`; the port defaults to JANGTEO_LISTEN's (8080),
# the path to /healthz. `jangteo-healthcheck 8080 /readyz` also asks for the database;
# `jangteo-healthcheck 8090` checks `jangteo-bot http`.
set -euo pipefail
listen=${JANGTEO_LISTEN:-0.0.0.0:8080}
port=${1:-${listen##*:}}
path=${2:-/healthz}
# bash's /dev/tcp: a plain HTTP/1.0 request, the connection closes after the answer.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
IFS= read -r -t 3 status <&3 || status=
case $status in
"HTTP/1."?" 200 "*) exit 0 ;;
*)
    echo "GET $path on port $port: ${status:-no answer}" >&2
    exit 1
    ;;
esac
