/**
 * What `npm run env:import` prints once the env is stored: key names only, sorted by what
 * happened to them against the stack's env before. Pure.
 */
export function describeEnvChange(stack: string, where: string, env: Record<string, string>, previous: Record<string, string> | undefined): string {
    const keys = Object.keys(env).sort();
    const before = previous ?? {};
    const added = keys.filter((k) => !(k in before));
    const changed = keys.filter((k) => k in before && before[k] !== env[k]);
    const same = keys.filter((k) => k in before && before[k] === env[k]);
    const removed = Object.keys(before)
        .filter((k) => !(k in env))
        .sort();
    const list = (label: string, names: string[]) => (names.length > 0 ? [`  ${label}: ${names.join(", ")}`] : []);
    return [
        `env:import: stored ${keys.length} key${keys.length === 1 ? "" : "s"} from ${where} as the secret env of stack ${stack} (values not shown)`,
        ...list("new", added),
        ...list("changed", changed),
        ...list("unchanged", same),
        ...list("no longer set", removed),
        `env:import: the next pulumi up validates them against the release's .env.example and writes the host's env file`,
        "",
    ].join("\n");
}
