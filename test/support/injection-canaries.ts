/**
 * Shell-injection canaries: for every setting that reaches a script on the host, values that
 * would create the file `canary` if any shell ran them. The unit tier runs every payload in
 * every field through the schema; e2e 05 runs each field through `pulumi up` once, the
 * payloads taking turns.
 */
export function injectionPayloads(canary: string): string[] {
    return [`$(touch ${canary})`, `\`touch ${canary}\``, `;touch ${canary}`, `\ntouch ${canary}`, `'$(touch ${canary})'`, `"$(touch ${canary})"`];
}

/** Each field, and the config that puts a payload into it (a valid value with the payload appended). */
export const INJECTION_FIELDS: Array<[string, (payload: string) => Record<string, string>]> = [
    ["releaseTag", (p) => ({ releaseTag: `v0.2.0-l9${p}` })],
    ["appDir", (p) => ({ appDir: `/srv/l9${p}` })],
    ["repoUrl", (p) => ({ repoUrl: `file:///var/lib/l9-sandbox/origin/l9-app.git${p}` })],
    ["mainBranch", (p) => ({ mainBranch: `main${p}` })],
    ["dockerfile", (p) => ({ dockerfile: `Dockerfile${p}` })],
    ["healthPath", (p) => ({ healthPath: `/health${p}` })],
    ["smokeRequests", (p) => ({ smokeRequests: JSON.stringify([{ method: "GET", path: `/api/smoke${p}`, expectStatus: 200 }]) })],
    ["serviceName", (p) => ({ serviceName: `l9${p}` })],
    ["caddyListen", (p) => ({ caddyListen: `127.0.0.1:18680${p}` })],
    ["caddyAdmin", (p) => ({ caddyAdmin: `127.0.0.1:2019${p}` })],
    ["caddyHosts", (p) => ({ caddyHosts: JSON.stringify([`api.example.com${p}`]) })],
    ["metricsDir", (p) => ({ metricsDir: `/var/lib/l9-sandbox/metrics${p}` })],
    ["driftSchedule", (p) => ({ driftSchedule: `17 * * * *${p}` })],
    ["sshUser", (p) => ({ sshUser: `root${p}` })],
    ["deployedBy", (p) => ({ deployedBy: `ops${p}` })],
];
