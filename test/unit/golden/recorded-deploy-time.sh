sed -n 's/.*"time":"\([^"]*\)".*/\1/p' '/opt/l9/state/active.json'
