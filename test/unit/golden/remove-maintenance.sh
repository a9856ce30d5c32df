rm -f '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' '/var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'
