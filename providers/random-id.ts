import * as pulumi from "@pulumi/pulumi";

/** A random identifier, kept until one of its keepers changes (like random.RandomId). */
export interface RandomIdArgs {
    /** Any change of these values generates a new id. */
    keepers: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Number of random bytes (hex-encoded). */
    byteLength: number;
}

const randomIdProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: { keepers: Record<string, string>; byteLength: number }) {
        const crypto: typeof import("crypto") = require("crypto");
        const hex = crypto.randomBytes(inputs.byteLength).toString("hex");
        return { id: hex, outs: { ...inputs, hex } };
    },
    async diff(_id: string, olds: { keepers: Record<string, string>; byteLength: number }, news: { keepers: Record<string, string>; byteLength: number }) {
        const changed = JSON.stringify(olds.keepers) !== JSON.stringify(news.keepers) || olds.byteLength !== news.byteLength;
        return { changes: changed, replaces: changed ? ["keepers"] : [] };
    },
};

export class RandomId extends pulumi.dynamic.Resource {
    /** The id, hex-encoded. */
    declare readonly hex: pulumi.Output<string>;

    constructor(name: string, args: RandomIdArgs, opts?: pulumi.CustomResourceOptions) {
        super(randomIdProvider, name, { hex: undefined, ...args }, opts, "l9-random", "RandomId");
    }
}
