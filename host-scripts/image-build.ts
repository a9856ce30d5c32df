import { worktreePath } from "./layout";
import { prologue, script, sh } from "./shell";

export interface ImageBuildScriptArgs {
    /** The app directory on the host. */
    appDir: string;
    /** Release tag: names the worktree and the image tag. */
    tag: string;
    /** Commit the tag points at, recorded as an image label. */
    commit: string;
    /** Image repository name, e.g. l9-api. */
    imageName: string;
    /** Service name, recorded as a label so pruning only touches this service's images. */
    serviceName: string;
    /** Dockerfile path relative to the repository root. */
    dockerfile: string;
}

export const IMAGE_ID_MARKER = "l9.imageId=";

/** The image repository of a service's releases: `<service>-api`. */
export function releaseImageName(serviceName: string): string {
    return `${serviceName}-api`;
}

/** The image reference of a release. */
export function imageRef(imageName: string, tag: string): string {
    return `${imageName}:${tag}`;
}

/**
 * Builds the release image on the host from its worktree, unless an image of that tag
 * built from the same commit is already there. Prints the image id.
 */
export function renderImageBuildScript(a: ImageBuildScriptArgs): string {
    const ref = imageRef(a.imageName, a.tag);
    return script(
        prologue(`image ${a.tag}`),
        sh`ref=${ref}; commit=${a.commit}; wt=${worktreePath(a.appDir, a.tag)}; dockerfile=${a.dockerfile}`,
        sh`existing=$(docker image inspect -f '{{index .Config.Labels "l9.commit"}}' "$ref" 2>/dev/null || true)`,
        sh`if [ "$existing" = "$commit" ]; then`,
        sh`  say "$ref already built from $commit"`,
        sh`else`,
        sh`  [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" = "$commit" ] || fail "worktree $wt is not at $commit"`,
        sh`  [ -f "$wt/$dockerfile" ] || fail ${`no ${a.dockerfile} in the repository at ${a.tag} (set dockerfile to its path)`}`,
        sh`  say "building $ref from $commit"`,
        sh`  docker build -f "$wt/$dockerfile" -t "$ref" --label ${`l9.service=${a.serviceName}`} \\`,
        sh`    --label ${`l9.tag=${a.tag}`} --label "l9.commit=$commit" "$wt" >&2 || fail "docker build of $ref failed (see the build output above)"`,
        sh`fi`,
        sh`printf ${`${IMAGE_ID_MARKER}%s\\n`} "$(docker image inspect -f '{{.Id}}' "$ref")"`,
    );
}

export function parseImageBuildOutput(stdout: string): string {
    const line = stdout.split("\n").find((l) => l.startsWith(IMAGE_ID_MARKER));
    const id = line?.slice(IMAGE_ID_MARKER.length).trim() ?? "";
    if (!/^sha256:[0-9a-f]{64}$/.test(id)) throw new Error(`image build printed no image id (got: ${JSON.stringify(stdout.slice(0, 200))})`);
    return id;
}
