rm -f '/etc/cron.d/l9-drift' '/opt/l9/bin/drift-check' '/var/lib/prometheus/node-exporter/l9_drift_l9.prom'
