wt='/opt/l9/releases/v1.2.0-l9'; mirror='/opt/l9/repo.git'
want=$(git -C "$mirror" rev-parse -q --verify 'refs/tags/v1.2.0-l9^{commit}' 2>/dev/null || echo none)
head=$(git -C "$wt" rev-parse HEAD 2>/dev/null || echo missing)
if [ "$head" = "$want" ]; then echo at_tag=yes; else echo "at_tag=no (HEAD $head)"; fi
if [ "$head" = missing ]; then echo clean=missing; elif [ -z "$(git -C "$wt" status --porcelain --untracked-files=no 2>/dev/null)" ]; then echo clean=yes; else echo "clean=no ($(git -C "$wt" status --porcelain --untracked-files=no | wc -l) tracked files modified)"; fi
