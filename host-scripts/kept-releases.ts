import { releaseImageName } from "./image-build";
import { hostLayout } from "./layout";
import { lines, sh, ShellText } from "./shell";

/** A release that can return to a slot in seconds: its image is on the host, and the host's mirror has its tag at the image's commit. */
export interface KeptRelease {
    /** The release tag (the image's `l9.tag` label and its reference's tag). */
    tag: string;
    /** The commit the image was built from (its `l9.commit` label), where the mirror's tag points. */
    commit: string;
    /** The image id, sha256:... */
    imageId: string;
    /** When the image was built (docker's Created, RFC 3339). */
    builtAt: string;
}

export const KEPT_RELEASE_MARKER = "kept=";

/** `{{index .Config.Labels "l9.tag"}}` and so on; docker prints `<no value>` for a missing label, which no check accepts. */
const KEPT_IMAGE_FORMAT = '{{index .Config.Labels "l9.tag"}} {{index .Config.Labels "l9.commit"}} {{.Id}} {{.Created}}';

/**
 * Read-only: one `kept=<tag> <commit> <image id> <built at>` line per image of the service
 * (`<service>-api:<tag>`, labelled `l9.service=<service>`) whose `l9.tag` label is its reference's
 * tag and whose `l9.commit` is where the host's mirror has that tag: a release that can go into a
 * slot from its image, with no checkout or build. Never fails (a host without the mirror or
 * images prints nothing).
 */
export function renderKeptReleasesLines(a: { appDir: string; serviceName: string }): ShellText {
    const name = releaseImageName(a.serviceName);
    const mirrorTag = sh`git -C ${hostLayout(a.appDir).mirror} rev-parse -q --verify "refs/tags/$k_tag^{commit}" 2>/dev/null`;
    return lines(
        sh`docker image ls --filter ${`label=l9.service=${a.serviceName}`} --filter ${`reference=${name}`} --format '{{.Tag}}' 2>/dev/null | sort -u |`,
        sh`  while read -r k_ref; do`,
        sh`    docker image inspect -f ${KEPT_IMAGE_FORMAT} ${`${name}:`}"$k_ref" 2>/dev/null | while read -r k_tag k_commit k_id k_built; do`,
        sh`      if [ "$k_tag" = "$k_ref" ] && [ "$(${mirrorTag})" = "$k_commit" ]; then echo ${KEPT_RELEASE_MARKER}"$k_tag $k_commit $k_id $k_built"; fi`,
        sh`    done`,
        sh`  done || true`,
    );
}

/** The kept releases in `text` (lines of renderKeptReleasesLines, among others), newest build first. */
export function parseKeptReleases(text: string): KeptRelease[] {
    const kept: KeptRelease[] = [];
    for (const line of text.split("\n")) {
        if (!line.startsWith(KEPT_RELEASE_MARKER)) continue;
        const [tag, commit, imageId, builtAt] = line.slice(KEPT_RELEASE_MARKER.length).trim().split(" ");
        if (!tag || !/^[0-9a-f]{40}$/.test(commit ?? "") || !/^sha256:[0-9a-f]{64}$/.test(imageId ?? "") || !builtAt) continue;
        if (kept.some((k) => k.tag === tag)) continue;
        kept.push({ tag, commit, imageId, builtAt });
    }
    return kept.sort((x, y) => Date.parse(y.builtAt) - Date.parse(x.builtAt) || (x.tag < y.tag ? -1 : 1));
}
