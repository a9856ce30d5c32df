import * as pulumi from "@pulumi/pulumi";
import { execFile } from "child_process";
import { redactUrls } from "./backend-url";
import { runningCli } from "./running-cli";

/** One update in `pulumi stack history --json` (the fields l9-deploy reads). */
export interface HistoryEntry {
    /** update, refresh, destroy, ... */
    readonly kind: string;
    /** succeeded, failed, in-progress. */
    readonly result: string;
    /** ISO time the update started. */
    readonly startTime: string;
    /** The stack's config as that update ran with it; secret values are left out. */
    readonly config?: Readonly<Record<string, { readonly value?: string; readonly secret?: boolean }>>;
    /** The CLI's facts about where it ran: git.author, git.head, git.dirty, ci.system, ... */
    readonly environment?: Readonly<Record<string, string>>;
}

/** The stack's newest updates, newest first, and whether they are all of them. */
export interface StackHistory {
    readonly entries: HistoryEntry[];
    /** The history has no older update than these. */
    readonly complete: boolean;
}

/**
 * The stack's newest `pageSize` updates, as `pulumi stack history` lists them: one read of a
 * bounded size, whatever the history's length. Read-only: it takes no lock, so it runs beside
 * the update that holds the stack's lock.
 */
export function readStackHistory(pageSize = 100): Promise<StackHistory> {
    const stack = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const args = ["stack", "history", "--stack", stack, "--json", "--page-size", String(pageSize), "--page", "1", "--non-interactive"];
    return new Promise((resolve, reject) => {
        execFile(runningCli().exe, args, { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, env: process.env }, (error, stdout, stderr) => {
            // The CLI's error may quote the backend's URL: never its password.
            if (error) return reject(new Error(`pulumi stack history failed: ${redactUrls((stderr || error.message).trim().split("\n").slice(-3).join(" "))}`));
            try {
                const parsed: unknown = JSON.parse(stdout || "[]");
                if (!Array.isArray(parsed)) throw new Error("not a list");
                resolve({ entries: parsed as HistoryEntry[], complete: parsed.length < pageSize });
            } catch (e) {
                reject(new Error(`pulumi stack history printed no readable JSON: ${(e as Error).message}`));
            }
        });
    });
}
