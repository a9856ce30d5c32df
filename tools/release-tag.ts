/**
 * `npm run release -- patch|minor|major [--repo DIR] [--branch main] [--prefix v] [--suffix -l9]`
 * Creates the next annotated release tag in the app repository, refusing on a dirty tree,
 * off the main branch, or when the branch is behind (or has no) upstream. Prints how to push
 * and deploy it. Changes nothing but the new local tag.
 */
import { execFileSync } from "child_process";
import { Bump, nextReleaseTag } from "./release-tag-plan";

function option(args: string[], name: string, fallback: string): string {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

function main(): number {
    const args = process.argv.slice(2);
    const bump = args[0] as Bump;
    if (!["major", "minor", "patch"].includes(bump)) {
        process.stderr.write("usage: npm run release -- patch|minor|major [--repo DIR] [--branch main] [--prefix v] [--suffix -l9]\n");
        return 2;
    }
    const repo = option(args, "--repo", process.env.INIT_CWD ?? process.cwd());
    const branch = option(args, "--branch", "main");
    const format = { prefix: option(args, "--prefix", "v"), suffix: option(args, "--suffix", "-l9") };
    const git = (...a: string[]) => execFileSync("git", ["-C", repo, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    const refuse = (why: string) => {
        process.stderr.write(`release: refused: ${why}\n`);
        return 1;
    };

    try {
        git("rev-parse", "--git-dir");
    } catch {
        return refuse(`${repo} is not a git repository (run it in the app repository, or pass --repo DIR)`);
    }
    if (git("status", "--porcelain") !== "") return refuse("the working tree has uncommitted changes: commit or stash them first");
    const current = git("rev-parse", "--abbrev-ref", "HEAD");
    if (current !== branch) return refuse(`on branch ${current}, not ${branch}: release tags are cut from ${branch} only`);
    let upstream: string;
    try {
        upstream = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}");
    } catch {
        return refuse(`${branch} has no upstream: set one (git branch -u origin/${branch}) so the release is what others see`);
    }
    try {
        git("fetch", "--quiet", "--tags", upstream.split("/")[0]);
    } catch (e) {
        return refuse(`cannot fetch ${upstream} to check it: ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
    }
    const behind = Number(git("rev-list", "--count", `HEAD..${upstream}`));
    if (behind > 0) return refuse(`${branch} is ${behind} commit(s) behind ${upstream}: pull first`);

    const tag = nextReleaseTag(git("tag", "--list").split("\n"), bump, format);
    git("tag", "-a", tag, "-m", `L9 release ${tag}`);
    const commit = git("rev-parse", `${tag}^{commit}`);
    process.stdout.write(
        [
            `created annotated tag ${tag} at ${commit.slice(0, 12)} (${branch})`,
            "next:",
            `  git -C ${repo} push origin ${tag}`,
            `  pulumi config set releaseTag ${tag} && pulumi up    # or: npm run pulumi -- config set releaseTag ${tag} --stack <stack>`,
            "",
        ].join("\n"),
    );
    return 0;
}

process.exit(main());
