rm -f '/etc/cron.d/l9-drift' '/opt/l9/bin/drift-check'
