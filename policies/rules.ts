import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/**
 * The guardrails of l9-deploy, as CrossGuard policies over the resources it really declares
 * (docker containers, remote commands). Kept apart from the pack (policies/index.ts) so tests
 * can import them: constructing a PolicyPack starts a gRPC server.
 *
 * Only rules that a configuration the schema accepts can break live here; invariants that
 * the program guarantees by construction (loopback binding, a pinned host key, secrets kept
 * secret) are tested on the resource graph and in the secrets e2e instead.
 */

export const CONTAINER_TYPE = "docker:index/container:Container";
export const COMMAND_TYPE = "command:remote:Command";

/** The release tag convention of the organisation (the program's tagPattern may be looser). */
const RELEASE_TAG = /^v\d+\.\d+\.\d+(?:-[A-Za-z0-9.-]+)?$/;

type Props = Record<string, any>;
const isContainer = (type: string) => type === CONTAINER_TYPE;
const label = (p: Props, name: string): string | undefined =>
    (p.labels as Array<{ label: string; value: string }> | undefined)?.find((l) => l.label === name)?.value;

export const containerRestartPolicy: ResourceValidationPolicy = {
    name: "container-restart-policy",
    description: "Slot containers restart on failure and on host reboot.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const restart = (args.props as Props).restart;
        if (!["unless-stopped", "always", "on-failure"].includes(restart)) {
            report(`${args.name} has restart policy "${restart ?? "(none)"}": use unless-stopped (pulumi config set restartPolicy unless-stopped).`);
        }
    },
};

export const containerReleaseImage: ResourceValidationPolicy = {
    name: "container-release-image",
    description: "Slot containers run the image id built from a semantic release tag (vX.Y.Z[-suffix]), never a moving name.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const p = args.props as Props;
        const tag = label(p, "l9.tag");
        if (typeof tag !== "string" || !RELEASE_TAG.test(tag)) {
            report(
                `${args.name} runs release "${tag ?? "(none)"}", which is not a semantic release tag like v1.2.3-l9 ` +
                    `(tagPattern may allow it; this organisation does not).`,
            );
        }
        if (typeof p.image === "string" && !p.image.startsWith("sha256:"))
            report(`${args.name} runs image "${p.image}" by name; it must run the image id built from its tag.`);
    },
};

export const warmStandbyKept: StackValidationPolicy = {
    name: "warm-standby-kept",
    description: "A warm standby slot is kept, so a rollback is a switch, not a restart or a rebuild.",
    enforcementLevel: "advisory",
    validateStack: (args, report) => {
        const slots = args.resources.filter((r) => r.type === CONTAINER_TYPE && /^(blue|green)-container$/.test(r.name));
        const running = slots.filter((r) => (r.props as Props).mustRun === true);
        if (slots.length === 2 && running.length < 2) {
            report(`only ${running.length} of 2 slots are kept running: a rollback will need a restart (standby=warm keeps one ready).`);
        }
    },
};

export const oldImagesPruned: ResourceValidationPolicy = {
    name: "old-images-pruned",
    description: "Old release images are pruned after a switch, keeping at most 10 (imagesToKeep).",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        const script = String((args.props as Props).stdin ?? "");
        if (args.type !== COMMAND_TYPE || !script.includes("Caddy now routes to")) return;
        // The switch prunes through the step library: `l9_prune_images <filter> <images to keep>`.
        const keep = /^l9_prune_images '[^']*' (\d+)$/m.exec(script);
        if (!keep) report(`${args.name} does not prune old images.`);
        else if (Number(keep[1]) > 10) report(`${args.name} keeps ${keep[1]} images: more than 10 fills disks (pulumi config set imagesToKeep 3).`);
    },
};

export const containerNetworkIsolated: ResourceValidationPolicy = {
    name: "container-network-isolated",
    description:
        "Slot containers run in their own network namespace (bridge): the app cannot reach the host's loopback services, Caddy's admin API among them.",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        if (!isContainer(args.type) || (args.props as Props).networkMode !== "host") return;
        report(
            `${args.name} shares the host's network: the app can reach Caddy's admin API on 127.0.0.1 and listen on any host port ` +
                `(pulumi config set networkMode bridge; a slot that receives no release keeps its mode until its next one).`,
        );
    },
};

export const resourcePolicies: ResourceValidationPolicy[] = [containerRestartPolicy, containerReleaseImage, oldImagesPruned, containerNetworkIsolated];

export const stackPolicies: StackValidationPolicy[] = [warmStandbyKept];
