rm -f '/opt/l9/shared/.env' '/opt/l9/shared/.env.sha256'
