import { CheckoutScriptArgs, renderTagChecksLines, renderTagOutputLines, renderTagVariablesLine } from "./checkout";
import { IMAGE_ID_MARKER, imageRef, releaseImageName } from "./image-build";
import { hostLayout } from "./layout";
import { lines, prologue, script, sh, ShellText } from "./shell";

/** A release that can return to a slot in seconds: its image is on the host, and the host's mirror has its tag at the image's commit. */
export interface KeptImage {
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

/**
 * Each image's `l9.tag` and `l9.commit` labels, id, build time and references (comma-separated);
 * docker prints `<no value>` for a missing label, which no check accepts.
 */
const KEPT_IMAGE_FORMAT = '{{index .Config.Labels "l9.tag"}} {{index .Config.Labels "l9.commit"}} {{.Id}} {{.Created}} {{range .RepoTags}}{{.}},{{end}}';

/**
 * Read-only: one `kept=<tag> <commit> <image id> <built at>` line per image of the service
 * (`<service>-api:<tag>`, labelled `l9.service=<service>`) whose `l9.tag` label is one of its
 * references' tag and whose `l9.commit` is where the host's mirror has that tag: a release that
 * can go into a slot from its image, with no checkout or build. Two docker calls whatever the
 * number of images (this runs in every update's host check). Never fails (a host without the
 * mirror or images prints nothing).
 */
export function renderKeptReleasesLines(a: { appDir: string; serviceName: string }): ShellText {
    const name = releaseImageName(a.serviceName);
    const mirrorTag = sh`git -C ${hostLayout(a.appDir).mirror} rev-parse -q --verify "refs/tags/$k_tag^{commit}" 2>/dev/null`;
    return lines(
        sh`docker image ls --filter ${`label=l9.service=${a.serviceName}`} --filter ${`reference=${name}`} --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |`,
        sh`  sort -u | xargs -r docker image inspect -f ${KEPT_IMAGE_FORMAT} 2>/dev/null |`,
        sh`  while read -r k_tag k_commit k_id k_built k_refs; do`,
        sh`    case ",$k_refs," in *${`,${name}:`}"$k_tag,"*) ;; *) continue ;; esac`,
        sh`    if [ "$(${mirrorTag})" = "$k_commit" ]; then echo ${KEPT_RELEASE_MARKER}"$k_tag $k_commit $k_id $k_built"; fi`,
        sh`  done || true`,
    );
}

/** The kept releases in `text` (lines of renderKeptReleasesLines, among others), newest build first. */
export function parseKeptReleases(text: string): KeptImage[] {
    const kept: KeptImage[] = [];
    for (const line of text.split("\n")) {
        if (!line.startsWith(KEPT_RELEASE_MARKER)) continue;
        const [tag, commit, imageId, builtAt] = line.slice(KEPT_RELEASE_MARKER.length).trim().split(" ");
        if (!tag || !/^[0-9a-f]{40}$/.test(commit ?? "") || !/^sha256:[0-9a-f]{64}$/.test(imageId ?? "") || !builtAt) continue;
        if (kept.some((k) => k.tag === tag)) continue;
        kept.push({ tag, commit, imageId, builtAt });
    }
    return kept.sort((x, y) => Date.parse(y.builtAt) - Date.parse(x.builtAt) || (x.tag < y.tag ? -1 : 1));
}

/**
 * A release returning from its image kept on the host, in one step: its tag is verified in the
 * host's mirror as it is, with no fetch (it was fetched and verified when it was built, and the
 * repository may be out of reach), and its image `<service>-api:<tag>` must be there, built from
 * the tag's commit. Prints the commit, the tag's .env.example and the image id (components/kept-release.ts
 * reads them with parseCheckoutOutput and parseImageBuildOutput); fails naming what is missing. Writes nothing.
 */
export function renderKeptReleaseScript(a: CheckoutScriptArgs & { serviceName: string }): string {
    const ref = imageRef(releaseImageName(a.serviceName), a.tag);
    const gone = `the image ${ref} is no longer on the host (pruned or removed since the plan): run pulumi up again; it then checks out and builds ${a.tag}`;
    return script(
        prologue(`kept release ${a.tag}`),
        renderTagVariablesLine(a),
        sh`[ -d "$mirror" ] || fail "releaseTag: the host has no mirror at $mirror to return $tag from (its image is kept, its tag is not)"`,
        sh`say "verifying $tag in the host's mirror (no fetch: its image is kept on the host)"`,
        renderTagChecksLines(a),
        sh`ref=${ref}`,
        sh`existing=$(docker image inspect -f '{{index .Config.Labels "l9.commit"}}' "$ref" 2>/dev/null) || fail ${gone}`,
        sh`[ "$existing" = "$commit" ] || fail "$ref was built from $existing, not from $commit, where the host's mirror has the tag"`,
        sh`say "$ref is kept on the host, built from $commit: no checkout, no build"`,
        renderTagOutputLines(),
        sh`printf ${`${IMAGE_ID_MARKER}%s\\n`} "$(docker image inspect -f '{{.Id}}' "$ref")"`,
    );
}
