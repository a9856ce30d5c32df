rm -f '/opt/l9/shared/notify-targets'
