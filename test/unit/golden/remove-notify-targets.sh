rm -f '/opt/l9/shared/notify-targets' '/opt/l9/bin/l9-notify'
