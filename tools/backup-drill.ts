/**
 * `npm run backup:drill [-- --stack NAME] [--host NAME]`: the stack's restore drill, now, on
 * each host (or the one named): the newest backup restored into a scratch database,
 * `restoreDrill.check` run on it, the scratch database dropped, the metrics written, as the
 * scheduled drill does (host-scripts/restore-drill.ts); its lines are printed and appended to
 * the drill's log. Exit 0 when every drill passed, 1 when one failed (its lines say which
 * backup and why), 2 on bad arguments or configuration.
 */
import { restoreDrillScriptPath } from "../components/restore-drill";
import { hostLayout } from "../host-scripts/layout";
import { renderRunRestoreDrillScript } from "../host-scripts/restore-drill";
import { chosenHosts, hostLabel, runRunbook, RunbookError, runRunbookScript, stackConfig } from "./backup-runbook";

const TOOL = "backup:drill";
const USAGE = "usage: npm run backup:drill -- --stack NAME [--host NAME]";

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const { stack, config } = stackConfig(args, USAGE);
    if (config.restoreDrill === undefined) {
        throw new RunbookError(2, `stack ${stack} has no restoreDrill: pulumi config set restoreDrill '{"check":"SELECT 1"}' (needs backup), then pulumi up`);
    }
    const script = renderRunRestoreDrillScript(restoreDrillScriptPath(config.appDir), `${hostLayout(config.appDir).logDir}/backup-drill.log`);
    let failed = 0;
    for (const target of chosenHosts(config, args, USAGE)) {
        process.stdout.write(`${TOOL}: running the restore drill on ${hostLabel(target)}\n`);
        const lost = `the drill may still be running on the host: its lines are in ${hostLayout(config.appDir).logDir}/backup-drill.log`;
        const passed = await runRunbookScript(TOOL, stack, config, target, script, lost);
        process.stdout.write(`${TOOL}: the drill on ${hostLabel(target)} ${passed ? "passed" : "failed"}\n`);
        if (!passed) failed++;
    }
    return failed === 0 ? 0 : 1;
}

runRunbook(TOOL, main);
