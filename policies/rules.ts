import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/**
 * The guardrails of l9-deploy, as CrossGuard policies over its resources (the dynamic
 * providers in providers/). Kept apart from the pack (policies/index.ts) so tests can import
 * them: constructing a PolicyPack starts a gRPC server.
 */

export const CONTAINER_TYPE = "pulumi-nodejs:dynamic/l9-docker:Container";
export const COMMAND_TYPE = "pulumi-nodejs:dynamic/l9-remote:Command";

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}$/;
const RELEASE_TAG = /^v\d+\.\d+\.\d+(?:-[A-Za-z0-9.-]+)?$/;

type Props = Record<string, any>;
const isContainer = (type: string) => type === CONTAINER_TYPE;

export const containerHealthcheck: ResourceValidationPolicy = {
    name: "container-healthcheck",
    description: "Slot containers have a health check (the gate waits for Docker health).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const h = (args.props as Props).healthcheck;
        if (!h || typeof h.command !== "string" || h.command.trim() === "" || !(h.retries >= 1)) {
            report(`${args.name} has no health check: set healthcheckCommand, or use an image with a HEALTHCHECK ("image").`);
        }
    },
};

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

export const containerNotPrivileged: ResourceValidationPolicy = {
    name: "container-not-privileged",
    description: "Slot containers are not privileged.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const p = args.props as Props;
        if (p.privileged === true || (Array.isArray(p.capAdd) && p.capAdd.includes("ALL"))) report(`${args.name} is privileged.`);
    },
};

export const containerLoopbackOnly: ResourceValidationPolicy = {
    name: "container-loopback-only",
    description: "Slot containers listen on 127.0.0.1 only: published ports bind loopback, host-network apps get HOST=127.0.0.1.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const p = args.props as Props;
        for (const port of (p.ports ?? []) as Array<{ ip?: string; external?: number }>) {
            if (port.ip !== undefined && port.ip !== "127.0.0.1") report(`${args.name} publishes port ${port.external} on ${port.ip}, not 127.0.0.1.`);
        }
        if (p.networkMode === "host" && p.env && typeof p.env === "object" && p.env.HOST !== undefined && p.env.HOST !== "127.0.0.1") {
            report(`${args.name} runs on the host network with HOST=${p.env.HOST}, not 127.0.0.1.`);
        }
    },
};

export const containerReleaseImage: ResourceValidationPolicy = {
    name: "container-release-image",
    description: "Slot containers run an image built from a release tag (never `latest`, never a moving tag).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isContainer(args.type)) return;
        const p = args.props as Props;
        const tag = p.labels?.["l9.tag"];
        if (typeof tag !== "string" || !RELEASE_TAG.test(tag)) report(`${args.name} runs release "${tag ?? "(none)"}", which is not a release tag like v1.2.3-l9.`);
        if (typeof p.image === "string" && !p.image.startsWith("sha256:")) report(`${args.name} runs image "${p.image}" by name; it must run the image id built from its tag.`);
    },
};

export const sshHostKeyPinned: ResourceValidationPolicy = {
    name: "ssh-host-key-pinned",
    description: "Every SSH connection pins the host's key.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const conn = (args.props as Props).connection;
        if (!conn) return;
        if (typeof conn.hostKey !== "string" || !HOST_KEY.test(conn.hostKey.trim())) {
            report(`${args.name} connects to ${conn.host ?? "?"} without a pinned host key (set hostKey).`);
        }
    },
};

export const secretsStaySecret: ResourceValidationPolicy = {
    name: "secrets-stay-secret",
    description: "SSH private keys, env values and script stdin are stored as secrets.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = args.props as Props;
        const secretOutputs = new Set(args.opts.additionalSecretOutputs ?? []);
        const need: string[] = [];
        if (p.connection?.privateKey !== undefined) need.push("connection");
        if (isContainer(args.type) && p.env !== undefined) need.push("env");
        if (p.stdin !== undefined) need.push("stdin");
        for (const key of need) {
            if (!secretOutputs.has(key)) report(`${args.name}.${key} holds a secret but is not stored as one.`);
        }
    },
};

export const warmStandbyKept: StackValidationPolicy = {
    name: "warm-standby-kept",
    description: "A warm standby slot is kept, so a rollback is a switch, not a rebuild.",
    enforcementLevel: "advisory",
    validateStack: (args, report) => {
        const slots = args.resources.filter((r) => r.type === CONTAINER_TYPE && /^(blue|green)-container$/.test(r.name));
        const running = slots.filter((r) => (r.props as Props).running === true);
        if (slots.length < 2 || running.length < 2) {
            report(`only ${running.length} of 2 slots are kept running: a rollback will need a restart or a rebuild (standby=warm keeps one ready).`);
        }
    },
};

export const oldImagesPruned: ResourceValidationPolicy = {
    name: "old-images-pruned",
    description: "Old release images are pruned after a switch (imagesToKeep).",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        if (args.type !== COMMAND_TYPE || !/^switch to /.test(String((args.props as Props).what ?? ""))) return;
        const create = String((args.props as Props).create ?? "");
        const keep = /tail -n \+(\d+)/.exec(create);
        if (!create.includes("docker image rm") || !keep) report(`${args.name} does not prune old images.`);
        else if (Number(keep[1]) - 1 > 10) report(`${args.name} keeps ${Number(keep[1]) - 1} images: more than 10 fills disks.`);
    },
};

export const resourcePolicies: ResourceValidationPolicy[] = [
    containerHealthcheck,
    containerRestartPolicy,
    containerNotPrivileged,
    containerLoopbackOnly,
    containerReleaseImage,
    sshHostKeyPinned,
    secretsStaySecret,
    oldImagesPruned,
];

export const stackPolicies: StackValidationPolicy[] = [warmStandbyKept];
