import * as pulumi from "@pulumi/pulumi";
import { DeployState, parseDeployState } from "./slot-machine";

/** What the last successful update left in this stack's outputs. */
export interface PreviousDeployment {
    state: DeployState | undefined;
    deployedBy: string | undefined;
}

/**
 * Reads this stack's own last outputs through a StackReference: the two-slot state and who
 * deployed. The state is a secret output (it holds env fingerprints).
 */
export async function readPreviousDeployment(): Promise<PreviousDeployment> {
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const state = await self.getOutputDetails("deployState");
    const by = await self.getOutputDetails("deployedBy");
    return {
        state: parseDeployState(state.value ?? state.secretValue),
        deployedBy: (by.value ?? by.secretValue) as string | undefined,
    };
}
