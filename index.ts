/**
 * l9-deploy: the production runtime of the L9 API on one VPS. Set `releaseTag`, run
 * `pulumi up`, and the host converges: checkout, image, blue/green slots, gate, switch.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as os from "os";
import { L9Runtime } from "./components/runtime";
import { renderEnvFileContent } from "./config/env-contract";
import { loadConfig } from "./config/load";
import { MessageOnlyError } from "./config/message-error";
import { readPreviousDeployment } from "./state/previous-state";
import { planRelease } from "./state/slot-machine";
import { prepareHostAccess, verifyHostAccess } from "./ssh/host-access";


export = async () => {
    const config = loadConfig();
    // Host output older than this is from an earlier update (the host clock may lag by the allowed skew).
    const startedAt = Date.now() - config.maxClockSkewSeconds * 1000;
    // The deploy key goes into the stack's SSH agent; resources only ever see its socket path.
    const target = { host: config.host, port: config.sshPort, user: config.sshUser };
    // The previous state is read while the host is checked, and the host's providers register
    // at once, so their plugins start meanwhile. No other resource registers before the check
    // passed: the release, which everything else waits for, is known only after it.
    const previousRead = readPreviousDeployment();
    previousRead.catch(() => undefined); // a failed check below is the error to report
    let access;
    try {
        access = prepareHostAccess({
            stackId: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
            ...target,
            hostKey: config.hostKey,
            privateKey: config.sshPrivateKey,
        });
    } catch (e) {
        throw hostAccessError(e);
    }
    const verified = verifyHostAccess(access, target, config.maxClockSkewSeconds).catch((e) => {
        throw hostAccessError(e);
    });
    const release = verified.then(() => previousRead).then((previous) => {
        // Release identity = tag + env: an env change is deployed like a release.
        const envFingerprint = crypto.createHash("sha256").update(renderEnvFileContent(config.env)).digest("hex").slice(0, 16);
        const plan = planRelease(previous.state, { tag: config.releaseTag, envFingerprint });
        const actor =
            plan.transition === "unchanged" && previous.deployedBy
                ? previous.deployedBy
                : config.deployedBy ?? `${os.userInfo().username}@${os.hostname()}`;
        pulumi.log.info(`release plan: ${plan.transition} (${config.releaseTag} → ${plan.target})`);
        return { plan, envFingerprint, actor };
    });
    const runtime = new L9Runtime("l9", { config, access, release, stackName: `${pulumi.getProject()}/${pulumi.getStack()}`, startedAt });
    // A failed check rejects the release: this is where the program reports it.
    const out = await runtime.outputs;
    const { plan, actor } = await release;

    return {
        releaseTag: config.releaseTag,
        transition: plan.transition,
        activeSlot: out.activeSlot,
        commit: out.commit,
        imageId: out.imageId,
        slots: out.slots,
        url: out.url,
        deployedAt: out.deployedAt,
        deployedBy: actor,
        maintenance: out.maintenance,
        // Read back by the next update (state/previous-state.ts); resolves only once the
        // switch succeeded, so a failed gate never records a switch that did not happen.
        deployState: pulumi.secret(out.deployedAt.apply(() => out.state)),
    };
};

function hostAccessError(e: unknown): MessageOnlyError {
    return new MessageOnlyError("HostAccessError", e instanceof Error ? e.message : String(e));
}
