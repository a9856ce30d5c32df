set -eu
fail() { printf 'drift-install failed: %s\n' "$*" >&2; exit 1; }
mkdir -p "$(dirname '/opt/l9/bin/drift-check')" "$(dirname '/opt/l9/logs/drift.log')" "$(dirname '/etc/cron.d/l9-drift')" || fail "cannot create the drift job's directories"
{ printf '%s' 'IyEvYmluL3NoCmVjaG8gY2hlY2sK' | base64 -d >'/opt/l9/bin/drift-check'.$$ && chmod 700 '/opt/l9/bin/drift-check'.$$ && mv -f '/opt/l9/bin/drift-check'.$$ '/opt/l9/bin/drift-check'; } || { rm -f '/opt/l9/bin/drift-check'.$$; fail 'cannot install /opt/l9/bin/drift-check'; }
{ printf '%s' 'MTcgKiAqICogKiByb290IC9vcHQvbDkvYmluL2RyaWZ0LWNoZWNrCg==' | base64 -d >'/etc/cron.d/l9-drift'.$$ && chmod 644 '/etc/cron.d/l9-drift'.$$ && mv -f '/etc/cron.d/l9-drift'.$$ '/etc/cron.d/l9-drift'; } || { rm -f '/etc/cron.d/l9-drift'.$$; fail 'cannot install /etc/cron.d/l9-drift'; }
'/opt/l9/bin/drift-check' >>'/opt/l9/logs/drift.log' 2>&1 && echo "drift check: clean" || echo 'drift check: drift (see /opt/l9/logs/drift.log)'
