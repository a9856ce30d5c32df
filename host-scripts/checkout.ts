import { hostLayout, worktreePath } from "./layout";
import { lines, prologue, quote } from "./shell";

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
    const l = hostLayout(a.appDir);
    return lines(
        prologue(`releaseTag ${a.tag}`),
        `mirror=${quote(l.mirror)}; tag=${quote(a.tag)}; main=${quote(a.mainBranch)}; url=${quote(a.repoUrl)}`,
        `mkdir -p "$(dirname "$mirror")"`,
        `if [ ! -d "$mirror" ]; then`,
        `  say "cloning $url"`,
        `  git clone --quiet --mirror "$url" "$mirror" >&2 || fail "repoUrl: cannot clone $url from the host"`,
        `else`,
        `  git -C "$mirror" remote set-url origin "$url"`,
        `  git -C "$mirror" fetch --quiet --prune --prune-tags origin >&2 || fail "repoUrl: cannot fetch $url from the host"`,
        `fi`,
        `type=$(git -C "$mirror" cat-file -t "refs/tags/$tag" 2>/dev/null || true)`,
        `[ -n "$type" ] || fail "releaseTag: tag $tag does not exist in $url (push it first: git push origin $tag)"`,
        `[ "$type" = tag ] || fail "releaseTag: tag $tag is a lightweight tag; release tags must be annotated (git tag -a $tag -m ...)"`,
        `commit=$(git -C "$mirror" rev-parse "refs/tags/$tag^{commit}")`,
        `git -C "$mirror" rev-parse -q --verify "refs/heads/$main" >/dev/null || fail "mainBranch: branch $main does not exist in $url"`,
        `git -C "$mirror" merge-base --is-ancestor "$commit" "refs/heads/$main" || fail "releaseTag: tag $tag ($commit) is not reachable from $main; release from $main only"`,
        a.verifySignature &&
            `git -C "$mirror" verify-tag "$tag" >&2 || fail "releaseTag: the signature of tag $tag does not verify (import the signer's key on the host, or set verifyTagSignature false)"`,
        `say "$tag is annotated, on $main, at $commit"`,
        `printf '${CHECKOUT_COMMIT_MARKER}%s\n' "$commit"`,
        `printf '${CHECKOUT_ENV_EXAMPLE_MARKER}%s\n' "$(git -C "$mirror" show "$commit:.env.example" 2>/dev/null | base64 -w0)"`,
    );
}

/** Puts a clean worktree of the (verified) tag's commit at releases/<tag>. Prints the commit. */
export function renderWorktreeScript(a: { appDir: string; tag: string; commit: string }): string {
    const l = hostLayout(a.appDir);
    return lines(
        prologue(`checkout ${a.tag}`),
        `mirror=${quote(l.mirror)}; wt=${quote(worktreePath(a.appDir, a.tag))}; commit=${quote(a.commit)}`,
        `mkdir -p ${quote(l.releases)}`,
        `if [ -e "$wt/.git" ]; then`,
        `  git -C "$wt" checkout --quiet --force --detach "$commit" >&2`,
        `  git -C "$wt" clean --quiet -fdx >&2`,
        `else`,
        `  rm -rf "$wt"`,
        `  git -C "$mirror" worktree prune`,
        `  git -C "$mirror" worktree add --quiet --force --detach "$wt" "$commit" >&2`,
        `fi`,
        `[ "$(git -C "$wt" rev-parse HEAD)" = "$commit" ] || fail "worktree $wt is not at $commit after checkout"`,
        `say ${quote(`${a.tag} checked out at`)} "$wt"`,
        `echo "$commit"`,
    );
}

/** Removes a release's worktree when no slot uses its tag any more. */
export function renderRemoveCheckoutScript(appDir: string, tag: string): string {
    const l = hostLayout(appDir);
    return lines(
        prologue(`remove checkout ${tag}`),
        `git -C ${quote(l.mirror)} worktree remove --force ${quote(worktreePath(appDir, tag))} 2>/dev/null || rm -rf ${quote(worktreePath(appDir, tag))}`,
        `git -C ${quote(l.mirror)} worktree prune 2>/dev/null || true`,
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
    const wt = quote(worktreePath(appDir, tag));
    const mirror = quote(hostLayout(appDir).mirror);
    return lines(
        `want=$(git -C ${mirror} rev-parse -q --verify ${quote(`refs/tags/${tag}^{commit}`)} 2>/dev/null || echo none)`,
        `head=$(git -C ${wt} rev-parse HEAD 2>/dev/null || echo missing)`,
        `if [ "$head" = "$want" ]; then echo at_tag=yes; else echo "at_tag=no (HEAD $head)"; fi`,
        `if [ "$head" = missing ]; then echo clean=missing; elif [ -z "$(git -C ${wt} status --porcelain --untracked-files=no 2>/dev/null)" ]; then echo clean=yes; else echo "clean=no ($(git -C ${wt} status --porcelain --untracked-files=no | wc -l) tracked files modified)"; fi`,
    );
}
