/**
 * The next release tag, from the existing ones. Pure; tools/release-tag.ts does the git work.
 */

export type Bump = "major" | "minor" | "patch";

export interface TagFormat {
    /** Text before the version, e.g. "v". */
    prefix: string;
    /** Text after the version, e.g. "-l9". */
    suffix: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The versions of the tags that follow the format, highest first. */
export function releaseVersions(tags: string[], f: TagFormat): Array<[number, number, number]> {
    const re = new RegExp(`^${escape(f.prefix)}(\\d+)\\.(\\d+)\\.(\\d+)${escape(f.suffix)}$`);
    return tags
        .map((t) => re.exec(t.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number])
        .sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
}

/** The tag after the highest existing one (all tags count, so a number is never reused). */
export function nextReleaseTag(tags: string[], bump: Bump, f: TagFormat): string {
    const [major, minor, patch] = releaseVersions(tags, f)[0] ?? [0, 0, 0];
    const next = bump === "major" ? [major + 1, 0, 0] : bump === "minor" ? [major, minor + 1, 0] : [major, minor, patch + 1];
    return `${f.prefix}${next.join(".")}${f.suffix}`;
}
