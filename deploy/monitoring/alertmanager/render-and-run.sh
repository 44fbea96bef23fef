#!/bin/sh
# Entry point of the alertmanager container: renders alertmanager.yml.in and
# templates/*.tmpl.in from the environment, then execs Alertmanager on the result.
#
# Why: Alertmanager does not expand environment variables in its config, and the SMTP host,
# user, sender, recipients and the Grafana/runbook links differ per deployment (.env).
# The password is not rendered: Alertmanager reads it from SMTP_AUTH_PASSWORD_FILE itself.
# Plain POSIX sh + sed, because the prom/alertmanager image is busybox: no envsubst.
#
#   render-and-run.sh [alertmanager flags...]   render, then exec Alertmanager with
#                                               --config.file=<rendered> plus the flags
#   render-and-run.sh --render-only             render, print the rendered path, exit
#
# Environment (required unless a default is shown):
#   SMTP_SMARTHOST           host:port, e.g. smtp.example.com:587
#   SMTP_FROM                sender address
#   SMTP_AUTH_USERNAME       SMTP login
#   ALERT_EMAIL_TO           recipient(s), comma-separated
#   GRAFANA_URL              e.g. http://monitoring-host:3000
#   RUNBOOK_BASE_URL         prefix of the rules' relative runbook_url (docs/runbook.md#...),
#                            e.g. https://github.com/lookout/lookout/blob/main/
#   HEARTBEAT_URL            optional: where the dead man's switch (LookoutWatchdog) is sent,
#                            https:// (http:// only in a private lab, with a warning);
#                            empty: no heartbeat, the watchdog is dropped
#   SMTP_AUTH_PASSWORD_FILE  default /run/secrets/smtp_password (must be readable)
#   SMTP_REQUIRE_TLS         true|false, default true (STARTTLS)
#   LOOKOUT_AM_SOURCE_DIR    default: this script's folder
#   LOOKOUT_AM_RENDER_DIR    default /alertmanager/rendered-config (the data volume; the
#                            config folder is mounted read-only)
#   ALERTMANAGER_BIN         default /bin/alertmanager
set -eu

fail() {
  echo "render-and-run.sh: $*" >&2
  exit 64
}

src_dir=${LOOKOUT_AM_SOURCE_DIR:-$(dirname "$0")}
out_dir=${LOOKOUT_AM_RENDER_DIR:-/alertmanager/rendered-config}
am_bin=${ALERTMANAGER_BIN:-/bin/alertmanager}
SMTP_AUTH_PASSWORD_FILE=${SMTP_AUTH_PASSWORD_FILE:-/run/secrets/smtp_password}
SMTP_REQUIRE_TLS=${SMTP_REQUIRE_TLS:-true}

vars="SMTP_SMARTHOST SMTP_FROM SMTP_AUTH_USERNAME ALERT_EMAIL_TO GRAFANA_URL RUNBOOK_BASE_URL SMTP_AUTH_PASSWORD_FILE SMTP_REQUIRE_TLS"

# Values land inside double-quoted YAML strings and Go templates: refuse what would break
# out of them instead of escaping it.
for name in $vars; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is not set (see deploy/monitoring/.env.example)"
  case "$value" in
    *'"'* | *'\'* | *'{{'* | *'}}'* | *'${'*) fail "$name contains a character that is not allowed: \" \\ {{ }} \${" ;;
  esac
  if [ "$(printf '%s' "$value" | wc -l)" -ne 0 ]; then
    fail "$name must be a single line"
  fi
done

case "$SMTP_SMARTHOST" in
  *:*[!0-9]* | *: | :* | *[!:0-9]*:*:*) fail "SMTP_SMARTHOST must be host:port, got '$SMTP_SMARTHOST'" ;;
  *:*) ;;
  *) fail "SMTP_SMARTHOST must be host:port, got '$SMTP_SMARTHOST'" ;;
esac
case "$SMTP_REQUIRE_TLS" in
  true | false) ;;
  *) fail "SMTP_REQUIRE_TLS must be true or false, got '$SMTP_REQUIRE_TLS'" ;;
esac
for name in GRAFANA_URL RUNBOOK_BASE_URL; do
  eval "value=\$$name"
  case "$value" in
    http://?* | https://?*) ;;
    *) fail "$name must start with http:// or https://, got '$value'" ;;
  esac
done
# The heartbeat is optional. Its URL is often a secret in itself (a ping URL with a token),
# so messages name only its scheme and host.
HEARTBEAT_URL=${HEARTBEAT_URL:-}
heartbeat_off_script=""
if [ -n "$HEARTBEAT_URL" ]; then
  case "$HEARTBEAT_URL" in
    *'"'* | *'\'* | *'{{'* | *'}}'* | *'${'* | *' '*) fail "HEARTBEAT_URL contains a character that is not allowed: \" \\ {{ }} \${ or a space" ;;
  esac
  if [ "$(printf '%s' "$HEARTBEAT_URL" | wc -l)" -ne 0 ]; then
    fail "HEARTBEAT_URL must be a single line"
  fi
  heartbeat_host=${HEARTBEAT_URL#*://}
  heartbeat_host=${heartbeat_host%%/*}
  heartbeat_host=${heartbeat_host##*@}
  case "$HEARTBEAT_URL" in
    https://?*) ;;
    http://?*) echo "render-and-run.sh: warning: HEARTBEAT_URL is plain http ($heartbeat_host):" \
      "anyone on the way can read or fake the heartbeat; use https outside a private lab" >&2 ;;
    *) fail "HEARTBEAT_URL must start with https:// (http:// only in a private lab)" ;;
  esac
  echo "render-and-run.sh: heartbeat on: LookoutWatchdog goes to ${HEARTBEAT_URL%%://*}://$heartbeat_host" >&2
else
  # No URL: drop the webhook, keep the receiver. The watchdog still has its own route, so it
  # never reaches email, and Alertmanager sends it nowhere.
  heartbeat_off_script='/# heartbeat-webhook-begin/,/# heartbeat-webhook-end/d
'
  echo "render-and-run.sh: heartbeat off (HEARTBEAT_URL is empty)" >&2
fi

# Links are built as GRAFANA_URL/d/<uid> and RUNBOOK_BASE_URL<relative path>.
GRAFANA_URL=${GRAFANA_URL%/}
RUNBOOK_BASE_URL=${RUNBOOK_BASE_URL%/}/
[ -r "$SMTP_AUTH_PASSWORD_FILE" ] && [ -s "$SMTP_AUTH_PASSWORD_FILE" ] ||
  fail "SMTP password file $SMTP_AUTH_PASSWORD_FILE is missing, empty or not readable by uid $(id -u)"
# Alertmanager before 0.27 sends a trailing newline as part of the password (fixed upstream
# in #3680); the pinned image trims it, the Debian 0.25 of the native lab does not.
if [ "$(wc -l < "$SMTP_AUTH_PASSWORD_FILE")" -ne 0 ]; then
  echo "render-and-run.sh: warning: $SMTP_AUTH_PASSWORD_FILE contains a newline;" \
    "Alertmanager < 0.27 would send it as part of the password (write it with printf '%s')" >&2
fi

# sed replacement text: escape the delimiter and & (backslashes were refused above).
sed_script=$heartbeat_off_script
for name in $vars HEARTBEAT_URL; do
  eval "value=\$$name"
  escaped=$(printf '%s' "$value" | sed -e 's/[|&]/\\&/g')
  sed_script="${sed_script}s|[\$]{$name}|$escaped|g
"
done

render() { # render SOURCE TARGET
  sed -e "$sed_script" "$1" > "$2.tmp"
  if grep -n '[$]{[A-Z_]*}' "$2.tmp" >&2; then
    fail "$1 uses a placeholder this script does not know (lines above)"
  fi
  mv "$2.tmp" "$2"
}

mkdir -p "$out_dir/templates"
render "$src_dir/alertmanager.yml.in" "$out_dir/alertmanager.yml"
rm -f "$out_dir"/templates/*.tmpl
for tmpl in "$src_dir"/templates/*.tmpl.in; do
  [ -e "$tmpl" ] || continue
  base=$(basename "$tmpl" .in)
  render "$tmpl" "$out_dir/templates/$base"
done

if [ "${1:-}" = "--render-only" ]; then
  echo "$out_dir/alertmanager.yml"
  exit 0
fi
exec "$am_bin" --config.file="$out_dir/alertmanager.yml" "$@"
