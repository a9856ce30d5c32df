import { lines, sh, ShellText } from "./shell";

/**
 * `l9_prune_images FILTER KEEP` (part of the step library): removes the service's images (those
 * matching FILTER, `label=l9.service=<service>`) beyond the newest KEEP, except any a container
 * uses.
 */
export const PRUNE_IMAGES_FUNCTION = lines(
    sh`l9_prune_images() {`,
    sh`  in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)`,
    sh`  docker image ls --filter "$1" --format '{{.CreatedAt}}\\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +$(($2 + 1)) |`,
    sh`    while read -r img; do`,
    sh`      full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue`,
    sh`      case "$in_use" in *"$full"*) continue;; esac`,
    sh`      say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true`,
    sh`    done`,
    sh`}`,
);

/** Keeps the newest `keep` images of the service and anything a container uses (PRUNE_IMAGES_FUNCTION). */
export function renderPruneImagesLine(serviceName: string, keep: number): ShellText {
    return sh`l9_prune_images ${`label=l9.service=${serviceName}`} ${keep}`;
}
