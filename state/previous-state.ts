import * as pulumi from "@pulumi/pulumi";
import { DeployState, parseDeployState } from "./slot-machine";

/** What the last successful update left in this stack's outputs. */
export interface PreviousDeployment {
    /**
     * One host's two-slot state: by name from a multi-host stack's output. A single-host
     * output is the first host's, so a stack that grows from `host` to `hosts` keeps it.
     */
    stateOf(name: string, first: boolean): DeployState | undefined;
    /** The last update deployed a single-host stack (its state is one DeployState). */
    singleHost: boolean;
    deployedBy: string | undefined;
}

/**
 * The deployState output, as the program writes it: a DeployState (one host), or
 * `{ hosts: { <name>: DeployState } }` (several). Rejects garbage.
 */
export function parseHostStates(value: unknown): { single?: DeployState; byName: Record<string, DeployState | undefined> } {
    if (value !== null && typeof value === "object" && "hosts" in value) {
        const hosts = (value as { hosts: unknown }).hosts;
        if (hosts === null || typeof hosts !== "object") throw new Error(`the stack's previous deployState output is malformed: ${JSON.stringify(value)}`);
        return { byName: Object.fromEntries(Object.entries(hosts).map(([name, s]) => [name, parseDeployState(s)])) };
    }
    return { single: parseDeployState(value), byName: {} };
}

/**
 * Reads this stack's own last outputs through a StackReference: the two-slot states and who
 * deployed. The state is a secret output (it holds env fingerprints).
 */
export async function readPreviousDeployment(): Promise<PreviousDeployment> {
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const state = await self.getOutputDetails("deployState");
    const by = await self.getOutputDetails("deployedBy");
    const states = parseHostStates(state.value ?? state.secretValue);
    return {
        stateOf: (name, first) => (name in states.byName ? states.byName[name] : first ? states.single : undefined),
        singleHost: states.single !== undefined,
        deployedBy: (by.value ?? by.secretValue) as string | undefined,
    };
}
