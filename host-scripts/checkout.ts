import { hostLayout, worktreePath } from "./layout";
import { lines, prologue, script, sh, ShellText } from "./shell";

export interface CheckoutScriptArgs {
    /** The app directory on the host. */
    appDir: string;
    /** Where the app repository is cloned from (reachable from the host). */
    repoUrl: string;
    /** The release tag to check out. */
    tag: string;
    /** Branch the tag must be reachable from. */
    mainBranch: string;
    /** Require `git verify-tag` to pass (the host needs the signer's public key). */
    verifySignature: boolean;
}

/** The markers the checkout script prints on stdout; everything else goes to stderr. */
export const CHECKOUT_COMMIT_MARKER = "l9.commit=";
export const CHECKOUT_ENV_EXAMPLE_MARKER = "l9.envExample=";

/**
 * Mirrors the repository and verifies the tag: it exists, is annotated, is reachable from the
 * main branch, and (optionally) its signature verifies. Prints the commit and the tag's
 * .env.example (base64, read from git, no worktree yet) so the env can be validated before
 * anything of the release lands on the host. Only the mirror (a cache) is written.
 */
export function renderVerifyTagScript(a: CheckoutScriptArgs): string {
    return script(
        prologue(`releaseTag ${a.tag}`),
        renderTagVariablesLine(a),
        sh`mkdir -p "$(dirname "$mirror")"`,
        sh`if [ ! -d "$mirror" ]; then`,
        sh`  say "cloning $url"`,
        sh`  git clone --quiet --mirror "$url" "$mirror" >&2 || fail "repoUrl: cannot clone $url from the host"`,
        sh`else`,
        sh`  git -C "$mirror" remote set-url origin "$url"`,
        sh`  git -C "$mirror" fetch --quiet --prune --prune-tags origin >&2 || fail "repoUrl: cannot fetch $url from the host"`,
        sh`fi`,
        renderTagChecksLines(a),
        renderTagOutputLines(),
    );
}

/** `mirror`, `tag`, `main` and `url`, for renderTagChecksLines. */
export function renderTagVariablesLine(a: CheckoutScriptArgs): ShellText {
    return sh`mirror=${hostLayout(a.appDir).mirror}; tag=${a.tag}; main=${a.mainBranch}; url=${a.repoUrl}`;
}

/** The tag's checks in the mirror (it exists, is annotated, on main, signed if asked); sets `commit`. */
export function renderTagChecksLines(a: { verifySignature: boolean }): ShellText {
    const notOnMain = sh`"releaseTag: tag $tag ($commit) is not reachable from $main; release from $main only"`;
    const badSignature = sh`"releaseTag: the signature of tag $tag does not verify (import the signer's key on the host, or set verifyTagSignature false)"`;
    return lines(
        sh`type=$(git -C "$mirror" cat-file -t "refs/tags/$tag" 2>/dev/null || true)`,
        sh`[ -n "$type" ] || fail "releaseTag: tag $tag does not exist in $url (push it first: git push origin $tag)"`,
        sh`[ "$type" = tag ] || fail "releaseTag: tag $tag is a lightweight tag; release tags must be annotated (git tag -a $tag -m ...)"`,
        sh`commit=$(git -C "$mirror" rev-parse "refs/tags/$tag^{commit}")`,
        sh`git -C "$mirror" rev-parse -q --verify "refs/heads/$main" >/dev/null || fail "mainBranch: branch $main does not exist in $url"`,
        sh`git -C "$mirror" merge-base --is-ancestor "$commit" "refs/heads/$main" || fail ${notOnMain}`,
        a.verifySignature && sh`git -C "$mirror" verify-tag "$tag" >&2 || fail ${badSignature}`,
        sh`say "$tag is annotated, on $main, at $commit"`,
    );
}

/** Prints the verified commit and the tag's .env.example (parseCheckoutOutput). */
export function renderTagOutputLines(): ShellText {
    return lines(
        sh`printf ${`${CHECKOUT_COMMIT_MARKER}%s\\n`} "$commit"`,
        sh`printf ${`${CHECKOUT_ENV_EXAMPLE_MARKER}%s\\n`} "$(git -C "$mirror" show "$commit:.env.example" 2>/dev/null | base64 -w0)"`,
    );
}

/** Puts a clean worktree of the (verified) tag's commit at releases/<tag>. Prints the commit. */
export function renderWorktreeScript(a: { appDir: string; tag: string; commit: string }): string {
    const l = hostLayout(a.appDir);
    return script(
        prologue(`checkout ${a.tag}`),
        sh`mirror=${l.mirror}; wt=${worktreePath(a.appDir, a.tag)}; commit=${a.commit}`,
        sh`mkdir -p ${l.releases}`,
        sh`if [ -e "$wt/.git" ]; then`,
        sh`  git -C "$wt" checkout --quiet --force --detach "$commit" >&2`,
        sh`  git -C "$wt" clean --quiet -fdx >&2`,
        sh`else`,
        sh`  rm -rf "$wt"`,
        sh`  git -C "$mirror" worktree prune`,
        sh`  git -C "$mirror" worktree add --quiet --force --detach "$wt" "$commit" >&2`,
        sh`fi`,
        sh`[ "$(git -C "$wt" rev-parse HEAD)" = "$commit" ] || fail "worktree $wt is not at $commit after checkout"`,
        sh`say ${`${a.tag} checked out at`} "$wt"`,
        sh`echo "$commit"`,
    );
}

/** Removes a release's worktree when no slot uses its tag any more. */
export function renderRemoveCheckoutScript(appDir: string, tag: string): string {
    const l = hostLayout(appDir);
    return script(
        prologue(`remove checkout ${tag}`),
        sh`git -C ${l.mirror} worktree remove --force ${worktreePath(appDir, tag)} 2>/dev/null || rm -rf ${worktreePath(appDir, tag)}`,
        sh`git -C ${l.mirror} worktree prune 2>/dev/null || true`,
    );
}

/** Parses what the checkout script printed: the commit and the .env.example text. */
export function parseCheckoutOutput(stdout: string): { commit: string; envExample: string | undefined } {
    let commit = "";
    let envExample: string | undefined;
    for (const line of stdout.split("\n")) {
        if (line.startsWith(CHECKOUT_COMMIT_MARKER)) commit = line.slice(CHECKOUT_COMMIT_MARKER.length).trim();
        if (line.startsWith(CHECKOUT_ENV_EXAMPLE_MARKER)) {
            const b64 = line.slice(CHECKOUT_ENV_EXAMPLE_MARKER.length).trim();
            envExample = b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined;
        }
    }
    if (!/^[0-9a-f]{40}$/.test(commit)) {
        throw new Error(`checkout printed no commit (got: ${JSON.stringify(stdout.slice(0, 200))})`);
    }
    return { commit, envExample };
}

/** Read-only facts about a release worktree, for the probe: at the tag's commit, and clean. */
export function renderWorktreeCheckScript(appDir: string, tag: string): string {
    const status = sh`git -C "$wt" status --porcelain --untracked-files=no`;
    const modified = sh`echo "clean=no ($(${status} | wc -l) tracked files modified)"`;
    return script(
        sh`wt=${worktreePath(appDir, tag)}; mirror=${hostLayout(appDir).mirror}`,
        sh`want=$(git -C "$mirror" rev-parse -q --verify ${`refs/tags/${tag}^{commit}`} 2>/dev/null || echo none)`,
        sh`head=$(git -C "$wt" rev-parse HEAD 2>/dev/null || echo missing)`,
        sh`if [ "$head" = "$want" ]; then echo at_tag=yes; else echo "at_tag=no (HEAD $head)"; fi`,
        sh`if [ "$head" = missing ]; then echo clean=missing; elif [ -z "$(${status} 2>/dev/null)" ]; then echo clean=yes; else ${modified}; fi`,
    );
}
