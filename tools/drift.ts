/**
 * `npm run drift [-- --stack NAME]`: `pulumi preview --refresh --expect-no-changes` with a
 * short summary of what drifted. Exit 0 when the host matches, 1 on drift, 2 when the
 * preview itself failed (host unreachable, bad config...).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { findDrift, formatDriftReport, PreviewJson } from "./drift-report";

function main(): number {
    const args = process.argv.slice(2);
    const i = args.findIndex((a) => a === "--stack" || a === "-s");
    const stack = i >= 0 ? args[i + 1] : process.env.PULUMI_STACK;
    const stackArgs = stack ? ["--stack", stack] : [];
    const root = path.resolve(__dirname, "..");
    const r = spawnSync("bash", [path.join(root, "scripts/pulumi.sh"), "preview", ...stackArgs, "--refresh", "--expect-no-changes", "--json"], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
    });
    let preview: PreviewJson;
    try {
        preview = JSON.parse(r.stdout) as PreviewJson;
    } catch {
        process.stderr.write(`drift: the preview failed before it could compare the host:\n${r.stderr || r.stdout}\n`);
        return 2;
    }
    const result = findDrift(preview);
    const name = stack ?? "(selected stack)";
    if (result.findings.length === 0 && result.consequences.length === 0 && r.status !== 0) {
        process.stderr.write(`drift: the preview failed:\n${r.stderr}\n`);
        return 2;
    }
    process.stdout.write(formatDriftReport(name, result));
    return result.findings.length > 0 ? 1 : 0;
}

process.exit(main());
