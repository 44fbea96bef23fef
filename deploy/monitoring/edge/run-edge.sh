#!/bin/bash
# The edge's command (compose: ["bash", "/etc/nginx/edge/run-edge.sh"]). Picks the config for
# EDGE_SCHEME and runs nginx in the foreground as the container's main process; arguments
# replace the default `-g 'daemon off;'` (the tests pass their own pid path).
#
# With TLS, a watcher in the background reloads nginx when the certificate or key in
# /etc/nginx/tls changes, so a renewed certificate is served without a restart. A reload
# (SIGHUP) starts new workers with the new files and lets the old ones finish their requests;
# a pair nginx cannot load (say, a key that does not fit) is logged and the previous
# certificate stays in service. The watcher compares the files' contents every
# EDGE_TLS_WATCH_SECONDS (60): bind mounts of a folder show a file replaced by a rename too.
# Only bash, dirname, readlink, sleep and nginx: what the nginx image ships (images.yml).
set -euo pipefail

here=$(dirname "$(readlink -f "$0")")
tls_dir=/etc/nginx/tls
tls_files=("$tls_dir/fullchain.pem" "$tls_dir/privkey.pem")
(($#)) || set -- -g 'daemon off;'

case "${EDGE_SCHEME:-https}" in
  https)
    conf=$here/nginx.conf
    for file in "${tls_files[@]}"; do
      if [[ ! -r "$file" ]]; then
        echo "edge: $file is missing or unreadable: put the certificate (fullchain.pem) and its key (privkey.pem) into EDGE_TLS_DIR (lookout init --tls makes a private CA and both; docs/operations.md, TLS)" >&2
        exit 1
      fi
    done
    ;;
  http)
    conf=$here/nginx-plain-http.conf
    echo "edge: EDGE_SCHEME=http: plain HTTP on every door; passwords cross the network readable (private lab only)" >&2
    ;;
  *)
    echo "edge: EDGE_SCHEME must be https or http, not '${EDGE_SCHEME}'" >&2
    exit 64
    ;;
esac

# The files' contents, read by bash itself (the image may not have a checksum tool to spare).
fingerprint() {
  local file
  for file in "${tls_files[@]}"; do printf '%s\n' "$(<"$file")"; done 2>/dev/null
}

watch_certificate() {
  set +e   # a file missing for a moment during a renewal must not end the watcher
  local nginx_pid=$1 interval=${EDGE_TLS_WATCH_SECONDS:-60} seen now
  seen=$(fingerprint)
  while sleep "$interval"; do
    kill -0 "$nginx_pid" 2>/dev/null || exit 0     # nginx is gone: so is the watcher
    now=$(fingerprint)
    [[ "$now" == "$seen" ]] && continue
    sleep 2                                        # let a renewal finish writing both files
    seen=$(fingerprint)
    if problem=$(nginx -t -q -c "$conf" 2>&1); then
      echo "edge: certificate files changed: reloading nginx" >&2
      kill -HUP "$nginx_pid"
    else
      echo "edge: certificate files changed but nginx cannot use them; still serving the previous certificate: $problem" >&2
    fi
  done
}

# $$ stays this process's id after `exec`: it is nginx's master process the watcher signals.
if [[ "$conf" == "$here/nginx.conf" ]]; then
  watch_certificate $$ &
fi
exec nginx -c "$conf" "$@"
